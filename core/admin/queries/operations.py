"""What the dashboard's Cases, Knowledge and Status pages show: each function is a fixed, small
number of queries, whatever the size of the tables.

- the case queue: open cases oldest first, with their age and whether they are past
  `handoff.sla_minutes` by the SLA job's own definition (`core.handoff.desk_store.past_sla`);
- the knowledge base's documents, its recent index runs with the files they skipped and why,
  and its index version;
- per push channel, the last successful delivery and the replies still pending or dead;
  dead letters, through `core.store.dead_letters` (what `supporthub outbox` uses; the Status page
  re-queues one with its `requeue`).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, case, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from core.handoff.cases import OPEN_STATES
from core.handoff.desk_store import past_sla
from core.handoff.hours import Sla
from core.ops.metrics_snapshot import undelivered_by_channel
from core.store.case_tables import Case, Team
from core.store.db import Conversation, OutboxItem
from core.store.dead_letters import UndeliveredReply, held, undelivered
from knowledge.tables import IndexRun, IndexVersion, KnowledgeDocument, SkippedFile


@dataclass(frozen=True, slots=True)
class QueuedCase:
    id: str
    conversation_id: str
    channel: str
    state: str
    rule: str
    reason: str
    owner: str | None
    opened_at: datetime
    age: timedelta
    """Open for this long: until `now`, or until it closed."""
    sla_breached: bool
    """Open past the SLA with no reply from staff since it opened (`past_sla`)."""
    due_at: datetime
    """When its SLA runs out (has run out): `handoff.sla_minutes` of business time after it opened."""
    waiting_on_staff: bool
    """Open with no reply from staff since it opened, however long ago that was."""
    desk_ref: str | None
    """The case card's message on the staff desk (its Slack ts); None until posted."""
    closed_at: datetime | None = None
    language: str | None = None
    """The language the customer needs (ISO 639-1); None when no message was sure of one."""
    team: str | None = None
    """The team whose queue holds it (`core.handoff.routing`); None: everyone's."""


@dataclass(frozen=True, slots=True)
class TeamScope:
    """Which queues someone sees: the cases of the teams named, and with `unteamed` the cases of
    no team (everyone's queue)."""

    teams: frozenset[str]
    unteamed: bool = True

    def allows(self, team: str | None) -> bool:
        return team in self.teams if team is not None else self.unteamed

    def holds(self) -> ColumnElement[bool]:
        """The condition on `Case` of a case in these queues."""
        in_teams = Case.team_id.in_(select(Team.id).where(Team.name.in_(self.teams)))
        return or_(in_teams, Case.team_id.is_(None)) if self.unteamed else in_teams


@dataclass(frozen=True, slots=True)
class DocumentRow:
    source: str
    title: str
    chunk_count: int
    updated_at: datetime
    origin: str
    """Which run manages it (`knowledge.ingest.origins`)."""
    url: str | None
    missing_since: datetime | None
    """A web page found gone at this time: removed once its source's grace period has passed."""


@dataclass(frozen=True, slots=True)
class RunRow:
    id: int
    trigger: str
    started_at: datetime
    finished_at: datetime | None
    """None while the run is under way (or when its process died during it)."""
    added: int
    changed: int
    removed: int
    unchanged: int
    seconds: float | None
    error: str | None
    skipped: tuple[SkippedFile, ...]
    progress: str | None = None
    """What a run under way is doing ("crawling help: 300 of 1000 pages")."""


@dataclass(frozen=True, slots=True)
class ChannelDelivery:
    channel: str
    last_sent_at: datetime | None
    """The last reply the platform accepted; None when none has been yet."""
    pending: int
    dead: int
    held: int = 0
    """Replies the platform takes only once the customer writes again (WhatsApp's 24-hour rule)."""


async def case_queue(
    session: AsyncSession,
    *,
    now: datetime,
    sla: Sla,
    include_closed: bool = False,
    limit: int = 200,
    case_ids: Collection[str] | None = None,
    scope: TeamScope | None = None,
) -> list[QueuedCase]:
    """Open cases, oldest first; with `include_closed`, then the others, most recent first.
    `case_ids`: those cases only; `scope`: those queues only (None: every queue).

    "Waiting on staff" is `past_sla` with the SLA at zero: open, opened by `now`, and no staff
    reply since — the same test, so a breached case is always one waiting on staff."""
    is_open = Case.state.in_(OPEN_STATES)
    query = (
        select(
            Case,
            Conversation.channel,
            past_sla(sla.opened_before(now)).label("breached"),
            past_sla(now).label("waiting"),
            Team.name,
        )
        .join(Conversation, Conversation.id == Case.conversation_id)
        .outerjoin(Team, Team.id == Case.team_id)
        .limit(limit)
    )
    if case_ids is not None:
        query = query.where(Case.id.in_(list(case_ids)))
    if scope is not None:
        query = query.where(scope.holds())
    if include_closed:
        query = query.order_by(case((is_open, 0), else_=1), case((is_open, Case.opened_at)), Case.opened_at.desc())
    else:
        query = query.where(is_open).order_by(Case.opened_at, Case.id)
    return [
        QueuedCase(
            id=row.id,
            conversation_id=row.conversation_id,
            channel=channel,
            state=row.state,
            rule=row.rule,
            reason=row.reason,
            owner=row.owner,
            opened_at=row.opened_at,
            age=(row.closed_at if row.closed_at is not None and row.state not in OPEN_STATES else now) - row.opened_at,
            sla_breached=bool(breached),
            due_at=sla.due_at(row.opened_at),
            waiting_on_staff=bool(waiting),
            desk_ref=row.desk_ref,
            closed_at=row.closed_at,
            language=row.language,
            team=team,
        )
        for row, channel, breached, waiting, team in await session.execute(query)
    ]


