"""Satisfaction and the resolution rate on seeded rows with known answers, on SQLite and
PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.admin.queries.overview import Period
from core.admin.queries.satisfaction import (
    Resolution,
    Satisfaction,
    StaffSatisfaction,
    resolution,
    satisfaction,
    satisfaction_by_staff,
)
from core.store.case_tables import Case, CaseRating
from core.store.db import Contact, Conversation, Feedback, Message

pytestmark = pytest.mark.postgres

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
WEEK = Period(since=T0 - timedelta(days=1), until=T0 + timedelta(days=6))
CITED = [{"source": "faq.md", "title": "FAQ", "section": "FAQ", "score": 0.7}]
BAR = 0.55
"""The answer bar the weak matches are measured against (answer.min_match's default)."""


@pytest.fixture
async def seeded(sessionmaker: async_sessionmaker[AsyncSession]) -> async_sessionmaker[AsyncSession]:
    async with sessionmaker.begin() as session:
        session.add(Contact(id="c1"))
        channels = {"web": "web", "tg": "telegram", "x": "web", "y": "web", "z": "web"}
        for name, channel in channels.items():
            session.add(Conversation(id=name, contact_id="c1", channel=channel, chat_id=name))
        await session.flush()

        def message(conversation: str, author: str, at: datetime, **fields: object) -> Message:
            row = Message(
                conversation_id=conversation, channel=channels[conversation], author=author, text="t", created_at=at
            )
            for key, value in fields.items():
                setattr(row, key, value)
            session.add(row)
            return row

        def answer(conversation: str, at: datetime) -> Message:
            return message(conversation, "bot", at, citations=CITED)

        def case(case_id: str, conversation: str, at: datetime) -> None:
            session.add(
                Case(id=case_id, conversation_id=conversation, state="closed", rule="r", reason="r", opened_at=at)
            )

        # web: a1 is settled by a2 (the next answer); the request for a person (and so its case) is a2's
        answer("web", T0)
        answer("web", T0 + timedelta(hours=1))
        message("web", "customer", T0 + timedelta(hours=2), intent="human_request")
        case("k-web", "web", T0 + timedelta(hours=2))
        # telegram: a 👎 on a3; a4's case comes 30 h later, past the window
        voted = answer("tg", T0)
        answer("tg", T0 + timedelta(hours=3))
        case("k-late", "tg", T0 + timedelta(hours=33))
        # x: a case opened 5 h after a5, with no request for a person
        answer("x", T0)
        case("k-x", "x", T0 + timedelta(hours=5))
        # y: a7's request for a person comes 25 h later; a case from before it does not count
        case("k-before", "y", T0 - timedelta(hours=1))
        answer("y", T0)
        message("y", "customer", T0 + timedelta(hours=25), intent="human_request")
        case("k-y", "y", T0 + timedelta(hours=25))
        # z: nothing here is an answer of the period
        answer("z", WEEK.since - timedelta(hours=1))  # before the period
        message("z", "bot", T0, declined=True, handoff=True)
        message("z", "bot", T0, handoff=True, citations=CITED)  # an answer that handed over
        message("z", "bot", T0)  # small talk
        message("z", "bot", T0, survey="question")
        await session.flush()
        session.add(Feedback(message_id=voted.id, rating="down", created_at=T0))

        ratings: list[tuple[str, str, Message, str, int | None, datetime]] = []

        def rating(case_id: str, conversation: str, staff: str, score: int | None, at: datetime) -> None:
            """A resolved case's survey (stored once the questions have their ids)."""
            case(case_id, conversation, WEEK.since - timedelta(days=3))  # long before any answer here
            question = message(conversation, "bot", at, survey="question")
            ratings.append((case_id, conversation, question, staff, score, at))

        rating("r1", "web", "U0SAM", 5, T0)
        rating("r2", "x", "U0SAM", 3, T0 + timedelta(hours=1))
        rating("r3", "tg", "U0KIM", 4, T0 + timedelta(days=1))
        rating("r4", "y", "U0KIM", None, T0 + timedelta(days=1))
        rating("r5", "z", "U0SAM", 1, WEEK.since - timedelta(days=2))
        await session.flush()
        for case_id, conversation, question, staff, score, at in ratings:
            session.add(
                CaseRating(
                    case_id=case_id,
                    conversation_id=conversation,
                    message_id=question.id,
                    staff=staff,
                    channel=channels[conversation],
                    score=score,
                    asked_at=at,
                    answered_at=at + timedelta(minutes=5) if score is not None else None,
                )
            )
    return sessionmaker


async def test_the_resolution_rate_counts_answers_not_followed_by_a_person_a_case_or_a_thumb_down(
    seeded: async_sessionmaker[AsyncSession],
) -> None:
    async with seeded() as session:
        everything = await resolution(session, WEEK, bar=BAR)
        telegram = await resolution(session, Period(WEEK.since, WEEK.until, channel="telegram"), bar=BAR)
        nothing = await resolution(session, Period(WEEK.until, WEEK.until + timedelta(days=1)), bar=BAR)
    # a1, a4, a7 of a1–a5, a7; nobody wrote after a4 and a7 (a7's customer only 25 h later)
    assert everything == Resolution(answers=6, resolved=3, looks_wrong=0, escalated_or_down=3, left_silent=2, rate=0.5)
    assert telegram == Resolution(answers=2, resolved=1, looks_wrong=0, escalated_or_down=1, left_silent=1, rate=0.5)
    assert nothing == Resolution(answers=0, resolved=0, looks_wrong=0, escalated_or_down=0, left_silent=0, rate=None)


async def test_satisfaction_is_the_scores_given_in_the_period(seeded: async_sessionmaker[AsyncSession]) -> None:
    soon = T0 + timedelta(days=1, hours=1)  # r4, asked an hour ago, is still open
    async with seeded() as session:
        everything = await satisfaction(session, WEEK, now=soon)
        telegram = await satisfaction(session, Period(WEEK.since, WEEK.until, channel="telegram"), now=soon)
        nothing = await satisfaction(session, Period(WEEK.until, WEEK.until + timedelta(days=1)), now=soon)
    assert everything == Satisfaction(
        ratings=3, satisfied=2, average=4.0, asked=4, satisfied_share=2 / 3, answered=3, lapsed=0, still_open=1
    )
    assert telegram == Satisfaction(
        ratings=1, satisfied=1, average=4.0, asked=1, satisfied_share=1.0, answered=1, lapsed=0, still_open=0
    )
    assert nothing == Satisfaction(ratings=0, satisfied=0, average=None, asked=0, satisfied_share=None)


async def test_a_survey_lapses_when_the_customer_writes_something_else_or_a_day_passes(
    seeded: async_sessionmaker[AsyncSession],
) -> None:
    soon, later = T0 + timedelta(days=1, hours=1), T0 + timedelta(days=2, hours=1)
    async with seeded() as session:
        waited_out = await satisfaction(session, WEEK, now=later)
    assert (waited_out.asked, waited_out.answered, waited_out.lapsed, waited_out.still_open) == (4, 3, 1, 0)
    async with seeded.begin() as session:  # r4's customer writes something else before rating
        session.add(Message(conversation_id="y", channel="web", author="customer", text="hi again", created_at=soon))
    async with seeded() as session:
        wrote = await satisfaction(session, WEEK, now=soon)
    assert (wrote.asked, wrote.answered, wrote.lapsed, wrote.still_open) == (4, 3, 1, 0)


async def test_satisfaction_per_staff_member_most_rated_first(seeded: async_sessionmaker[AsyncSession]) -> None:
    async with seeded() as session:
        rows = await satisfaction_by_staff(session, WEEK)
    assert rows == [StaffSatisfaction("U0SAM", 2, 1, 4.0), StaffSatisfaction("U0KIM", 1, 1, 4.0)]
