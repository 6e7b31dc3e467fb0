"""How the customers who met the team rated it, and how often the bot's answers settled the
question — two figures the overview shows beside the bot's 👍/👎, as SQL aggregations that read
the same on SQLite and PostgreSQL.

Definitions (the dashboard page states them, and docs/dashboard.md):
- *satisfaction*: the survey scores given in the period (`handoff.survey`: one question when a
  person resolves a case, 1 bad to 5 great): how many, their average, and the share that are a
  4 or a 5 (*satisfied*); beside them, how many surveys were asked in the period. Per staff
  member: the scores given in the period, credited to the person who had the case (its owner,
  else whoever resolved it). The channel filter applies to the customer's channel.
- *resolution rate*: of the bot's answers in the period — its replies that quote the help
  centre (the overview's *answered*: not a decline, not a handover) — the share that settled
  the question: no 👎 on the answer, and no case opened in its conversation within
  `RESOLUTION_WINDOW` after it and before the bot's next answer there (what follows a later
  answer is that answer's). A customer who asks for a person gets a case at once (the
  escalation policy's first rule, `handoff.policy`), so a request for a person counts through
  its case, as do the policy's other reasons (frustration, a keyword, questions it could not
  answer). An answer from the last day may still turn out unresolved: the rate of a period
  that ends now can only fall as its last answers' windows pass.

Why a request for a person is read from its case and not from the customer's messages: the
same answer for half the time. At a million messages (`tests/bench/bench_dashboard.py`'s year:
22,922 answers in the 30-day period, SQLite, the fastest of 9 runs on a busy 2-core machine)
the rate took 212 ms with its own look after each answer for a customer message with the intent
`human_request` (each look reads message rows: the intent is in no index) and 109 ms without,
beside 63 ms for the overview's outcomes over the same period.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import ColumnElement, Float, String, and_, case, cast, exists, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import QueryableAttribute, aliased

from core.admin.queries import Period, SecondsBetween
from core.messages import Author
from core.store.db import Feedback, Message
from handoff.survey import OPEN_FOR, SATISFIED
from handoff.tables import Case, CaseRating

RESOLUTION_WINDOW = OPEN_FOR
"""How long after an answer a request for a person or a case counts against it: a day, the
time a customer takes to try what the bot said and come back (the survey's window too)."""


@dataclass(frozen=True, slots=True)
class Satisfaction:
    ratings: int
    """Survey scores given in the period."""
    satisfied: int
    """Of them, 4 or 5."""
    average: float | None
    asked: int
    """Surveys asked in the period (cases resolved with the survey on)."""
    satisfied_share: float | None
    """`satisfied` ÷ `ratings`; None when nobody rated."""


@dataclass(frozen=True, slots=True)
class StaffSatisfaction:
    staff: str
    ratings: int
    satisfied: int
    average: float | None


@dataclass(frozen=True, slots=True)
class Resolution:
    answers: int
    resolved: int
    rate: float | None
    """`resolved` ÷ `answers`; None without answers."""


def _answered_in(period: Period) -> list[ColumnElement[bool]]:
    conditions = [CaseRating.answered_at >= period.since, CaseRating.answered_at < period.until]
    if period.channel is not None:
        conditions.append(CaseRating.channel == period.channel)
    return conditions


def _counts() -> tuple[ColumnElement[int], ColumnElement[int], ColumnElement[float]]:
    happy = func.coalesce(func.sum(case((CaseRating.score >= SATISFIED, 1), else_=0)), 0)
    return func.count(CaseRating.id), happy, func.avg(cast(CaseRating.score, Float))


async def satisfaction(session: AsyncSession, period: Period) -> Satisfaction:
    ratings, satisfied, average = (await session.execute(select(*_counts()).where(*_answered_in(period)))).one()
    asked_in = [CaseRating.asked_at >= period.since, CaseRating.asked_at < period.until]
    if period.channel is not None:
        asked_in.append(CaseRating.channel == period.channel)
    asked = (await session.execute(select(func.count()).select_from(CaseRating).where(*asked_in))).scalar_one()
    return Satisfaction(
        ratings=ratings,
        satisfied=int(satisfied),
        average=_two_places(average),
        asked=asked,
        satisfied_share=satisfied / ratings if ratings else None,
    )


async def satisfaction_by_staff(session: AsyncSession, period: Period) -> list[StaffSatisfaction]:
    """Each person's scores given in the period, most rated first."""
    ratings, satisfied, average = _counts()
    rows = await session.execute(
        select(CaseRating.staff, ratings, satisfied, average)
        .where(*_answered_in(period))
        .group_by(CaseRating.staff)
        .order_by(ratings.desc(), CaseRating.staff)
    )
    return [StaffSatisfaction(staff, n, int(happy), _two_places(mean)) for staff, n, happy, mean in rows]


def _is_answer(message: type[Message]) -> list[ColumnElement[bool]]:
    """A bot reply that quotes the help centre: the overview's *answered* (`queries._outcome`)."""
    return [
        message.author == Author.BOT,
        message.survey.is_(None),
        ~message.declined,
        ~message.handoff,
        cast(message.citations, String) != "[]",
    ]


async def resolution(session: AsyncSession, period: Period) -> Resolution:
    """The resolution rate (module docstring)."""
    answer, later = aliased(Message, name="answer"), aliased(Message, name="later")
    next_answer = (
        select(func.min(later.created_at))
        .where(later.conversation_id == answer.conversation_id, later.id > answer.id, *_is_answer(later))
        .correlate(answer)
        .scalar_subquery()
    )
    conditions = [*_is_answer(answer), answer.created_at >= period.since, answer.created_at < period.until]
    if period.channel is not None:
        conditions.append(answer.channel == period.channel)
    answers = (
        select(answer.id, answer.conversation_id, answer.created_at, next_answer.label("until"))
        .where(*conditions)
        .subquery("answers")
    )

    def after_it(at: QueryableAttribute[datetime]) -> ColumnElement[bool]:
        """Within the window after the answer and before the bot's next answer."""
        return and_(
            at >= answers.c.created_at,
            SecondsBetween(at, answers.c.created_at) < RESOLUTION_WINDOW.total_seconds(),
            or_(answers.c.until.is_(None), at < answers.c.until),
        )

    voted_down = exists().where(Feedback.message_id == answers.c.id, Feedback.rating == "down")
    case_opened = exists().where(Case.conversation_id == answers.c.conversation_id, after_it(Case.opened_at))
    unresolved = or_(case_opened, voted_down)
    total, resolved = (
        await session.execute(
            select(func.count(), func.coalesce(func.sum(case((unresolved, 0), else_=1)), 0)).select_from(answers)
        )
    ).one()
    return Resolution(answers=total, resolved=int(resolved), rate=resolved / total if total else None)


def _two_places(value: Decimal | float | None) -> float | None:
    return None if value is None else round(float(value), 2)
