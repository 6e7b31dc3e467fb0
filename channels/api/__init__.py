"""The REST API, a channel in its own package: the channel (`channel`: `POST /api/messages`
and the conversation reads), its settings section `[api]` (`settings`), and whether the hub is
reachable from beyond this machine (`exposure`). It is found through its `supporthub.channels`
entry point and speaks to the hub only through `core.channel`'s ports."""

from channels.api.channel import ApiChannel

__all__ = ["ApiChannel"]
