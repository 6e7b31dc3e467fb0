"""Knowledge gaps on seeded conversations and a real knowledge base (the bundled encoder), on
SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.admin.queries.gaps import GapFinder, GapReport, unanswered_questions
from core.admin.queries.overview import Period
from core.answering.answer_decision import decide
from core.store.db import Contact, Conversation, Feedback, Message
from knowledge.base import KnowledgeBase
from knowledge.embedding.embedder import Embedder
from knowledge.search.index import DenseStore, LocalIndex
from knowledge.tables import IndexVersion, KnowledgeDocument

DAY = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
WEEK = Period(since=DAY - timedelta(days=3), until=DAY + timedelta(days=4))
INDEXED = datetime(2026, 1, 5, tzinfo=UTC)
"""When the help centre was indexed, as far as the database knows: before every question."""
MIN_MATCH = 0.55
CITED = [{"source": "help/account.md", "title": "Your account", "section": "Resetting your password", "score": 0.8}]

ACCOUNT = """# Your account

## Resetting your password

On the sign-in page choose Forgot password, enter your email address, and open the link we send
you within an hour to set a new password.

## Changing your email address

Open Settings › Profile, type the new address and confirm it from the message we send to it.
"""
MOBILE = """# The mobile app

## Working offline

The mobile app keeps your last 30 days of tasks on the phone. Changes made offline are sent when
the phone is back online.
"""
INVOICES = """# Exporting your invoices

## How do I export my invoices?

Open Billing › Invoices and choose Export all: you get every invoice as a PDF in one ZIP file, and
the list of invoices as a CSV spreadsheet.
"""


@dataclass(frozen=True, slots=True)
class Seeded:
    text: str
    conversation: str
    minutes: int
    """After DAY."""
    declined: bool = False
    rating: str | None = None
    channel: str = "web"


INVOICE_A = "How do I export my invoices?"
INVOICE_B = "Is there a way to download all my invoices?"
INVOICE_C = "Hi, I'm Omar from Acme, we moved from Asana last month. How can I export all of our invoices?"
WIDGET_A = "Can I change the colour of the widget?"
WIDGET_B = "can the widget colour be changed to match our brand"
BERLIN = "Do you have an office in Berlin?"
PASSWORD = "How do I reset my password?"

SEEDED = [
    Seeded(INVOICE_C, "conv-1", 10, declined=True),
    Seeded(WIDGET_B, "conv-2", 20, declined=True, rating="down"),  # declined, and thumbed down as well
    Seeded(INVOICE_B, "conv-3", 30, declined=True, channel="telegram"),
    Seeded(BERLIN, "conv-4", 40, declined=True),
    Seeded(PASSWORD, "conv-5", 50, rating="down"),  # answered, thumbs down
    Seeded("How do I change my email address?", "conv-6", 60, rating="up"),  # answered and liked
    Seeded("How do I change my email address?", "conv-7", 65),  # answered, not rated
    Seeded(WIDGET_A, "conv-8", 70, declined=True),
    Seeded(INVOICE_A, "conv-1", 80, declined=True),  # conv-1 again
    Seeded(INVOICE_A, "conv-9", 60 * 24 * 4 + 30, declined=True),  # after the period
]


async def seed(sessionmaker: async_sessionmaker[AsyncSession], asked: list[Seeded]) -> dict[str, list[int]]:
    """Each question with the bot's reply a second later, and the thumb given on it; the
    question ids by text, in seeding order."""
    ids: dict[str, list[int]] = {}
    async with sessionmaker.begin() as session:
        session.add(Contact(id="c1"))
        for conversation, channel in dict.fromkeys((a.conversation, a.channel) for a in asked):
            session.add(Conversation(id=conversation, contact_id="c1", channel=channel, chat_id=conversation))
        await session.flush()
        for one in asked:
            at = DAY + timedelta(minutes=one.minutes)
            question = Message(
                conversation_id=one.conversation, channel=one.channel, author="customer", text=one.text, created_at=at
            )
            session.add(question)
            await session.flush()
            reply = Message(
                conversation_id=one.conversation,
                channel=one.channel,
                author="bot",
                text="…",
                reply_to=question.id,
                declined=one.declined,
                handoff=one.declined,
                citations=[] if one.declined else CITED,
                created_at=at + timedelta(seconds=1),
            )
            session.add(reply)
            await session.flush()
            if one.rating is not None:
                session.add(Feedback(message_id=reply.id, rating=one.rating, created_at=at + timedelta(minutes=1)))
            ids.setdefault(one.text, []).append(question.id)
    return ids


@pytest.fixture
async def knowledge(
    tmp_path: Path, embedder: Embedder, sessionmaker: async_sessionmaker[AsyncSession]
) -> AsyncIterator[KnowledgeBase]:
    """An empty knowledge base whose tables are in the test's database, as in the app."""
    data_dir = tmp_path / "data"
    kb = KnowledgeBase(
        embedder=embedder,
        dense=DenseStore.open(chroma_url="", data_dir=data_dir, collection="knowledge"),
        local=LocalIndex(data_dir / "bm25" / "knowledge"),
        sessionmaker=sessionmaker,
        max_chars=600,
    )
    yield kb
    await kb.aclose()


