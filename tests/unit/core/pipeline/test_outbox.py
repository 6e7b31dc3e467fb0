"""The durable outbox on both backends: order, retries with backoff, dead letters, once."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.channel import DeliveryHeld
from core.messages import Address, InboundMessage, Reply
from core.pipeline.outbox import Outbox, backoff_seconds
from core.pipeline.storage import Storage
from core.pipeline.turn_transactions import TurnResult
from core.settings import OutboxSettings
from core.store.db import Conversation, Message, OutboxItem, utcnow
from tests.fakes.flaky_channel import FlakyChannel

LEASE = timedelta(seconds=60)


async def queue_replies(storage: Storage, texts: list[str], *, chat: str = "c1", first: int = 0) -> str:
    """Store one question per text (the `first`-th question of the chat on), answer each with
    that text, return the conversation id."""
    conversation_id = ""
    for i, text in enumerate(texts):
        receipt = await storage.inbox.save(
            InboundMessage(address=Address("flaky", chat), external_id=f"{chat}-{first + i}", sender_id=chat, text="q"),
            lease=timedelta(seconds=-1),
        )
        conversation_id = receipt.conversation_id
        for pending in await storage.inbox.claim(conversation_id, lease=LEASE):
            await storage.turns.finish(pending, TurnResult(signals=None, reply=Reply(text)), push=True)
    return conversation_id


async def make_due(sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    async with sessionmaker() as session:
        await session.execute(update(OutboxItem).values(next_attempt_at=utcnow()))
        await session.commit()


async def statuses(sessionmaker: async_sessionmaker[AsyncSession]) -> list[tuple[str, int]]:
    async with sessionmaker() as session:
        rows = await session.execute(select(OutboxItem.status, OutboxItem.attempts).order_by(OutboxItem.id))
        return [tuple(r) for r in rows]  # type: ignore[misc]


async def test_replies_go_out_in_order_once(storage: Storage, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    channel = FlakyChannel()
    conversation_id = await queue_replies(storage, ["one", "two", "three"])
    outbox = Outbox(storage.outbox, {"flaky": channel}, OutboxSettings())
    await outbox.deliver_conversation(conversation_id)
    await outbox.deliver_conversation(conversation_id)
    assert [m.text for _, m in channel.delivered] == ["one", "two", "three"]
    assert await statuses(sessionmaker) == [("sent", 0)] * 3


async def test_a_failed_send_is_retried_later_and_blocks_later_replies(
    storage: Storage, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    channel = FlakyChannel()
    conversation_id = await queue_replies(storage, ["first", "second"])
    channel.failures_left, channel.retry_after = 1, 30.0
    outbox = Outbox(storage.outbox, {"flaky": channel}, OutboxSettings())
    before = utcnow()
    await outbox.deliver_conversation(conversation_id)
    assert channel.delivered == []  # "second" did not overtake "first"
    async with sessionmaker() as session:
        head = (await session.execute(select(OutboxItem).order_by(OutboxItem.id))).scalars().first()
    assert head is not None and head.attempts == 1 and "429" in (head.last_error or "")
    assert head.next_attempt_at >= before + timedelta(seconds=29)  # Retry-After honoured
    await outbox.deliver_conversation(conversation_id)  # not due yet: nothing happens
    assert channel.attempts == 1
    await make_due(sessionmaker)
    await outbox.deliver_conversation(conversation_id)
    assert [m.text for _, m in channel.delivered] == ["first", "second"]


async def test_after_max_attempts_a_reply_is_dead_lettered_and_the_queue_moves_on(
    storage: Storage, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    channel = FlakyChannel()
    conversation_id = await queue_replies(storage, ["doomed", "next"])
    channel.failures_left = 2
    outbox = Outbox(storage.outbox, {"flaky": channel}, OutboxSettings(max_attempts=2))
    await outbox.deliver_conversation(conversation_id)
    await make_due(sessionmaker)
    await outbox.deliver_conversation(conversation_id)
    assert [m.text for _, m in channel.delivered] == ["next"]
    assert await statuses(sessionmaker) == [("dead", 2), ("sent", 0)]


async def test_a_reply_is_sent_speaking_its_language_else_the_conversation_s(
    storage: Storage, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    channel = FlakyChannel()
    conversation_id = await queue_replies(storage, ["bonjour", "hallo", "hello"])
    async with sessionmaker() as session:
        await session.execute(update(Conversation).values(language="de"))
        await session.execute(update(Message).where(Message.text == "bonjour").values(language="fr"))
        await session.commit()
    await Outbox(storage.outbox, {"flaky": channel}, OutboxSettings()).deliver_conversation(conversation_id)
    assert [m.text for _, m in channel.delivered] == ["bonjour", "hallo", "hello"]
    assert channel.spoken == ["fr", "de", "de"]


async def test_a_reply_in_a_conversation_of_no_known_language_is_sent_in_the_default(
    storage: Storage, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    channel = FlakyChannel()
    conversation_id = await queue_replies(storage, ["hello"])
    await Outbox(storage.outbox, {"flaky": channel}, OutboxSettings()).deliver_conversation(conversation_id)
    assert channel.spoken == ["en"]


async def test_a_delivery_claimed_by_another_worker_is_not_sent_twice(
    storage: Storage, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    channel = FlakyChannel()
    conversation_id = await queue_replies(storage, ["only"])
    held = await storage.outbox.claim_next(conversation_id, lease=LEASE)  # another process holds it
    assert held is not None
    await Outbox(storage.outbox, {"flaky": channel}, OutboxSettings()).deliver_conversation(conversation_id)
    assert channel.delivered == []


@pytest.mark.parametrize(("attempt", "low", "high"), [(1, 0.5, 1.0), (3, 2.0, 4.0), (20, 150.0, 300.0)])
def test_backoff_grows_exponentially_and_is_capped(attempt: int, low: float, high: float) -> None:
    delay = backoff_seconds(attempt, OutboxSettings(backoff_base_s=1.0, backoff_max_s=300.0))
    assert low <= delay <= high


def test_retry_after_wins_over_backoff() -> None:
    assert backoff_seconds(1, OutboxSettings(), retry_after=12.0) == 12.0


async def test_a_held_reply_waits_out_of_line_until_the_customer_writes_and_then_goes_first(
    storage: Storage, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    """WhatsApp's 24-hour rule: the platform takes the reply only after the customer writes."""
    channel = FlakyChannel()
    conversation_id = await queue_replies(storage, ["held one", "later one"])
    channel.refusal = DeliveryHeld("the 24-hour window is closed")
    outbox = Outbox(storage.outbox, {"flaky": channel}, OutboxSettings())
    await outbox.deliver_conversation(conversation_id)
    assert [m.text for _, m in channel.delivered] == ["later one"]  # not held up behind it
    assert await statuses(sessionmaker) == [("held", 0), ("sent", 0)]
    await outbox.deliver_conversation(conversation_id)
    assert channel.attempts == 2  # a held reply is not tried again on its own

    await queue_replies(storage, ["the answer to the new message"], first=2)  # the customer wrote
    await outbox.deliver_conversation(conversation_id)
    assert [m.text for _, m in channel.delivered] == ["later one", "held one", "the answer to the new message"]
    assert await statuses(sessionmaker) == [("sent", 0)] * 3
