"""The CLI's own channel for `supporthub ask` and `supporthub chat`: the terminal pulls each
answer, so nothing is pushed and no outbox row is written."""

from __future__ import annotations

from aiohttp import web

from core.channel import TERMINAL_CHANNEL, Capabilities
from core.messages import Address, StoredMessage


class TerminalChannel:
    name = TERMINAL_CHANNEL
    capabilities = Capabilities(max_text_length=100_000, push=False)

    def routes(self) -> list[web.AbstractRouteDef]:
        return []

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        return None

    async def send(self, address: Address, message: StoredMessage) -> str | None:
        """Never called: `push=False`, the terminal reads the stored answer itself."""
        return None
