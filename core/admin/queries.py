"""What the dashboard shows, as SQL aggregations: the database counts, the page only renders.

Definitions (the README's dashboard section says the same):
- messages in: customer messages, by the channel they came in on and their UTC day;
- a bot reply is *declined* when the knowledge base had no answer (a person was offered),
  *escalated* when it hands the conversation to a person (`handoff` without a decline),
  *answered* when it cites at least one source, otherwise *other* (small talk, memory);
- *staff replies*: messages a person wrote from the staff desk;
- *helpfulness*: thumbs up ÷ (up + down) over the feedback given in the period;
- open cases by state, and how many of them are past `handoff.sla_minutes` with no reply from
  staff yet — the cases the SLA job reminds staff of and /metrics counts
  (`handoff.desk_store.past_sla`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import ColumnElement, String, case, cast, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from core.db import Case, Feedback, Message
from handoff.cases import OPEN_STATES
from handoff.desk_store import past_sla


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
class Helpfulness:
    up: int
    down: int

    @property
    def share(self) -> float | None:
        """Thumbs up ÷ all thumbs; None when nobody rated."""
        return self.up / (self.up + self.down) if self.up + self.down else None


@dataclass(frozen=True, slots=True)
class CaseCounts:
    by_state: dict[str, int]
    breached: int
    """Open past the SLA with no reply from staff yet."""


def _in(period: Period, created_at: InstrumentedAttribute[datetime]) -> list[ColumnElement[bool]]:
    conditions = [created_at >= period.since, created_at < period.until]
    if period.channel is not None:
        conditions.append(Message.channel == period.channel)
    return conditions


async def volume(session: AsyncSession, period: Period) -> list[DayVolume]:
    """Customer messages per UTC day and channel, oldest day first."""
    day = func.date(Message.created_at)
    rows = await session.execute(
        select(day, Message.channel, func.count())
        .where(Message.author == "customer", *_in(period, Message.created_at))
        .group_by(day, Message.channel)
        .order_by(day, Message.channel)
    )
    return [DayVolume(_as_date(d), channel, count) for d, channel, count in rows]


def _as_date(value: object) -> date:
    """SQLite's date() gives text, PostgreSQL's a date."""
    return value if isinstance(value, date) else date.fromisoformat(str(value))


async def outcomes(session: AsyncSession, period: Period) -> Outcomes:
    """How the bot's replies in the period ended, and how many replies staff wrote."""
    cited = cast(Message.citations, String) != "[]"
    kind = case(
        (Message.author == "staff", "staff"),
        (Message.declined, "declined"),
        (Message.handoff, "escalated"),
        (cited, "answered"),
        else_="other",
    )
    rows = await session.execute(
        select(kind, func.count())
        .where(Message.author.in_(("bot", "staff")), *_in(period, Message.created_at))
        .group_by(kind)
    )
    counts: dict[str, int] = {name: n for name, n in rows}
    return Outcomes(**{name: counts.get(name, 0) for name in ("answered", "declined", "escalated", "other", "staff")})


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


async def open_cases(session: AsyncSession, *, now: datetime, sla: timedelta) -> CaseCounts:
    """Open cases by state, and those past the SLA that no one from staff has answered."""
    rows = await session.execute(
        select(Case.state, func.count(), func.sum(case((past_sla(now - sla), 1), else_=0)))
        .where(Case.state.in_(OPEN_STATES))
        .group_by(Case.state)
    )
    by_state = {str(state): 0 for state in OPEN_STATES}
    breached = 0
    for state, count, late in rows:
        by_state[state] = count
        breached += int(late or 0)
    return CaseCounts(by_state, breached)
