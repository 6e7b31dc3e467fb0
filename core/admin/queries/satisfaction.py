"""How the customers who met the team rated it, and how often the bot's answers settled the
question — two figures the overview shows beside the bot's 👍/👎, read the same on SQLite and
PostgreSQL.

Definitions (the dashboard page states them, and docs/dashboard.md):
- *satisfaction*: the survey scores given in the period (`handoff.survey`: one question when a
  person resolves a case, 1 bad to 5 great): how many, their average, and the share that are a
  4 or a 5 (*satisfied*); beside them, how many surveys were asked in the period and how they
  stand: answered, lapsed (the customer wrote something else first, or a day passed) or still
  open. Per staff
  member: the scores given in the period, credited to the person who had the case (its owner,
  else whoever resolved it). The channel filter applies to the customer's channel.
- *resolution rate*: of the bot's answers in the period — its replies that quote the help
  centre (the overview's *answered*: not a decline, not a handover) — the share that look to have
  settled the question: no 👎 on the answer, no case opened in its conversation within
  `wrong_answers.RESOLUTION_WINDOW` (a day) after it and before the bot's next answer there (what follows a later
  answer is that answer's), and no sign that it was wrong (`core.admin.queries.wrong_answers`: the
  customer said it did not help, asked again, or left after a weak match). A customer who asks
  for a person gets a case at once (the escalation policy's first rule, `core.handoff.policy`), so a
  request for a person counts through its case, as do the policy's other reasons (frustration,
  a keyword, questions it could not answer). Beside the rate, what the hub cannot know: of the
  answers that look resolved, those after which the customer wrote nothing — helped, or gone.
  An answer from the last day may still turn out unresolved: the rate of a period that ends now
  can still change as its last answers' windows pass.

Each answer is read as one row (`wrong_answers.followed_answers`, which says what that costs)
and judged in Python: the signals read the customer's words, which no SQL of both databases
reads alike. A request for a
person is read from its case, not from the customer's messages, for the time it saves: at a
million messages (`tests/bench/bench_dashboard.py`'s year: 22,922 answers in the 30-day period,
SQLite) the rate as one SQL count took 212 ms with its own look after each answer for a message
with the intent `human_request` and 109 ms without.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import ColumnElement, Float, and_, case, cast, exists, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from core.admin.queries.overview import Period
from core.admin.queries.wrong_answers import followed_answers
from core.handoff.survey import OPEN_FOR, SATISFIED
from core.messages import Author
from core.store.case_tables import CaseRating
from core.store.db import Message


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
    answered: int = 0
    """Of `asked`, those answered (by now)."""
    lapsed: int = 0
    """Of `asked`, those that can no longer be answered: the customer wrote something else
    first, or `OPEN_FOR` passed (`core.handoff.survey`)."""
    still_open: int = 0
    """Of `asked`, those still waiting for a rating."""


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
    """No 👎, no case and no sign that it was wrong."""
    looks_wrong: int
    """A signal says it was wrong (`core.admin.queries.wrong_answers`), whatever else followed."""
    escalated_or_down: int
    """A case or a 👎 followed, and no signal."""
    left_silent: int
    """Of `resolved`: the customer wrote nothing after it — the hub cannot know whether it helped."""
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


async def satisfaction(session: AsyncSession, period: Period, *, now: datetime) -> Satisfaction:
    """The period's ratings, and its surveys as they stand at `now`: answered, lapsed, open."""
    ratings, satisfied, average = (await session.execute(select(*_counts()).where(*_answered_in(period)))).one()
    asked_in = [CaseRating.asked_at >= period.since, CaseRating.asked_at < period.until]
    if period.channel is not None:
        asked_in.append(CaseRating.channel == period.channel)
    wrote_since = exists().where(
        Message.conversation_id == CaseRating.conversation_id,
        Message.author == Author.CUSTOMER,
        Message.id > CaseRating.message_id,
    )
    lapsed = and_(CaseRating.answered_at.is_(None), or_(CaseRating.asked_at <= now - OPEN_FOR, wrote_since))
    asked, answered, gone = (
        await session.execute(
            select(
                func.count(),
                func.coalesce(func.sum(case((CaseRating.answered_at.is_not(None), 1), else_=0)), 0),
                func.coalesce(func.sum(case((lapsed, 1), else_=0)), 0),
            ).where(*asked_in)
        )
    ).one()
    return Satisfaction(
        ratings=ratings,
        satisfied=int(satisfied),
        average=_two_places(average),
        asked=asked,
        satisfied_share=satisfied / ratings if ratings else None,
        answered=int(answered),
        lapsed=int(gone),
        still_open=asked - int(answered) - int(gone),
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


async def resolution(session: AsyncSession, period: Period, *, bar: float) -> Resolution:
    """The resolution rate (module docstring); `bar`: the hub's answer bar, for the weak matches."""
    found = await followed_answers(session, period)
    looks_wrong = escalated_or_down = left_silent = 0
    for answer in found:
        if answer.signal(bar=bar) is not None:
            looks_wrong += 1
        elif answer.escalated_or_down:
            escalated_or_down += 1
        elif not answer.followed:
            left_silent += 1
    resolved = len(found) - looks_wrong - escalated_or_down
    return Resolution(
        answers=len(found),
        resolved=resolved,
        looks_wrong=looks_wrong,
        escalated_or_down=escalated_or_down,
        left_silent=left_silent,
        rate=resolved / len(found) if found else None,
    )


def _two_places(value: Decimal | float | None) -> float | None:
    return None if value is None else round(float(value), 2)
