"""What a channel brings to the sandbox page: a pane, where a person writes as the platform's
customer (or as staff, for a staff desk) and sees what the hub sent through the platform, as the
platform received it.

A channel names its pane on its class, `sandbox_pane = "package.module:PaneClass"` (a name, not
an import: loading a channel never loads its stand-in). The sandbox finds every installed
channel's pane through the `supporthub.channels` entry points, a plug-in channel's included, and
gives each its own column on the page and its own `POST /sandbox/api/<pane>`.
"""

from __future__ import annotations

import pkgutil
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from core.channel_plugins import channel_classes
from core.settings import Section, Settings


class PaneInputError(ValueError):
    """What the person wrote cannot be sent as the platform would send it; the reason is shown."""


@dataclass(frozen=True, slots=True)
class PaneField:
    """A field of a pane's form besides the message's text."""

    name: str
    placeholder: str
    kind: Literal["line", "choice"] = "line"
    """`line`: one line of text; `choice`: one of the hub's messages in the pane that carry a
    `choice` (`{"value", "label"}`), such as the case cards staff answer under."""
    default: str = ""


class Pane(Protocol):
    """One channel's stand-in as the sandbox page shows it."""

    name: str
    """The pane's id on the page and in its API (a staff desk's is `staff`)."""
    title: str
    role: str
    """Who the person is in this pane ("you text the support number")."""
    for_staff: bool
    """The person answers as staff here (a staff desk's pane comes after the customers')."""
    fields: tuple[PaneField, ...]

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    def section(self, *, hub_url: str, operator: Settings) -> Section:
        """The channel's settings section pointed at the stand-in; `hub_url` is where the hub
        listens, `operator` the settings the sandbox was started with (the operator's own
        addresses, which a pane shows where the platform would)."""
        ...

    async def says(self, text: str, fields: Mapping[str, str]) -> None:
        """Send what the person wrote to the hub, the way the platform would (raises
        PaneInputError for what the platform would not send)."""
        ...

    def sent(self) -> list[dict[str, Any]]:
        """What the hub sent through the platform, oldest first, as the page shows it: `text`,
        and optionally `html` (allow-listed tags), `meta` (a line above it), `kind` (`card`,
        `reply`) and `choice`."""
        ...


def installed_panes() -> dict[str, Pane]:
    """Each installed channel that brings a pane, by its channel name (the settings section the
    pane fills), the pane built and not started."""
    panes: dict[str, Pane] = {}
    for name, channel in channel_classes().items():
        ref = getattr(channel, "sandbox_pane", None)
        if isinstance(ref, str):
            panes[name] = pkgutil.resolve_name(ref)()
    return dict(sorted(panes.items(), key=lambda item: item[1].for_staff))
