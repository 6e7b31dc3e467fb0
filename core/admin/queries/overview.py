"""What the dashboard shows, as SQL aggregations: the database counts, the page only renders.

Definitions (the README's dashboard section says the same):
- messages in: customer messages, by the channel they came in on and their UTC day;
- the satisfaction survey's messages (its question, its thanks) are no replies here;
- a bot reply is *declined* when the knowledge base had no answer (a person was offered),
  *escalated* when it hands the conversation to a person (`handoff` without a decline),
  *answered* when it cites at least one source, otherwise *other* (small talk, memory);
- *staff replies*: messages a person wrote from the staff desk;
- *helpfulness*: thumbs up ÷ (up + down) over the feedback given in the period;
- open cases by state, and how many of them are past `handoff.sla_minutes` with no reply from
  staff yet — the cases the SLA job reminds staff of and /metrics counts
  (`core.handoff.desk_store.past_sla`);
- *bot first response*: for each customer message of the period that the bot replied to (a bot
  message whose `reply_to` is it), the seconds from the customer message to the bot's earliest
  reply to it; customer messages the bot did not reply to (a person has the conversation) are
  not counted;
- *staff first response*: for each case opened in the period, the seconds from its opening to the
  first staff message in its conversation at or after the opening; cases nobody from staff has
  answered yet are not counted (the open ones show in the SLA breaches instead);
- the channel filter applies to the customer message's channel (bot) and to the case's
  conversation's channel (staff);
- median and p90 are nearest-rank percentiles (the p-th percentile of n durations is the one
  at rank ceil(p·n) in ascending order: always a duration that occurred), computed in the
  database; durations are to the millisecond (SQLite's date functions keep no more).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, Date, Float, String, Subquery, case, cast, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import QueryableAttribute, aliased
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

from core.handoff.cases import OPEN_STATES
from core.handoff.desk_store import past_sla
from core.handoff.hours import Sla
from core.messages import Author
from core.store.case_tables import Case, CaseState
from core.store.db import Conversation, Feedback, Message


@dataclass(frozen=True, slots=True)
class Period:
    """[since, until) in UTC, and the channel it is narrowed to (None: all)."""

    since: datetime
    until: datetime
    channel: str | None = None


@dataclass(frozen=True, slots=True)
class DayVolume:
    day: date
    channel: str
    messages: int


@dataclass(frozen=True, slots=True)
class Outcomes:
    answered: int
    declined: int
    escalated: int
    other: int
    staff: int

    @property
    def bot_replies(self) -> int:
        return self.answered + self.declined + self.escalated + self.other


@dataclass(frozen=True, slots=True)
class DayOutcomes:
    """`Outcomes` of one UTC day."""

    day: date
    outcomes: Outcomes


@dataclass(frozen=True, slots=True)
class Helpfulness:
    up: int
    down: int

    @property
    def share(self) -> float | None:
        """Thumbs up ÷ all thumbs; None when nobody rated."""
        return self.up / (self.up + self.down) if self.up + self.down else None


@dataclass(frozen=True, slots=True)
class CaseCounts:
    by_state: dict[CaseState, int]
    breached: int
    """Open past the SLA with no reply from staff yet."""


@dataclass(frozen=True, slots=True)
class Percentiles:
    """Nearest-rank median and p90 of `count` durations in seconds; None when there are none."""

    count: int
    median_s: float | None
    p90_s: float | None


@dataclass(frozen=True, slots=True)
class FirstResponse:
    bot: Percentiles
    staff: Percentiles


OUTCOME_NAMES = ("answered", "declined", "escalated", "other", "staff")


def _in(
    period: Period,
    created_at: QueryableAttribute[datetime],
    channel: QueryableAttribute[str] = Message.channel,
) -> list[ColumnElement[bool]]:
    conditions = [created_at >= period.since, created_at < period.until]
    if period.channel is not None:
        conditions.append(channel == period.channel)
    return conditions


async def volume(session: AsyncSession, period: Period) -> list[DayVolume]:
    """Customer messages per UTC day and channel, oldest day first."""
    day = UtcDay(Message.created_at)
    rows = await session.execute(
        select(day, Message.channel, func.count())
        .where(Message.author == Author.CUSTOMER, *_in(period, Message.created_at))
        .group_by(day, Message.channel)
        .order_by(day, Message.channel)
    )
    return [DayVolume(_as_date(d), channel, count) for d, channel, count in rows]


def _as_date(value: object) -> date:
    """SQLite's date() gives text, PostgreSQL's a date."""
    return value if isinstance(value, date) else date.fromisoformat(str(value))


def _outcome() -> ColumnElement[str]:
    """What a bot or staff message was, as one of `OUTCOME_NAMES` (the order of the checks is the
    definition: a decline offers a person too, so it is checked before the handoff)."""
    cited = cast(Message.citations, String) != "[]"
    return case(
        (Message.author == Author.STAFF, "staff"),
        (Message.declined, "declined"),
        (Message.handoff, "escalated"),
        (cited, "answered"),
        else_="other",
    )


def _replies(period: Period) -> list[ColumnElement[bool]]:
    """Bot and staff messages of the period, but for the satisfaction survey's (asked and thanked
    by the hub itself, `core.admin.queries.satisfaction` counts them)."""
    return [Message.author.in_((Author.BOT, Author.STAFF)), Message.survey.is_(None), *_in(period, Message.created_at)]


async def outcomes(session: AsyncSession, period: Period) -> Outcomes:
    """How the bot's replies in the period ended, and how many replies staff wrote."""
    kind = _outcome()
    rows = await session.execute(select(kind, func.count()).where(*_replies(period)).group_by(kind))
    counts: dict[str, int] = {name: n for name, n in rows}
    return Outcomes(**{name: counts.get(name, 0) for name in OUTCOME_NAMES})


