"""Restart safety: what a stopped hub left unanswered or undelivered is handled — once."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import timedelta

from sqlalchemy import func, select, update

from core.messages import Address, Author, InboundMessage, Reply
from core.ops.runtime import open_database, open_runtime
from core.pipeline.storage import Storage
from core.pipeline.turn_transactions import TurnResult
from core.settings import OutboxSettings, Settings
from core.store.db import DeliveryStatus, Message, OutboxItem
from core.store.transactions import transactions_for
from tests.fakes.flaky_channel import FlakyChannel
from tests.settle import settled, until

LAPSED = timedelta(seconds=-1)  # the claim of a process that died


def question(i: int, text: str) -> InboundMessage:
    return InboundMessage(address=Address("flaky", "carol"), external_id=f"q{i}", sender_id="carol", text=text)


async def test_unanswered_messages_are_answered_after_a_restart_in_order_once(
    make_settings: Callable[..., Settings],
) -> None:
    settings = make_settings(outbox=OutboxSettings(poll_interval_s=0.1))
    async with open_database(settings) as (engine, sessionmaker):  # a hub that stored, then died
        transactions = transactions_for(engine, sessionmaker)
        storage = Storage.on(transactions)
        for i, text in enumerate(["How do I reset my password?", "How do I export my data?"]):
            await storage.inbox.save(question(i, text), lease=LAPSED)
        await transactions.close()

    channel = FlakyChannel()
    async with open_runtime(settings, {"flaky": channel}) as runtime:
        await until(lambda: len(channel.delivered) == 2)
        await settled(runtime.sessionmaker)  # nothing left that could go out a second time
        history = await runtime.hub.history(Address("flaky", "carol"))
    assert len(channel.delivered) == 2
    assert "password" in channel.delivered[0][1].text.lower()
    assert "export" in channel.delivered[1][1].text.lower()
    assert [m.author for m in history] == [Author.CUSTOMER, Author.CUSTOMER, Author.BOT, Author.BOT]


async def test_undelivered_replies_are_sent_after_a_restart_and_sent_ones_are_not(
    make_settings: Callable[..., Settings],
) -> None:
    settings = make_settings(outbox=OutboxSettings(poll_interval_s=0.1))
    async with open_database(settings) as (engine, sessionmaker):
        transactions = transactions_for(engine, sessionmaker)
        storage = Storage.on(transactions)
        for i, text in enumerate(["already delivered", "never delivered"]):
            receipt = await storage.inbox.save(question(i, "q"), lease=LAPSED)
            [pending] = await storage.inbox.claim(receipt.conversation_id, lease=timedelta(seconds=60))
            await storage.turns.finish(pending, TurnResult(signals=None, reply=Reply(text)), push=True)
        async with sessionmaker() as session, session.begin():  # the first was delivered before the restart
            first = (await session.execute(select(OutboxItem.id).order_by(OutboxItem.id))).scalars().first()
            assert first is not None
            await session.execute(
                update(OutboxItem).where(OutboxItem.id == first).values(status=DeliveryStatus.SENT, external_id="ext-1")
            )
        await transactions.close()

    channel = FlakyChannel()
    async with open_runtime(settings, {"flaky": channel}) as runtime:
        await until(lambda: len(channel.delivered) == 1)
        await settled(runtime.sessionmaker)
        async with runtime.sessionmaker() as session:
            unsent = (
                await session.execute(
                    select(func.count()).select_from(OutboxItem).where(OutboxItem.status != DeliveryStatus.SENT)
                )
            ).scalar_one()
            answered = (
                await session.execute(select(func.count()).select_from(Message).where(Message.author == Author.BOT))
            ).scalar_one()
    assert [m.text for _, m in channel.delivered] == ["never delivered"]
    assert unsent == 0 and answered == 2


async def test_a_burst_in_one_conversation_is_answered_in_order(make_settings: Callable[..., Settings]) -> None:
    channel = FlakyChannel()
    texts = [
        "How do I reset my password?",
        "Can I pay by invoice?",
        "How do I invite teammates?",
        "What does BD-4012 mean?",
        "How do I export my data?",
    ]
    async with open_runtime(make_settings(), {"flaky": channel}) as runtime:
        receipts = await asyncio.gather(*(runtime.hub.receive(question(i, t)) for i, t in enumerate(texts)))
        await until(lambda: len(channel.delivered) == len(texts))
        history = await runtime.hub.history(Address("flaky", "carol"))
    replies = [m for m in history if m.author is Author.BOT]
    assert [m.id for _, m in channel.delivered] == [m.id for m in replies]
    assert len({r.conversation_id for r in receipts}) == 1
