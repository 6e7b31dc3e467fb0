"""Facebook Messenger and Instagram messaging, two channel plug-ins in one package, both on Meta's
Messenger Platform: the channels (`channel`), their settings sections `[messenger]` and
`[instagram]` (`settings`), reading their webhooks (`webhook`), how a reply looks there
(`format`), a fake of the platform for tests and the sandbox (`stand_in`, `sandbox`), and their
sentences' translations (`locales/`). What they share with WhatsApp's Cloud API (the webhook's
handshake and signature, Graph API calls, the messaging window) is in `channels.common`. Each is
found through its own `supporthub.channels` entry point and speaks to the hub only through
`core.channel`'s ports."""

from channels.messenger.channel import InstagramChannel, MessengerChannel

__all__ = ["InstagramChannel", "MessengerChannel"]
