"""The dashboard's aggregations on seeded rows with known answers, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.admin.queries import Period, helpfulness, open_cases, outcomes, volume
from core.db import Case, Contact, Conversation, Feedback, Message

DAY1 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
DAY2 = DAY1 + timedelta(days=1)
WEEK = Period(since=DAY1 - timedelta(days=1), until=DAY1 + timedelta(days=6))
CITED = [{"source": "faq.md", "title": "FAQ", "section": "FAQ", "score": 0.7}]


@pytest.fixture
async def seeded(sessionmaker: async_sessionmaker[AsyncSession]) -> async_sessionmaker[AsyncSession]:
    async with sessionmaker.begin() as session:
        session.add(Contact(id="c1"))
        for channel in ("web", "telegram"):
            session.add(Conversation(id=f"conv-{channel}", contact_id="c1", channel=channel, chat_id="x"))
        await session.flush()

        def message(channel: str, author: str, at: datetime, **fields: object) -> Message:
            row = Message(conversation_id=f"conv-{channel}", channel=channel, author=author, text="t", created_at=at,
                          **fields)
            session.add(row)
            return row

        for _ in range(3):
            message("web", "customer", DAY1)
        message("web", "customer", DAY2)
        message("telegram", "customer", DAY2 + timedelta(hours=3))
        message("web", "customer", WEEK.until + timedelta(hours=1))  # after the period
        answered = message("web", "bot", DAY1, citations=CITED)
        message("web", "bot", DAY1, declined=True, handoff=True)
        message("web", "bot", DAY2, handoff=True)
        message("web", "bot", DAY2)  # "You're welcome!": no source
        cited_on_telegram = message("telegram", "bot", DAY2, citations=CITED)
        message("telegram", "staff", DAY2 + timedelta(hours=4))
        await session.flush()
        session.add(Feedback(message_id=answered.id, rating="up", created_at=DAY1))
        session.add(Feedback(message_id=cited_on_telegram.id, rating="down", created_at=DAY2))
        now = DAY2 + timedelta(hours=5)
        session.add(Case(id="k1", conversation_id="conv-web", state="waiting", rule="unanswered", reason="r",
                         opened_at=now - timedelta(minutes=45)))
        session.add(Case(id="k2", conversation_id="conv-web", state="waiting", rule="unanswered", reason="r",
                         opened_at=now - timedelta(minutes=10)))
        session.add(Case(id="k3", conversation_id="conv-telegram", state="human", rule="keyword", reason="r",
                         opened_at=now - timedelta(hours=3)))
        session.add(Case(id="k4", conversation_id="conv-telegram", state="closed", rule="keyword", reason="r",
                         opened_at=now - timedelta(hours=9)))
    return sessionmaker


async def test_messages_in_per_day_and_channel(seeded: async_sessionmaker[AsyncSession]) -> None:
    async with seeded() as session:
        rows = await volume(session, WEEK)
        only_web = await volume(session, Period(WEEK.since, WEEK.until, channel="web"))
    assert [(r.day, r.channel, r.messages) for r in rows] == [
        (date(2026, 11, 2), "web", 3), (date(2026, 11, 3), "telegram", 1), (date(2026, 11, 3), "web", 1)]
    assert [(r.day, r.messages) for r in only_web] == [(date(2026, 11, 2), 3), (date(2026, 11, 3), 1)]


async def test_bot_outcomes_and_staff_replies(seeded: async_sessionmaker[AsyncSession]) -> None:
    async with seeded() as session:
        everything = await outcomes(session, WEEK)
        telegram = await outcomes(session, Period(WEEK.since, WEEK.until, channel="telegram"))
    assert (everything.answered, everything.declined, everything.escalated, everything.other, everything.staff) == (
        2, 1, 1, 1, 1)
    assert everything.bot_replies == 5
    assert (telegram.answered, telegram.declined, telegram.escalated, telegram.other, telegram.staff) == (1, 0, 0, 0, 1)


async def test_helpfulness_is_up_over_all_thumbs(seeded: async_sessionmaker[AsyncSession]) -> None:
    async with seeded() as session:
        week = await helpfulness(session, WEEK)
        first_day = await helpfulness(session, Period(WEEK.since, DAY2))
        nobody = await helpfulness(session, Period(WEEK.until, WEEK.until + timedelta(days=1)))
    assert (week.up, week.down, week.share) == (1, 1, 0.5)
    assert first_day.share == 1.0
    assert nobody.share is None


async def test_open_cases_by_state_and_past_the_sla(seeded: async_sessionmaker[AsyncSession]) -> None:
    async with seeded() as session:
        counts = await open_cases(session, now=DAY2 + timedelta(hours=5), sla=timedelta(minutes=30))
    assert counts.by_state == {"waiting": 2, "human": 1}
    assert counts.breached == 1  # k1 waited 45 minutes unanswered; k3 (3 h) has a staff reply since it opened