def help_centre(root: Path, **documents: str) -> Path:
    directory = root / "help"
    directory.mkdir(exist_ok=True)
    for name, text in documents.items():
        (directory / f"{name}.md").write_text(text, encoding="utf-8")
    return directory


async def indexed_long_ago(
    knowledge: KnowledgeBase, sessionmaker: async_sessionmaker[AsyncSession], docs: Path
) -> None:
    """Ingest `docs`, then date the run before every seeded question."""
    await knowledge.ingest([docs], trigger="test")
    async with sessionmaker.begin() as session:
        await session.execute(update(KnowledgeDocument).values(updated_at=INDEXED))
        await session.execute(update(IndexVersion).values(updated_at=INDEXED))


async def gaps(finder: GapFinder, sessionmaker: async_sessionmaker[AsyncSession], **options: int) -> GapReport:
    async with sessionmaker() as session:
        return await finder.knowledge_gaps(session, WEEK, min_match=MIN_MATCH, **options)


def minutes(n: int) -> datetime:
    return DAY + timedelta(minutes=n)


async def test_unanswered_questions_are_the_declined_and_the_thumbed_down_newest_first(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    ids = await seed(sessionmaker, SEEDED)
    async with sessionmaker() as session:
        found = await unanswered_questions(session, WEEK)
        latest = await unanswered_questions(session, WEEK, limit=2)
        telegram = await unanswered_questions(session, Period(WEEK.since, WEEK.until, channel="telegram"))
        later = await unanswered_questions(session, Period(WEEK.until, WEEK.until + timedelta(days=1)))
    assert [(q.text, q.conversation_id, q.channel, q.created_at, q.why) for q in found.questions] == [
        (INVOICE_A, "conv-1", "web", minutes(80), "declined"),
        (WIDGET_A, "conv-8", "web", minutes(70), "declined"),
        (PASSWORD, "conv-5", "web", minutes(50), "thumbs down"),
        (BERLIN, "conv-4", "web", minutes(40), "declined"),
        (INVOICE_B, "conv-3", "telegram", minutes(30), "declined"),
        (WIDGET_B, "conv-2", "web", minutes(20), "declined"),
        (INVOICE_C, "conv-1", "web", minutes(10), "declined"),
    ]
    assert found.questions[0].message_id == ids[INVOICE_A][0]
    assert found.total == 7
    assert ([q.text for q in latest.questions], latest.total) == ([INVOICE_A, WIDGET_A], 7)
    assert ([q.text for q in telegram.questions], telegram.total) == ([INVOICE_B], 1)
    assert ([q.text for q in later.questions], later.total) == ([INVOICE_A], 1)


async def test_paraphrases_are_grouped_largest_first(
    sessionmaker: async_sessionmaker[AsyncSession], knowledge: KnowledgeBase
) -> None:
    await seed(sessionmaker, [a for a in SEEDED if a.text != PASSWORD])
    report = await gaps(GapFinder(knowledge), sessionmaker)
    assert [(g.typical, g.count, g.last_seen, g.conversation_ids, g.declined, g.thumbs_down) for g in report.gaps] == [
        (INVOICE_A, 3, minutes(80), ["conv-1", "conv-3"], 3, 0),
        (WIDGET_A, 2, minutes(70), ["conv-8", "conv-2"], 2, 0),
        (BERLIN, 1, minutes(40), ["conv-4"], 1, 0),
    ]
    assert [g.examples for g in report.gaps] == [[INVOICE_B, INVOICE_C], [WIDGET_B], []]
    assert (report.questions_grouped, report.questions_total, report.resolved) == (6, 6, 0)


async def test_a_thumbed_down_answer_is_a_gap_and_the_limits_cut_the_newest(
    sessionmaker: async_sessionmaker[AsyncSession], knowledge: KnowledgeBase
) -> None:
    await seed(sessionmaker, SEEDED)
    finder = GapFinder(knowledge)
    everything = await gaps(finder, sessionmaker)
    latest = await gaps(finder, sessionmaker, limit_questions=3)
    two = await gaps(finder, sessionmaker, limit_groups=2)
    assert [(g.typical, g.count, g.declined, g.thumbs_down) for g in everything.gaps] == [
        (INVOICE_A, 3, 3, 0),
        (WIDGET_A, 2, 2, 0),
        (PASSWORD, 1, 0, 1),
        (BERLIN, 1, 1, 0),
    ]
    # the three newest questions: INVOICE_A, WIDGET_A, PASSWORD
    assert [(g.typical, g.count) for g in latest.gaps] == [(INVOICE_A, 1), (WIDGET_A, 1), (PASSWORD, 1)]
    assert (latest.questions_grouped, latest.questions_total) == (3, 7)
    assert [g.typical for g in two.gaps] == [INVOICE_A, WIDGET_A]
    assert (two.questions_grouped, two.questions_total) == (7, 7)


async def test_a_gap_the_index_now_answers_from_a_new_document_drops_off(
    sessionmaker: async_sessionmaker[AsyncSession], knowledge: KnowledgeBase, tmp_path: Path
) -> None:
    docs = help_centre(tmp_path, account=ACCOUNT, mobile=MOBILE)
    await indexed_long_ago(knowledge, sessionmaker, docs)
    await seed(sessionmaker, SEEDED)
    finder = GapFinder(knowledge)
    before = await gaps(finder, sessionmaker)

    help_centre(tmp_path, invoices=INVOICES)
    await knowledge.ingest([docs], trigger="test")
    after = await gaps(finder, sessionmaker)

    # the index answers PASSWORD all along, from account.md, unchanged since: it stays a gap
    password = decide(await knowledge.search(PASSWORD, 5), min_match=MIN_MATCH)
    assert password.answer and password.best is not None and password.best.source == "help/account.md"
    assert [(g.typical, g.count) for g in before.gaps] == [(INVOICE_A, 3), (WIDGET_A, 2), (PASSWORD, 1), (BERLIN, 1)]
    assert before.resolved == 0
    assert [(g.typical, g.count) for g in after.gaps] == [(WIDGET_A, 2), (PASSWORD, 1), (BERLIN, 1)]
    assert (after.resolved, after.questions_grouped, after.questions_total) == (1, 7, 7)


async def test_warming_encodes_each_question_once_and_the_page_then_groups_the_same(
    sessionmaker: async_sessionmaker[AsyncSession], knowledge: KnowledgeBase
) -> None:
    await seed(sessionmaker, [a for a in SEEDED if a.text != PASSWORD])
    finder = GapFinder(knowledge)
    async with sessionmaker() as session:
        assert await finder.warm(session, WEEK) == 6
        assert await finder.warm(session, WEEK) == 0
    report = await gaps(finder, sessionmaker)
    assert [(g.typical, g.count) for g in report.gaps] == [(INVOICE_A, 3), (WIDGET_A, 2), (BERLIN, 1)]
