"""A channel whose replies are read, never pushed: the CLI's own for `supporthub ask` and
`supporthub chat` (the terminal pulls each answer), and the channels a rehearsal's turns arrive
on (`core.rehearsals.runner`). No outbox row is written for it."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web

from core.channel import TERMINAL_CHANNEL, Capabilities, Receipt
from core.messages import Address, InboundMessage, StoredMessage

if TYPE_CHECKING:
    from core.pipeline.hub import Hub

PULL_TIMEOUT_S = 120.0
"""The longest a reader waits for the hub's answer to one message."""


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


async def pulled_reply(hub: Hub, message: InboundMessage) -> tuple[Receipt, StoredMessage | None]:
    """`message` received, and the hub's reply read from the conversation: None when a person
    has the conversation and the bot stays silent. TimeoutError when neither came within
    `PULL_TIMEOUT_S`."""
    receipt = await hub.receive(message)
    reply = await hub.wait_for_reply(receipt.message_id, timeout=PULL_TIMEOUT_S)
    if reply is None and not await hub.answered(receipt.message_id):
        raise TimeoutError(f"no answer within {PULL_TIMEOUT_S:g} s")
    return receipt, reply
