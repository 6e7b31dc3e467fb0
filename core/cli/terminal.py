"""A channel whose replies are read, never pushed: the CLI's own for `supporthub ask` and
`supporthub chat` (the terminal pulls each answer), and the channels a rehearsal's turns arrive
on (`core.rehearsals.runner`). No outbox row is written for it."""

from __future__ import annotations

from aiohttp import web

from core.channel import TERMINAL_CHANNEL, Capabilities
from core.messages import Address, StoredMessage


class PulledChannel:
    capabilities = Capabilities(max_text_length=100_000, push=False)

    def __init__(self, name: str = TERMINAL_CHANNEL) -> None:
        self.name = name

    def routes(self) -> list[web.AbstractRouteDef]:
        return []

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        return None

    async def send(self, address: Address, message: StoredMessage) -> str | None:
        """Never called: `push=False`, the reader takes the stored answer itself."""
        return None
