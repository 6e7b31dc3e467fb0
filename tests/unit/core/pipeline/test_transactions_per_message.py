"""What one customer message and its one-part reply cost the database: at most five
transactions (store it, read the turn, write the turn, claim the reply, mark it sent and look
for the next), on SQLite and PostgreSQL, for a channel that sends a reply whole and for one
that splits long replies (whose delivered parts come with the claimed delivery). Before the
delivery machine was made one, this was 8 (claim in five statements, the channel asking the
hub for its delivered parts and recording the one part, a last claim to find nothing)."""

from __future__ import annotations

import asyncio
from functools import partial
from typing import TypeVar

import pytest

from core.channel import SentParts
from core.messages import Address, InboundMessage, StoredMessage
from core.pipeline.storage import Storage
from core.settings import Settings
from core.store.transactions import Transactions, Work
from tests.fakes.flaky_channel import FlakyChannel
from tests.unit.core.pipeline.test_hub import ScriptedAgent, delivered, hub_for

pytestmark = pytest.mark.postgres

T = TypeVar("T")


class CountedTransactions:
    """The hub's real transactions, each one's work named as it completes."""

    def __init__(self, inner: Transactions) -> None:
        self._inner = inner
        self.done: list[str] = []
        self.changed = asyncio.Event()

    async def run(self, work: Work[T]) -> T:
        result = await self._inner.run(work)
        self.done.append(work.func.__name__ if isinstance(work, partial) else getattr(work, "__name__", "?"))
        self.changed.set()
        return result

    async def close(self) -> None:
        return None

    async def until(self, name: str) -> None:
        async with asyncio.timeout(30):
            while name not in self.done:
                self.changed.clear()
                await self.changed.wait()


class SplittingChannel(FlakyChannel):
    """A channel that sends a long reply in parts, like Telegram: a one-part reply is one part."""

    async def send_split(self, address: Address, message: StoredMessage, parts: SentParts) -> str | None:
        external_id = await self.send(address, message)
        await parts.record(0, external_id or "", last=True)
        return external_id


@pytest.mark.parametrize("kind", [FlakyChannel, SplittingChannel], ids=["whole", "split"])
async def test_a_message_and_its_one_part_reply_take_at_most_five_transactions(
    transactions: Transactions, kind: type[FlakyChannel]
) -> None:
    channel = kind()
    counted = CountedTransactions(transactions)
    hub = hub_for(Storage.on(counted), ScriptedAgent(), channel, Settings())
    await hub.receive(InboundMessage(Address("flaky", "erin"), "q1", "erin", "How do I export my data?"))
    await delivered(channel, 1)
    await counted.until("_mark_sent_and_claim_next")  # the reply is recorded as delivered
    await hub.stop()
    assert counted.done == ["_insert", "_load", "_finish", "_claim_next", "_mark_sent_and_claim_next"]