async def documents(session: AsyncSession) -> list[DocumentRow]:
    """Every document in the knowledge base, by source."""
    rows = await session.execute(
        select(
            KnowledgeDocument.source,
            KnowledgeDocument.title,
            KnowledgeDocument.chunk_count,
            KnowledgeDocument.updated_at,
            KnowledgeDocument.origin,
            KnowledgeDocument.url,
            KnowledgeDocument.missing_since,
        ).order_by(KnowledgeDocument.source)
    )
    return [
        DocumentRow(
            source=row.source,
            title=row.title,
            chunk_count=row.chunk_count,
            updated_at=row.updated_at,
            origin=row.origin,
            url=row.url,
            missing_since=row.missing_since,
        )
        for row in rows
    ]


async def index_runs(session: AsyncSession, *, limit: int = 20) -> list[RunRow]:
    """The latest index runs, newest first, with the files each skipped and why."""
    runs = await session.scalars(select(IndexRun).order_by(IndexRun.started_at.desc(), IndexRun.id.desc()).limit(limit))
    return [
        RunRow(
            run.id,
            run.trigger,
            run.started_at,
            run.finished_at,
            run.added,
            run.changed,
            run.removed,
            run.unchanged,
            run.seconds,
            run.error,
            tuple(run.skipped_files),
            run.progress,
        )
        for run in runs
    ]


async def index_version(session: AsyncSession, collection: str) -> str | None:
    """The collection's current index version; None before its first run changed anything."""
    return await session.scalar(select(IndexVersion.version).where(IndexVersion.collection == collection))


async def delivery_status(session: AsyncSession) -> list[ChannelDelivery]:
    """Each channel that has ever queued a reply, by name: its last delivery, and its replies
    still pending or dead.

    Two queries that stay fast on a large outbox: the channels are found by skipping through
    an index (a recursive query, one lookup per channel) and each one's last delivery is the
    end of its `ix_outbox_sent` range; the counts read only the pending and dead rows
    (`ix_outbox_due`), a few against all the sent ones."""
    seen = select(func.min(OutboxItem.channel).label("channel")).cte("seen", recursive=True)
    following = select(func.min(OutboxItem.channel)).where(OutboxItem.channel > seen.c.channel).scalar_subquery()
    seen = seen.union_all(select(following).where(seen.c.channel.is_not(None)))
    last_sent = select(func.max(OutboxItem.sent_at)).where(OutboxItem.channel == seen.c.channel).scalar_subquery()
    channels = (
        await session.execute(
            select(seen.c.channel, last_sent).where(seen.c.channel.is_not(None)).order_by(seen.c.channel)
        )
    ).all()
    pending, dead, held = await undelivered_by_channel(await session.connection())
    return [
        ChannelDelivery(channel, sent_at, pending.get(channel, 0), dead.get(channel, 0), held.get(channel, 0))
        for channel, sent_at in channels
    ]


async def held_replies(session: AsyncSession, *, limit: int = 50) -> list[UndeliveredReply]:
    """The oldest replies held until their customer writes again, each with why."""
    return await session.run_sync(lambda sync: held(sync, limit=limit))


async def dead_letters(session: AsyncSession, *, limit: int = 50) -> list[UndeliveredReply]:
    """The oldest dead letters (each `id` is the outbox item's, the one to retry)."""
    listing = await session.run_sync(lambda sync: undelivered(sync, dead_only=True, limit=limit))
    return listing.replies


async def last_scheduled_starts(session: AsyncSession) -> dict[str, datetime]:
    """Each schedule job's last run start, by job name (its runs' trigger is `schedule:<name>`)."""
    rows = await session.execute(
        select(IndexRun.trigger, func.max(IndexRun.started_at))
        .where(IndexRun.trigger.like("schedule:%"))
        .group_by(IndexRun.trigger)
    )
    return {trigger.removeprefix("schedule:"): started for trigger, started in rows}
