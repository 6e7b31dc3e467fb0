"""Channels are found, not imported: adapters register under the `supporthub.channels`
entry-point group, and the configured ones are loaded by name."""

from __future__ import annotations

import logging

from core.channel import Channel, HubPort
from core.channel_plugins import channel_classes, missing_channels
from core.settings import Settings

log = logging.getLogger(__name__)


class UnknownChannelError(Exception):
    pass


def installed_channels() -> list[str]:
    """The names of every installed channel, on or not."""
    return sorted(channel_classes())


def channel_class(name: str) -> type[Channel]:
    """The class the entry point `name` names (not built)."""
    available = channel_classes()
    if name not in available:
        raise _unknown(name)
    factory: type[Channel] = available[name]
    return factory


def _unknown(name: str) -> UnknownChannelError:
    if name in missing_channels():
        return UnknownChannelError(f"channels: {name!r} cannot start: {missing_channels()[name]}")
    known = ", ".join(sorted(channel_classes())) or "none"
    return UnknownChannelError(f"channels: no channel named {name!r} is installed (installed: {known})")


def load_channels(settings: Settings, hub: HubPort) -> dict[str, Channel]:
    """The channels named in `channels`, each built as `Channel(settings, hub)`: `hub` is the
    hub's ports (`core.pipeline.hub_gate.HubGate` until the hub runs), which a channel keeps
    typed as the ports it uses. While `channels` is not set, also any installed channel whose
    class says its own settings switch it on (`configured(settings) -> bool`, e.g. Slack once a
    bot token is set); once it is set, it alone decides (a token left in the environment does
    not start a channel it leaves out: that is logged)."""
    available = channel_classes()
    channels: dict[str, Channel] = {}
    for name in settings.channels:
        if name not in available:
            raise _unknown(name)
        channels[name] = available[name](settings, hub)
    listed = "channels" in settings.model_fields_set
    for name, factory in available.items():
        if name not in channels:
            configured = getattr(factory, "configured", None)
            if configured is None or not configured(settings):
                continue
            if listed:
                log.info("%s: off: its settings are set, but the channels setting does not list it", name)
            else:
                channels[name] = factory(settings, hub)
    return channels
