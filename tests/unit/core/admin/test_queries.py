"""The dashboard's aggregations on seeded rows with known answers, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.admin.queries.overview import (
    Outcomes,
    Percentiles,
    Period,
    SecondsBetween,
    first_response,
    helpfulness,
    open_cases,
    outcomes,
    outcomes_by_day,
    volume,
)
from core.handoff.hours import Sla
from core.store.case_tables import Case
from core.store.db import Contact, Conversation, Feedback, Message

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
            row = Message(
                conversation_id=f"conv-{channel}", channel=channel, author=author, text="t", created_at=at, **fields
            )
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
        message("telegram", "bot", DAY2 + timedelta(hours=4), survey="question")  # the survey's: no reply
        await session.flush()
        session.add(Feedback(message_id=answered.id, rating="up", created_at=DAY1))
        session.add(Feedback(message_id=cited_on_telegram.id, rating="down", created_at=DAY2))
        now = DAY2 + timedelta(hours=5)
        session.add(
            Case(
                id="k1",
                conversation_id="conv-web",
                state="waiting",
                rule="unanswered",
                reason="r",
                opened_at=now - timedelta(minutes=45),
            )
        )
        session.add(
            Case(
                id="k2",
                conversation_id="conv-web",
                state="waiting",
                rule="unanswered",
                reason="r",
                opened_at=now - timedelta(minutes=10),
            )
        )
        session.add(
            Case(
                id="k3",
                conversation_id="conv-telegram",
                state="human",
                rule="keyword",
                reason="r",
                opened_at=now - timedelta(hours=3),
            )
        )
        session.add(
            Case(
                id="k4",
                conversation_id="conv-telegram",
                state="closed",
                rule="keyword",
                reason="r",
                opened_at=now - timedelta(hours=9),
            )
        )
    return sessionmaker


async def test_messages_in_per_day_and_channel(seeded: async_sessionmaker[AsyncSession]) -> None:
    async with seeded() as session:
        rows = await volume(session, WEEK)
        only_web = await volume(session, Period(WEEK.since, WEEK.until, channel="web"))
    assert [(r.day, r.channel, r.messages) for r in rows] == [
        (date(2026, 11, 2), "web", 3),
        (date(2026, 11, 3), "telegram", 1),
        (date(2026, 11, 3), "web", 1),
    ]
    assert [(r.day, r.messages) for r in only_web] == [(date(2026, 11, 2), 3), (date(2026, 11, 3), 1)]


async def test_bot_outcomes_and_staff_replies(seeded: async_sessionmaker[AsyncSession]) -> None:
    async with seeded() as session:
        everything = await outcomes(session, WEEK)
        telegram = await outcomes(session, Period(WEEK.since, WEEK.until, channel="telegram"))
    assert (everything.answered, everything.declined, everything.escalated, everything.other, everything.staff) == (
        2,
        1,
        1,
        1,
        1,
    )
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
        counts = await open_cases(session, now=DAY2 + timedelta(hours=5), sla=Sla(timedelta(minutes=30)))
    assert counts.by_state == {"waiting": 2, "human": 1}
    assert counts.breached == 1  # k1 waited 45 minutes unanswered; k3 (3 h) has a staff reply since it opened


async def test_outcomes_per_day_classify_as_the_totals_do(seeded: async_sessionmaker[AsyncSession]) -> None:
    async with seeded() as session:
        days = await outcomes_by_day(session, WEEK)
        telegram = await outcomes_by_day(session, Period(WEEK.since, WEEK.until, channel="telegram"))
        total = await outcomes(session, WEEK)
    # WEEK starts the day before DAY1, which has no replies and so no row
    assert [(d.day, d.outcomes) for d in days] == [
        (date(2026, 11, 2), Outcomes(answered=1, declined=1, escalated=0, other=0, staff=0)),
        (date(2026, 11, 3), Outcomes(answered=1, declined=0, escalated=1, other=1, staff=1)),
    ]
    assert sum(d.outcomes.bot_replies for d in days) == total.bot_replies
    assert [(d.day, d.outcomes.answered, d.outcomes.staff, d.outcomes.bot_replies) for d in telegram] == [
        (date(2026, 11, 3), 1, 1, 1)
    ]


@pytest.fixture
async def replies(sessionmaker: async_sessionmaker[AsyncSession]) -> async_sessionmaker[AsyncSession]:
    """Customer messages and the bot's replies to them, 1, 2, 3, 4 and 10 s later on the web and
    7.5 s later on Telegram; cases answered by staff after 60 s (web) and 300 s (Telegram)."""
    async with sessionmaker.begin() as session:
        session.add(Contact(id="c1"))
        for channel in ("web", "telegram"):
            session.add(Conversation(id=f"conv-{channel}", contact_id="c1", channel=channel, chat_id="x"))
        await session.flush()

        async def message(channel: str, author: str, at: datetime, reply_to: Message | None = None) -> Message:
            row = Message(
                conversation_id=f"conv-{channel}",
                channel=channel,
                author=author,
                text="t",
                created_at=at,
                reply_to=None if reply_to is None else reply_to.id,
            )
            session.add(row)
            await session.flush()
            return row

        for minute, wait in enumerate((1, 2, 3, 4, 10)):
            asked = await message("web", "customer", DAY1 + timedelta(minutes=minute))
            if wait == 2:  # answered twice, the later reply written first: only the earliest counts
                await message("web", "bot", asked.created_at + timedelta(seconds=50), reply_to=asked)
            await message("web", "bot", asked.created_at + timedelta(seconds=wait), reply_to=asked)
        unanswered = await message("web", "customer", DAY1 + timedelta(minutes=10))
        await message("web", "staff", unanswered.created_at + timedelta(seconds=1), reply_to=unanswered)
        asked = await message("telegram", "customer", DAY2)
        await message("telegram", "bot", DAY2 + timedelta(seconds=7.5), reply_to=asked)
        before = await message("web", "customer", WEEK.since - timedelta(minutes=1))  # asked before the period
        await message("web", "bot", WEEK.since + timedelta(minutes=1), reply_to=before)

        opened = DAY1 + timedelta(hours=2)
        session.add(Case(id="k1", conversation_id="conv-web", state="closed", rule="r", reason="r", opened_at=opened))
        await message("web", "staff", opened + timedelta(seconds=60))
        await message("web", "staff", opened + timedelta(seconds=120))
        # opened after those staff replies and not answered since: not counted
        session.add(
            Case(
                id="k2",
                conversation_id="conv-web",
                state="waiting",
                rule="r",
                reason="r",
                opened_at=opened + timedelta(hours=1),
            )
        )
        session.add(
            Case(
                id="k3",
                conversation_id="conv-telegram",
                state="human",
                rule="r",
                reason="r",
                opened_at=DAY2 + timedelta(hours=1),
            )
        )
        await message("telegram", "staff", DAY2 + timedelta(hours=1, seconds=300))
        session.add(
            Case(
                id="k4",
                conversation_id="conv-telegram",
                state="closed",
                rule="r",
                reason="r",
                opened_at=WEEK.since - timedelta(hours=1),
            )
        )  # opened before the period
    return sessionmaker


async def test_first_response_median_and_p90_by_nearest_rank(replies: async_sessionmaker[AsyncSession]) -> None:
    async with replies() as session:
        web = await first_response(session, Period(WEEK.since, WEEK.until, channel="web"))
        everything = await first_response(session, WEEK)
        telegram = await first_response(session, Period(WEEK.since, WEEK.until, channel="telegram"))
    assert web.bot == Percentiles(count=5, median_s=3.0, p90_s=10.0)
    assert everything.bot == Percentiles(count=6, median_s=3.0, p90_s=10.0)  # ranks ceil(3) and ceil(5.4)
    assert telegram.bot == Percentiles(count=1, median_s=7.5, p90_s=7.5)
    assert everything.staff == Percentiles(count=2, median_s=60.0, p90_s=300.0)
    assert web.staff == Percentiles(count=1, median_s=60.0, p90_s=60.0)
    assert telegram.staff == Percentiles(count=1, median_s=300.0, p90_s=300.0)


async def test_first_response_with_nothing_to_measure(replies: async_sessionmaker[AsyncSession]) -> None:
    async with replies() as session:
        later = await first_response(session, Period(WEEK.until, WEEK.until + timedelta(days=1)))
    assert later.bot == later.staff == Percentiles(count=0, median_s=None, p90_s=None)


async def test_seconds_between_two_stored_timestamps(sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    async with sessionmaker.begin() as session:
        session.add(Contact(id="c1"))
        await session.flush()
        session.add(
            Conversation(
                id="v",
                contact_id="c1",
                channel="web",
                chat_id="x",
                created_at=DAY1,
                updated_at=DAY1 + timedelta(days=1, seconds=90.25),
            )
        )
    async with sessionmaker() as session:
        between = SecondsBetween(Conversation.updated_at, Conversation.created_at)
        seconds = (await session.execute(select(between))).scalar_one()
    assert float(seconds) == pytest.approx(86_490.25, abs=1e-3)


async def test_days_are_utc_days_whatever_the_database_sessions_time_zone(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    late = datetime(2026, 11, 22, 23, 30, tzinfo=UTC)
    async with sessionmaker.begin() as session:
        session.add(Contact(id="c1"))
        session.add(Conversation(id="conv", contact_id="c1", channel="web", chat_id="x"))
        await session.flush()
        session.add(Message(conversation_id="conv", channel="web", author="customer", text="t", created_at=late))
        session.add(Message(conversation_id="conv", channel="web", author="bot", text="t", created_at=late))
    async with sessionmaker() as session:
        if session.get_bind().dialect.name == "postgresql":
            await session.execute(text("SET TIME ZONE 'Asia/Tokyo'"))  # where it is already the 23rd
        period = Period(since=late - timedelta(hours=1), until=late + timedelta(hours=1))
        assert [row.day for row in await volume(session, period)] == [date(2026, 11, 22)]
        assert [row.day for row in await outcomes_by_day(session, period)] == [date(2026, 11, 22)]