async def outcomes_by_day(session: AsyncSession, period: Period) -> list[DayOutcomes]:
    """`outcomes` per UTC day, oldest first; a day without bot or staff replies is absent."""
    day, kind = UtcDay(Message.created_at), _outcome()
    rows = await session.execute(
        select(day, kind, func.count()).where(*_replies(period)).group_by(day, kind).order_by(day)
    )
    days: dict[date, dict[str, int]] = {}
    for d, name, n in rows:
        days.setdefault(_as_date(d), {})[name] = n
    return [
        DayOutcomes(d, Outcomes(**{name: counts.get(name, 0) for name in OUTCOME_NAMES})) for d, counts in days.items()
    ]


async def helpfulness(session: AsyncSession, period: Period) -> Helpfulness:
    """Thumbs given in the period on replies of the period's channel."""
    rows = await session.execute(
        select(Feedback.rating, func.count())
        .join(Message, Message.id == Feedback.message_id)
        .where(*_in(period, Feedback.created_at))
        .group_by(Feedback.rating)
    )
    counts: dict[str, int] = {rating: n for rating, n in rows}
    return Helpfulness(up=counts.get("up", 0), down=counts.get("down", 0))


async def open_cases(session: AsyncSession, *, now: datetime, sla: Sla) -> CaseCounts:
    """Open cases by state, and those past the SLA that no one from staff has answered."""
    rows = await session.execute(
        select(Case.state, func.count(), func.sum(case((past_sla(sla.opened_before(now)), 1), else_=0)))
        .where(Case.state.in_(OPEN_STATES))
        .group_by(Case.state)
    )
    by_state = dict.fromkeys(OPEN_STATES, 0)
    breached = 0
    for state, count, late in rows:
        by_state[state] = count
        breached += int(late or 0)
    return CaseCounts(by_state, breached)


class UtcDay(FunctionElement[date]):
    """`UtcDay(timestamp)`: the UTC day of a stored time. PostgreSQL's date() of a timestamptz
    takes the session's time zone (a 23:30 UTC message is tomorrow in Tokyo); SQLite stores
    UTC text."""

    type = Date()
    inherit_cache = True


@compiles(UtcDay)
def _utc_day_on_postgresql(element: UtcDay, compiler: SQLCompiler, **kw: Any) -> str:
    return f"date(timezone('UTC', {compiler.process(element.clauses, **kw)}))"


@compiles(UtcDay, "sqlite")
def _utc_day_on_sqlite(element: UtcDay, compiler: SQLCompiler, **kw: Any) -> str:
    return f"date({compiler.process(element.clauses, **kw)})"


