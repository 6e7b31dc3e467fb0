"""What channel adapters keep in the database, on both backends: delivered parts, moved chats,
opt-outs, platform delivery statuses, and how the outbox treats a customer who cannot be
written to."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.channel import CustomerUnreachable, DeliveryRefused
from core.messages import Address, InboundMessage
from core.pipeline.outbox import Outbox
from core.pipeline.storage import Storage
from core.settings import OutboxSettings
from core.store.db import Conversation, OutboxItem
from tests.fakes.flaky_channel import FlakyChannel
from tests.unit.core.pipeline.test_outbox import queue_replies

pytestmark = pytest.mark.postgres

LEASE = timedelta(seconds=60)


async def outbox_rows(sessionmaker: async_sessionmaker[AsyncSession]) -> list[tuple[str, str | None]]:
    async with sessionmaker() as session:
        rows = await session.execute(select(OutboxItem.status, OutboxItem.last_error).order_by(OutboxItem.id))
        return [(status, error) for status, error in rows.all()]


async def test_delivered_parts_are_kept_once_in_order_and_come_with_the_claimed_delivery(storage: Storage) -> None:
    conversation_id = await queue_replies(storage, ["long reply"])
    message_id = 2  # the bot's reply to the first question
    for part, external in ((1, "m2"), (0, "m1"), (1, "again")):
        await storage.outbox.record_part(message_id, part, external)
    due = await storage.outbox.claim_next(conversation_id, lease=LEASE)
    assert due is not None and due.message.id == message_id and due.sent_parts == ("m1", "m2")


async def test_a_moved_chat_takes_its_conversation_and_pending_replies_along(
    storage: Storage, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    conversation_id = await queue_replies(storage, ["pending reply"], chat="-4001")
    await storage.inbox.save(InboundMessage(Address("flaky", "-1009"), "other", "u", "hi"), lease=LEASE)
    assert await storage.channel_state.move_chat("flaky", "-4001", "-1004001") == 1
    assert await storage.channel_state.move_chat("flaky", "-1004001", "-1009") == 0  # taken: stays
    due = await storage.outbox.claim_next(conversation_id, lease=LEASE)
    assert due is not None and due.address == Address("flaky", "-1004001")


async def test_an_unreachable_customer_gets_nothing_until_they_write_again(
    storage: Storage, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    channel = FlakyChannel()
    conversation_id = await queue_replies(storage, ["first", "second"])
    outbox = Outbox(storage.outbox, {"flaky": channel}, OutboxSettings())
    channel.refusal = CustomerUnreachable("Forbidden: bot was blocked by the user")
    await outbox.deliver_conversation(conversation_id)
    assert channel.attempts == 1 and channel.delivered == []  # the second was not even tried
    assert await outbox_rows(sessionmaker) == [
        ("dead", "Forbidden: bot was blocked by the user"),
        ("dead", "unreachable: Forbidden: bot was blocked by the user"),
    ]

    await queue_replies(storage, ["after unblocking"], first=2)  # the customer wrote again
    await outbox.deliver_conversation(conversation_id)
    assert [m.text for _, m in channel.delivered] == ["after unblocking"]


async def test_a_permanent_refusal_is_dead_lettered_at_once_and_the_next_reply_goes(
    storage: Storage, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    channel = FlakyChannel()
    conversation_id = await queue_replies(storage, ["malformed", "fine"])
    channel.refusal = DeliveryRefused("Bad Request: can't parse entities")
    await Outbox(storage.outbox, {"flaky": channel}, OutboxSettings()).deliver_conversation(conversation_id)
    assert [m.text for _, m in channel.delivered] == ["fine"]
    assert [status for status, _ in await outbox_rows(sessionmaker)] == ["dead", "sent"]


async def test_an_opted_out_address_gets_nothing_until_it_opts_in(
    storage: Storage, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    channel = FlakyChannel()
    outbox = Outbox(storage.outbox, {"flaky": channel}, OutboxSettings())
    await storage.channel_state.set_opted_out(Address("flaky", "c1"), True)
    conversation_id = await queue_replies(storage, ["silenced"])
    await outbox.deliver_conversation(conversation_id)
    assert channel.attempts == 0 and "opted out" in str((await outbox_rows(sessionmaker))[0][1])
    await storage.channel_state.set_opted_out(Address("flaky", "c1"), False)
    await queue_replies(storage, ["welcome back"], first=1)
    await outbox.deliver_conversation(conversation_id)
    assert [m.text for _, m in channel.delivered] == ["welcome back"]


async def test_a_delivery_status_never_moves_backwards(
    storage: Storage, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    channel = FlakyChannel()
    conversation_id = await queue_replies(storage, ["reply"])
    await Outbox(storage.outbox, {"flaky": channel}, OutboxSettings()).deliver_conversation(conversation_id)
    external = f"ext-{channel.delivered[0][1].id}"
    state = storage.channel_state
    assert await state.delivery_status("flaky", external, "delivered", 4)
    assert not await state.delivery_status("flaky", external, "sent", 3)
    assert not await state.delivery_status("flaky", "unknown", "sent", 3)
    assert await state.delivery_status("flaky", external, "read", 5, unreachable=None)
    async with sessionmaker() as session:
        assert (await session.execute(select(OutboxItem.platform_status))).scalar_one() == "read"
        assert (
            await session.execute(
                select(func.count()).select_from(Conversation).where(Conversation.unreachable_reason.is_not(None))
            )
        ).scalar_one() == 0
