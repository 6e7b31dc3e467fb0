"""The Cases, Knowledge and Status pages' data on seeded rows with known answers, on SQLite and
PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.admin.queries.operations import (
    ChannelDelivery,
    DocumentRow,
    case_queue,
    dead_letters,
    delivery_status,
    documents,
    index_runs,
    index_version,
)
from core.handoff.hours import Sla
from core.store.case_tables import Case
from core.store.db import Contact, Conversation, DeliveryStatus, Message, OutboxItem
from core.store.dead_letters import NotRequeueable, Requeued, requeue
from knowledge.tables import IndexRun, IndexVersion, KnowledgeDocument, SkippedFile

NOW = datetime(2026, 11, 3, 14, 0, tzinfo=UTC)
SLA = Sla(timedelta(minutes=30))
CONVERSATIONS = {"conv-web": "web", "conv-tg": "telegram", "conv-sms": "sms", "conv-slack": "slack"}


@pytest.fixture
async def seeded(sessionmaker: async_sessionmaker[AsyncSession]) -> async_sessionmaker[AsyncSession]:
    async with sessionmaker.begin() as session:
        session.add(Contact(id="c1"))
        for conversation_id, channel in CONVERSATIONS.items():
            session.add(Conversation(id=conversation_id, contact_id="c1", channel=channel, chat_id=conversation_id))
        await session.flush()
        for state, minutes, case_id, conversation_id in (
            ("waiting", 45, "k1", "conv-web"),  # past the SLA, nobody answered: breached
            ("waiting", 10, "k2", "conv-web"),  # within the SLA
            ("human", 180, "k3", "conv-tg"),  # staff answered after it opened
            ("human", 120, "k5", "conv-sms"),  # staff wrote only before it opened: breached
        ):
            session.add(
                Case(
                    id=case_id,
                    conversation_id=conversation_id,
                    state=state,
                    rule="unanswered",
                    reason=f"reason {case_id}",
                    owner="U1" if state == "human" else None,
                    desk_ref="1700000000.000100" if case_id == "k1" else None,
                    opened_at=NOW - timedelta(minutes=minutes),
                )
            )
        session.add(
            Case(
                id="k4",
                conversation_id="conv-tg",
                state="closed",
                rule="keyword",
                reason="r",
                opened_at=NOW - timedelta(hours=9),
                closed_at=NOW - timedelta(hours=8),
            )
        )
        session.add(
            Case(
                id="k6",
                conversation_id="conv-web",
                state="returned",
                rule="keyword",
                reason="r",
                opened_at=NOW - timedelta(hours=1),
                closed_at=NOW - timedelta(minutes=20),
            )
        )
        session.add(
            Message(
                conversation_id="conv-tg",
                channel="telegram",
                author="staff",
                text="on it",
                created_at=NOW - timedelta(hours=2),
            )
        )
        session.add(
            Message(
                conversation_id="conv-sms",
                channel="sms",
                author="staff",
                text="earlier case",
                created_at=NOW - timedelta(hours=5),
            )
        )
    return sessionmaker


async def test_the_queue_is_open_cases_oldest_first_with_age_and_sla(seeded: async_sessionmaker[AsyncSession]) -> None:
    async with seeded() as session:
        queue = await case_queue(session, now=NOW, sla=SLA)
    assert [(c.id, c.channel, c.state, c.owner, c.age, c.sla_breached, c.waiting_on_staff) for c in queue] == [
        ("k3", "telegram", "human", "U1", timedelta(hours=3), False, False),
        ("k5", "sms", "human", "U1", timedelta(hours=2), True, True),
        ("k1", "web", "waiting", None, timedelta(minutes=45), True, True),
        ("k2", "web", "waiting", None, timedelta(minutes=10), False, True),
    ]
    assert queue[3].due_at == NOW + timedelta(minutes=20)  # k2: 30 minutes after it opened
    k1 = queue[2]
    assert (k1.conversation_id, k1.rule, k1.reason, k1.opened_at, k1.desk_ref) == (
        "conv-web",
        "unanswered",
        "reason k1",
        NOW - timedelta(minutes=45),
        "1700000000.000100",
    )


async def test_the_queue_with_closed_cases_lists_them_after_the_open_ones_newest_first(
    seeded: async_sessionmaker[AsyncSession],
) -> None:
    async with seeded() as session:
        queue = await case_queue(session, now=NOW, sla=SLA, include_closed=True)
        first_two = await case_queue(session, now=NOW, sla=SLA, limit=2)
    assert [(c.id, c.age, c.sla_breached, c.waiting_on_staff) for c in queue[4:]] == [
        ("k6", timedelta(minutes=40), False, False),
        ("k4", timedelta(hours=1), False, False),
    ]
    assert [c.id for c in queue[:4]] == ["k3", "k5", "k1", "k2"]
    assert queue[5].closed_at == NOW - timedelta(hours=8)
    assert [c.id for c in first_two] == ["k3", "k5"]


async def test_a_longer_sla_breaches_fewer_cases(seeded: async_sessionmaker[AsyncSession]) -> None:
    async with seeded() as session:
        queue = await case_queue(session, now=NOW, sla=Sla(timedelta(minutes=150)))
    assert [c.id for c in queue if c.sla_breached] == []
    async with seeded() as session:
        queue = await case_queue(session, now=NOW, sla=Sla(timedelta(minutes=100)))
    assert [c.id for c in queue if c.sla_breached] == ["k5"]


async def test_documents_by_source_and_runs_newest_first_with_skipped_reasons(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    unreadable = SkippedFile("help/manual.pdf", "cannot convert: ValueError: not a valid PDF file")
    async with sessionmaker.begin() as session:
        session.add(
            KnowledgeDocument(
                source="help/refunds.md",
                content_hash="h2",
                title="Refunds",
                chunk_count=4,
                updated_at=NOW - timedelta(days=1),
            )
        )
        session.add(
            KnowledgeDocument(
                source="help/billing.md",
                content_hash="h1",
                title="Billing",
                chunk_count=7,
                updated_at=NOW,
                origin="site:help",
                url="https://help.example.com/billing",
                missing_since=NOW,
            )
        )
        session.add(
            IndexRun(
                trigger="cli:ingest",
                started_at=NOW - timedelta(hours=2),
                finished_at=NOW - timedelta(hours=2) + timedelta(seconds=3),
                added=2,
                seconds=3.0,
            )
        )
        session.add(
            IndexRun(
                trigger="schedule",
                started_at=NOW - timedelta(hours=1),
                finished_at=NOW - timedelta(hours=1),
                changed=1,
                unchanged=1,
                seconds=0.5,
                skipped=[unreadable.as_json()],
            )
        )
        session.add(
            IndexRun(trigger="admin:alice", started_at=NOW, error="FileNotFoundError: knowledge path not found")
        )
        session.add(IndexVersion(collection="knowledge", version="v42"))
    async with sessionmaker() as session:
        docs = await documents(session)
        runs = await index_runs(session, limit=2)
        every_run = await index_runs(session)
        version, unknown = await index_version(session, "knowledge"), await index_version(session, "other")
    assert docs == [
        DocumentRow("help/billing.md", "Billing", 7, NOW, "site:help", "https://help.example.com/billing", NOW),
        DocumentRow("help/refunds.md", "Refunds", 4, NOW - timedelta(days=1), "files", None, None),
    ]
    assert [(r.trigger, r.finished_at, r.changed, r.unchanged, r.seconds, r.error, r.skipped) for r in runs] == [
        ("admin:alice", None, 0, 0, None, "FileNotFoundError: knowledge path not found", ()),
        ("schedule", NOW - timedelta(hours=1), 1, 1, 0.5, None, (unreadable,)),
    ]
    assert [(r.trigger, r.added, r.skipped) for r in every_run][2:] == [("cli:ingest", 2, ())]
    assert (version, unknown) == ("v42", None)


@pytest.fixture
async def outbox(sessionmaker: async_sessionmaker[AsyncSession]) -> dict[str, int]:
    """Outbox rows by name: telegram sent twice, one pending and one dead; sms two dead and never
    sent; slack sent once."""
    rows = {
        "tg-sent-early": ("conv-tg", DeliveryStatus.SENT, NOW - timedelta(hours=3), 1),
        "tg-sent-late": ("conv-tg", DeliveryStatus.SENT, NOW - timedelta(minutes=5), 1),
        "tg-pending": ("conv-tg", DeliveryStatus.PENDING, None, 2),
        "sms-dead-1": ("conv-sms", DeliveryStatus.DEAD, None, 8),
        "tg-dead": ("conv-tg", DeliveryStatus.DEAD, None, 8),
        "sms-dead-2": ("conv-sms", DeliveryStatus.DEAD, None, 8),
        "slack-sent": ("conv-slack", DeliveryStatus.SENT, NOW - timedelta(days=2), 1),
    }
    ids = {}
    async with sessionmaker.begin() as session:
        session.add(Contact(id="c1"))
        for conversation_id, channel in CONVERSATIONS.items():
            session.add(Conversation(id=conversation_id, contact_id="c1", channel=channel, chat_id=conversation_id))
        await session.flush()
        for name, (conversation_id, status, sent_at, attempts) in rows.items():
            channel = CONVERSATIONS[conversation_id]
            message = Message(conversation_id=conversation_id, channel=channel, author="bot", text=name)
            session.add(message)
            await session.flush()
            item = OutboxItem(
                message_id=message.id,
                conversation_id=conversation_id,
                channel=channel,
                chat_id=conversation_id,
                status=status,
                attempts=attempts,
                sent_at=sent_at,
                last_error="HTTP 403: blocked" if status == DeliveryStatus.DEAD else None,
            )
            session.add(item)
            await session.flush()
            ids[name] = item.id
    return ids


async def test_delivery_status_per_channel(
    sessionmaker: async_sessionmaker[AsyncSession], outbox: dict[str, int]
) -> None:
    async with sessionmaker() as session:
        status = await delivery_status(session)
    assert status == [
        ChannelDelivery("slack", NOW - timedelta(days=2), pending=0, dead=0),
        ChannelDelivery("sms", None, pending=0, dead=2),
        ChannelDelivery("telegram", NOW - timedelta(minutes=5), pending=1, dead=1),
    ]


async def test_delivery_status_of_an_empty_outbox(sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    async with sessionmaker() as session:
        assert await delivery_status(session) == []


async def test_dead_letters_oldest_first(
    sessionmaker: async_sessionmaker[AsyncSession], outbox: dict[str, int]
) -> None:
    async with sessionmaker() as session:
        letters = await dead_letters(session)
        first = await dead_letters(session, limit=1)
    assert [(d.id, d.channel, d.attempts, d.last_error) for d in letters] == [
        (outbox["sms-dead-1"], "sms", 8, "HTTP 403: blocked"),
        (outbox["tg-dead"], "telegram", 8, "HTTP 403: blocked"),
        (outbox["sms-dead-2"], "sms", 8, "HTTP 403: blocked"),
    ]
    assert [d.id for d in first] == [outbox["sms-dead-1"]]


async def test_retry_turns_a_dead_letter_pending_and_refuses_anything_else(
    sessionmaker: async_sessionmaker[AsyncSession], outbox: dict[str, int]
) -> None:
    async with sessionmaker.begin() as session:
        requeued = await session.run_sync(requeue, outbox_id=outbox["tg-dead"])
    assert requeued == Requeued(outbox["tg-dead"], "telegram", "conv-tg", unreachable=None)
    async with sessionmaker() as session:
        row = await session.get(OutboxItem, outbox["tg-dead"])
        assert row is not None and (row.status, row.attempts) == (DeliveryStatus.PENDING, 0)
        assert [d.id for d in await dead_letters(session)] == [outbox["sms-dead-1"], outbox["sms-dead-2"]]
        telegram = [c for c in await delivery_status(session) if c.channel == "telegram"]
        assert telegram == [ChannelDelivery("telegram", NOW - timedelta(minutes=5), pending=2, dead=0)]

    async with sessionmaker.begin() as session:
        with pytest.raises(NotRequeueable, match=r"is not dead but still pending \(after 2 failed attempts\)"):
            await session.run_sync(requeue, outbox_id=outbox["tg-pending"])
        with pytest.raises(NotRequeueable, match="was delivered already"):
            await session.run_sync(requeue, outbox_id=outbox["slack-sent"])
        with pytest.raises(NotRequeueable, match="there is no outbox item 999"):
            await session.run_sync(requeue, outbox_id=999)