class SecondsBetween(FunctionElement[float]):
    """`SecondsBetween(later, earlier)`: the seconds from one timestamp column to another, in
    SQL — PostgreSQL subtracts timestamps; SQLite stores them as text its date functions read."""

    type = Float()
    inherit_cache = True


@compiles(SecondsBetween)
def _seconds_on_postgresql(element: SecondsBetween, compiler: SQLCompiler, **kw: Any) -> str:
    later, earlier = (compiler.process(clause, **kw) for clause in element.clauses)
    return f"EXTRACT(EPOCH FROM ({later}) - ({earlier}))"


@compiles(SecondsBetween, "sqlite")
def _seconds_on_sqlite(element: SecondsBetween, compiler: SQLCompiler, **kw: Any) -> str:
    later, earlier = (compiler.process(clause, **kw) for clause in element.clauses)
    return f"(julianday({later}) - julianday({earlier})) * 86400"


async def first_response(session: AsyncSession, period: Period) -> FirstResponse:
    """How long customers waited for the bot's first reply and for staff's (module docstring)."""
    return FirstResponse(
        bot=await _percentiles(session, _bot_waits(period)),
        staff=await _percentiles(session, _staff_waits(period)),
    )


def _bot_waits(period: Period) -> Subquery:
    """One row per answered customer message of the period: seconds until the earliest bot reply."""
    asked, reply = aliased(Message), aliased(Message)
    return (
        select(func.min(SecondsBetween(reply.created_at, asked.created_at)).label("seconds"))
        .join_from(asked, reply, reply.reply_to == asked.id)
        .where(
            asked.author == Author.CUSTOMER,
            reply.author == Author.BOT,
            reply.survey.is_(None),  # a thanks for a rating answers no question
            *_in(period, asked.created_at, asked.channel),
        )
        .group_by(asked.id)
        .subquery()
    )


def _staff_waits(period: Period) -> Subquery:
    """One row per case opened in the period that staff answered: seconds until the first answer.

    Asked per case (a correlated min over its conversation's staff messages, read from
    `ix_messages_conversation_author`) rather than as a join: SQLite planned the join from every
    staff message ever written, 1.2 s at a million messages against 45 ms this way."""
    first_answer = (
        select(func.min(Message.created_at))
        .where(
            Message.conversation_id == Case.conversation_id,
            Message.author == Author.STAFF,
            Message.created_at >= Case.opened_at,
        )
        .correlate(Case)
        .scalar_subquery()
    )
    answered = (
        select(Case.opened_at, first_answer.label("answered_at"))
        .join(Conversation, Conversation.id == Case.conversation_id)
        .where(*_in(period, Case.opened_at, Conversation.channel))
        .subquery()
    )
    return (
        select(SecondsBetween(answered.c.answered_at, answered.c.opened_at).label("seconds"))
        .where(answered.c.answered_at.is_not(None))
        .subquery()
    )


async def _percentiles(session: AsyncSession, waits: Subquery) -> Percentiles:
    """Count, median and p90 of `waits.seconds` in one query: the durations are ranked once and
    the nearest ranks, ceil(n/2) and ceil(9n/10), picked out (integer division rounds down, hence
    the added 1 and 9). SQLite has no percentile function, and this reads the same on both."""
    seconds = waits.c.seconds
    ranked = select(
        seconds,
        func.row_number().over(order_by=seconds).label("rank"),
        func.count().over().label("n"),
    ).subquery()

    def at(rank: ColumnElement[int]) -> ColumnElement[float]:
        return func.max(case((ranked.c.rank == rank, ranked.c.seconds)))

    n = ranked.c.n
    count, median, p90 = (
        await session.execute(select(func.count(), at((n + 1) // 2), at((9 * n + 9) // 10)).select_from(ranked))
    ).one()
    return Percentiles(count, _ms(median), _ms(p90))


def _ms(seconds: Decimal | float | None) -> float | None:
    """PostgreSQL's epoch is a numeric; SQLite's a float a few microseconds off its milliseconds."""
    return None if seconds is None else round(float(seconds), 3)
