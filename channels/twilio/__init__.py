"""What the channels that go through Twilio share (SMS and WhatsApp's Twilio route, `common`):
reading and checking Twilio's signed webhooks, its delivery statuses, its client and its media."""
