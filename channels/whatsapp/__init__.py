"""WhatsApp, a channel plug-in in its own package: the channel (`channel`), its two routes to
the platform (`cloud`: Meta's Cloud API; `twilio_route`: a Twilio WhatsApp sender) behind one
seam (`route`), its settings section `[whatsapp]` (`settings`), the 24-hour rule (`window`), how
a reply looks there (`format`), and its sentences' translations (`locales/`). It is found
through its `supporthub.channels` entry point and speaks to the hub only through `core.channel`'s
ports."""

from channels.whatsapp.channel import WhatsAppChannel

__all__ = ["WhatsAppChannel"]
