"""Who can reach what a channel serves, decided before `serve` listens.

A channel whose class declares `exposure(settings, host) -> str` says it in one start-up line,
or refuses to be reachable by accident with a SettingsError (the REST API without a token on
a non-loopback address: `channels.api.exposure`).
"""

from __future__ import annotations

import ipaddress

from core.registry import channel_class, installed_channels
from core.settings import Settings


def is_loopback(host: str) -> bool:
    """Whether only this machine can reach `host` (a name other than localhost, or "" for every
    interface, may be reachable from anywhere)."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def exposure_lines(settings: Settings, host: str) -> list[str]:
    """The start-up lines of the installed channels that say who can reach them."""
    lines = []
    for name in installed_channels():
        exposure = getattr(channel_class(name), "exposure", None)
        if exposure is not None:
            lines.append(exposure(settings, host))
    return lines
