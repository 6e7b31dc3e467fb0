"""Storage behaviour on SQLite and PostgreSQL: idempotent receive, answer-once, history."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy import func, select, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from sqlalchemy.orm import Session

from core.messages import Address, Author, InboundMessage, Reply
from core.pipeline.storage import Storage
from core.pipeline.turn_transactions import TurnResult
from core.store.db import Conversation, ConversationState, Message, OutboxItem
from core.store.inbox import PendingMessage, _insert
from tests.settle import until

LEASE = timedelta(seconds=60)
EXPIRED = timedelta(seconds=-1)  # as if the receiving process had died


def inbound(external_id: str, text: str = "hello?", *, chat: str = "alice", channel: str = "api") -> InboundMessage:
    return InboundMessage(address=Address(channel, chat), external_id=external_id, sender_id=chat, text=text)


async def count(sessionmaker: async_sessionmaker[AsyncSession], model: type) -> int:
    async with sessionmaker() as session:
        return (await session.execute(select(func.count()).select_from(model))).scalar_one()


async def test_same_external_id_is_stored_once(
    storage: Storage, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    first = await storage.inbox.save(inbound("m1"), lease=LEASE)
    again = await storage.inbox.save(inbound("m1", "edited retry"), lease=LEASE)
    assert not first.duplicate and again.duplicate
    assert again.message_id == first.message_id
    assert await count(sessionmaker, Message) == 1


async def test_concurrent_duplicates_and_first_messages_race_safely(
    storage: Storage, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    receipts = await asyncio.gather(*(storage.inbox.save(inbound("same"), lease=LEASE) for _ in range(6)))
    assert sum(not r.duplicate for r in receipts) == 1
    assert len({r.message_id for r in receipts}) == 1
    others = await asyncio.gather(*(storage.inbox.save(inbound(f"n{i}", chat="bob"), lease=LEASE) for i in range(6)))
    assert len({r.conversation_id for r in others}) == 1  # one conversation, not six
    assert await count(sessionmaker, Conversation) == 2


async def test_same_external_id_on_another_channel_is_a_new_message(
    storage: Storage, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    a = await storage.inbox.save(inbound("x", channel="api"), lease=LEASE)
    b = await storage.inbox.save(inbound("x", channel="web"), lease=LEASE)
    assert not b.duplicate and a.conversation_id != b.conversation_id


async def test_a_message_is_answered_once_even_by_two_workers(
    storage: Storage, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    receipt = await storage.inbox.save(inbound("q1"), lease=EXPIRED)
    [claimed] = await storage.inbox.claim(receipt.conversation_id, lease=LEASE)
    assert await storage.inbox.claim(receipt.conversation_id, lease=LEASE) == []  # the lease holds
    results = await asyncio.gather(
        storage.turns.finish(claimed, TurnResult(signals=None, reply=Reply("answer A")), push=True),
        storage.turns.finish(claimed, TurnResult(signals=None, reply=Reply("answer B")), push=True),
    )
    assert sum(r is not None for r in results) == 1
    assert await count(sessionmaker, OutboxItem) == 1
    history = await storage.views.history(Address("api", "alice"))
    assert [m.author for m in history] == [Author.CUSTOMER, Author.BOT]


async def test_a_received_message_is_claimed_until_its_lease_runs_out(
    storage: Storage, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    live = await storage.inbox.save(inbound("q1"), lease=LEASE)
    assert await storage.inbox.conversations_with_pending(["api"]) == []  # the receiving process answers it
    assert await storage.inbox.claim(live.conversation_id, lease=LEASE) == []
    lapsed = await storage.inbox.save(inbound("q2", chat="dave"), lease=EXPIRED)
    assert await storage.inbox.conversations_with_pending(["api"]) == [lapsed.conversation_id]
    assert await storage.inbox.conversations_with_pending(["web"]) == []  # another hub's channels
    assert len(await storage.inbox.claim(lapsed.conversation_id, lease=LEASE)) == 1
    assert await storage.inbox.conversations_with_pending(["api"]) == []


async def test_history_pages_after_an_id(storage: Storage, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    ids = [(await storage.inbox.save(inbound(f"m{i}", f"question {i}"), lease=LEASE)).message_id for i in range(4)]
    conversation_id = (await storage.inbox.save(inbound("m0"), lease=LEASE)).conversation_id
    later = await storage.views.messages(conversation_id, after=ids[1])
    assert later is not None and [m.text for m in later] == ["question 2", "question 3"]
    assert await storage.views.messages("no-such-conversation") is None


async def test_a_message_is_first_in_line_only_when_no_older_one_of_its_conversation_is_unanswered(
    storage: Storage,
) -> None:
    """What processes sharing a database rely on to answer a conversation in order without
    asking again: a message stored behind an unanswered one waits for it."""
    first, first_in_line = await storage.inbox.save_in_line(inbound("o1"), lease=EXPIRED)
    second, second_in_line = await storage.inbox.save_in_line(inbound("o2"), lease=EXPIRED)
    _, elsewhere_in_line = await storage.inbox.save_in_line(inbound("o3", chat="bob"), lease=LEASE)
    repeat, repeat_in_line = await storage.inbox.save_in_line(inbound("o1"), lease=LEASE)
    assert (first_in_line, second_in_line, elsewhere_in_line) == (True, False, True)
    assert repeat.duplicate and not repeat_in_line
    claimed = await storage.inbox.claim(first.conversation_id, lease=LEASE)
    assert [p.id for p in claimed] == [first.message_id, second.message_id]
    for pending in claimed:
        await storage.turns.finish(pending, TurnResult(signals=None, reply=Reply("answer")), push=False)
    _, later_in_line = await storage.inbox.save_in_line(inbound("o4"), lease=LEASE)
    assert later_in_line


async def _waiting_for_a_lock(engine: AsyncEngine) -> bool:
    async with engine.connect() as connection:
        return bool(
            (
                await connection.execute(
                    text(
                        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
                    )
                )
            ).scalar_one()
        )


async def test_a_message_stored_while_an_older_one_is_being_stored_waits_for_it(
    storage: Storage,
    engine: AsyncEngine,
) -> None:
    """Two processes, milliseconds apart: the older message's transaction is still open when
    the newer one is stored. The newer one waits for it to commit, comes after it, and is not
    first in line (it would otherwise be answered before the older one)."""
    if engine.dialect.name != "postgresql":
        pytest.skip("only processes sharing a PostgreSQL database store one conversation's messages at once")
    earlier, _ = await storage.inbox.save_in_line(inbound("p0"), lease=EXPIRED)
    [answered] = await storage.inbox.claim(earlier.conversation_id, lease=LEASE)
    await storage.turns.finish(answered, TurnResult(signals=None, reply=Reply("answer")), push=False)
    async with engine.connect() as other_process:
        await other_process.begin()
        older, _ = await other_process.run_sync(
            lambda connection: _insert(Session(bind=connection), message=inbound("p1"), lease=LEASE, ask_earlier=True)
        )
        newer = asyncio.create_task(storage.inbox.save_in_line(inbound("p2"), lease=LEASE))
        await until(lambda: newer.done() or _waiting_for_a_lock(engine), what="the newer message stored or waiting")
        assert not newer.done(), "the newer message was stored while the older one's transaction was open"
        await other_process.commit()
    receipt, first_in_line = await newer
    assert receipt.conversation_id == older.conversation_id == earlier.conversation_id
    assert receipt.message_id > older.message_id
    assert not first_in_line


async def test_a_redelivery_while_its_answer_is_written_is_a_duplicate_not_a_deadlock(
    storage: Storage,
    engine: AsyncEngine,
) -> None:
    """A platform sends a message again while another process writes its answer. The redelivery
    locks the conversation (messages into one are stored one at a time), then inserts the
    message again; the answer's transaction takes the conversation before the message, so the
    redelivery is told at once that the message exists and the answer is written after it."""
    if engine.dialect.name != "postgresql":
        pytest.skip("only processes sharing a PostgreSQL database store and answer one conversation at once")
    receipt, _ = await storage.inbox.save_in_line(inbound("r1"), lease=LEASE)
    pending = PendingMessage(receipt.message_id, receipt.conversation_id, "hello?", Address("api", "alice"))
    async with engine.connect() as redelivery:
        await redelivery.begin()
        await redelivery.execute(
            text("SELECT id FROM conversations WHERE id = :id FOR UPDATE"), {"id": receipt.conversation_id}
        )
        answering = asyncio.create_task(
            storage.turns.finish(pending, TurnResult(signals=None, reply=Reply("answer")), push=False)
        )
        await until(lambda: answering.done() or _waiting_for_a_lock(engine), what="the answer written or waiting")
        with pytest.raises(IntegrityError):
            await redelivery.run_sync(
                lambda connection: _insert(
                    Session(bind=connection), message=inbound("r1"), lease=LEASE, ask_earlier=True
                )
            )
        await redelivery.rollback()
    finished = await answering
    assert finished is not None and finished.reply is not None and finished.reply.text == "answer"


async def test_a_receipt_says_when_a_person_has_the_conversation(
    storage: Storage, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    first = await storage.inbox.save(inbound("p1"), lease=LEASE)
    assert not first.with_person
    async with sessionmaker() as session, session.begin():
        await session.execute(
            update(Conversation).where(Conversation.id == first.conversation_id).values(state=ConversationState.WAITING)
        )
    assert (await storage.inbox.save(inbound("p2"), lease=LEASE)).with_person
