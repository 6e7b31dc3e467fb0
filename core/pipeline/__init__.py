"""One message's way through the hub: received and stored once, answered in conversation order
by the turn runner, delivered through the outbox; rate limits and the wake-up between
processes."""
