"""One sandbox: every installed channel's pane (its platform's stand-in, `core.sandbox.pane`)
running, the hub's settings pointed at them, and what a person does on the sandbox page turned
into what the platform would send the hub, with what the hub sent back in the order it happened."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from core.sandbox.pane import Pane, installed_panes
from core.settings import Section, Settings

ALWAYS_ON = ["web", "api"]
"""Channels the sandbox runs that need no stand-in: the widget and the REST API answer as usual."""


@dataclass
class Sandbox:
    """The panes by their channel's name, started with `start` on the running loop."""

    panes: dict[str, Pane] = field(default_factory=installed_panes)
    _log: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    _seen: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._log = {pane.name: [] for pane in self.panes.values()}

    @property
    def channels(self) -> list[str]:
        """Every channel the sandbox turns on."""
        return [*ALWAYS_ON, *self.panes]

    @property
    def pane_names(self) -> list[str]:
        return [pane.name for pane in self.panes.values()]

    def pane(self, name: str) -> Pane | None:
        return next((pane for pane in self.panes.values() if pane.name == name), None)

    async def start(self) -> None:
        for pane in self.panes.values():
            await pane.start()

    async def stop(self) -> None:
        for pane in self.panes.values():
            await pane.stop()

    def sections(self, *, hub_url: str, operator: Settings) -> dict[str, Section]:
        """Each channel's section pointed at its stand-in; `hub_url` is where the hub listens."""
        return {channel: pane.section(hub_url=hub_url, operator=operator) for channel, pane in self.panes.items()}

    async def says(self, pane: Pane, text: str, fields: Mapping[str, str]) -> None:
        """What the person wrote in `pane`, shown in it, then sent as its platform would (and not
        shown after all when the pane or the hub refused it)."""
        self.transcript()  # what the platform took before this goes first
        said = {"who": "person", "text": text, **fields}
        self._log[pane.name].append(said)
        try:
            await pane.says(text, fields)
        except BaseException:
            self._log[pane.name].remove(said)
            raise

    def transcript(self) -> dict[str, list[dict[str, Any]]]:
        """Each pane's messages in the order they happened: what the person wrote, and what the
        hub sent through the platform as the platform received it. Records the platforms took
        since the last call are added now, after everything already shown."""
        for pane in self.panes.values():
            sent = pane.sent()
            for shown in sent[self._seen.get(pane.name, 0) :]:
                self._log[pane.name].append({"who": "hub", **shown})
            self._seen[pane.name] = len(sent)
        return {name: list(messages) for name, messages in self._log.items()}

    def layout(self) -> list[dict[str, Any]]:
        """The panes as the page draws them: name, title, who the person is, the form's fields."""
        return [
            {
                "name": pane.name,
                "title": pane.title,
                "role": pane.role,
                "fields": [
                    {"name": f.name, "placeholder": f.placeholder, "kind": f.kind, "default": f.default}
                    for f in pane.fields
                ],
            }
            for pane in self.panes.values()
        ]
