"""SMS, a channel in its own package: the channel (`channel`, through Twilio; what it shares with
WhatsApp's Twilio route is in `channels.twilio`), how a reply fits in segments (`format`), and its
settings section `[sms]` (`settings`). It is found through its `supporthub.channels` entry point
and speaks to the hub only through `core.channel`'s ports."""

from channels.sms.channel import SmsChannel

__all__ = ["SmsChannel"]
