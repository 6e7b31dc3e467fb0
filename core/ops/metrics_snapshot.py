"""The metrics that are facts about the whole deployment, read when Prometheus scrapes: outbox
depth and dead letters per channel, open cases by state, SLA breaches, ingest runs, and the
chunks in the knowledge index.

They are read, not counted as things happen, so every process reports the same truth whichever
process did the work (a case opened on one process and claimed on another, an ingest run from
the CLI). One grouped query each, on indexed columns.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import case, func, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from core.handoff.cases import OPEN_STATES
from core.handoff.desk_store import past_sla
from core.handoff.hours import Sla
from core.metrics import (
    INGEST_LAST_SUCCESS,
    INGEST_RUNS,
    KNOWLEDGE_CHUNKS,
    OPEN_CASES,
    OUTBOX_DEAD_LETTERS,
    OUTBOX_DEPTH,
    SLA_BREACHES,
)
from core.store.case_tables import Case
from core.store.db import DeliveryStatus, OutboxItem, utcnow
from knowledge.base import KnowledgeBase
from knowledge.tables import IndexRun

RUN_STATUSES = ("succeeded", "failed", "running")


@dataclass(frozen=True, slots=True)
class Snapshot:
    pending: dict[str, int]
    """Outbox rows waiting to be sent, per channel."""
    dead: dict[str, int]
    """Dead letters, per channel."""
    open_cases: dict[str, int]
    sla_breaches: int
    runs: dict[str, int]
    last_success: datetime | None
    chunks: int


async def read_snapshot(engine: AsyncEngine, knowledge: KnowledgeBase, *, sla: Sla) -> Snapshot:
    """The database's numbers, and the chunk count of the index this process searches (a
    Chroma server's when several processes share one)."""
    async with engine.connect() as connection:
        pending, dead, _held = await undelivered_by_channel(connection)
        open_cases = await _open_cases(connection)
        breaches = await sla_breaches(connection, now=utcnow(), sla=sla)
        runs, last_success = await _runs(connection)
    return Snapshot(pending, dead, open_cases, breaches, runs, last_success, await knowledge.chunk_count())


def publish(snapshot: Snapshot, *, channels: Iterable[str]) -> None:
    """Set the gauges to `snapshot`: every enabled channel and open state shows, at 0 if need be,
    and a channel that no longer has rows stops showing its old value."""
    names = sorted({*channels, *snapshot.pending, *snapshot.dead})
    OUTBOX_DEPTH.clear()
    OUTBOX_DEAD_LETTERS.clear()
    for name in names:
        OUTBOX_DEPTH.labels(channel=name).set(snapshot.pending.get(name, 0))
        OUTBOX_DEAD_LETTERS.labels(channel=name).set(snapshot.dead.get(name, 0))
    for state in OPEN_STATES:
        OPEN_CASES.labels(state=state).set(snapshot.open_cases.get(state, 0))
    SLA_BREACHES.set(snapshot.sla_breaches)
    for status in RUN_STATUSES:
        INGEST_RUNS.labels(status=status).set(snapshot.runs.get(status, 0))
    INGEST_LAST_SUCCESS.set(snapshot.last_success.timestamp() if snapshot.last_success is not None else 0)
    KNOWLEDGE_CHUNKS.set(snapshot.chunks)


_OUTBOX = (
    select(OutboxItem.channel, OutboxItem.status, func.count())
    .where(OutboxItem.status.in_((DeliveryStatus.PENDING, DeliveryStatus.DEAD, DeliveryStatus.HELD)))
    .group_by(OutboxItem.channel, OutboxItem.status)
)
_OPEN_CASES = select(Case.state, func.count()).where(Case.state.in_(OPEN_STATES)).group_by(Case.state)
_RUN_STATUS = case(
    (IndexRun.error.is_not(None), "failed"), (IndexRun.finished_at.is_(None), "running"), else_="succeeded"
)
_RUNS = select(_RUN_STATUS.label("status"), func.count(), func.max(IndexRun.finished_at)).group_by(
    "status"
)  # by the alias: PostgreSQL would not match a repeated CASE's parameters


async def undelivered_by_channel(
    connection: AsyncConnection,
) -> tuple[dict[str, int], dict[str, int], dict[str, int]]:
    """Replies still pending, dead-lettered and held (waiting for the customer to write), each
    per channel (read from `ix_outbox_due`)."""
    by_status: dict[str, dict[str, int]] = {
        DeliveryStatus.PENDING: {},
        DeliveryStatus.DEAD: {},
        DeliveryStatus.HELD: {},
    }
    for channel, status, rows in await connection.execute(_OUTBOX):
        by_status[status][channel] = rows
    return by_status[DeliveryStatus.PENDING], by_status[DeliveryStatus.DEAD], by_status[DeliveryStatus.HELD]


async def _open_cases(connection: AsyncConnection) -> dict[str, int]:
    return {state: rows for state, rows in await connection.execute(_OPEN_CASES)}


async def sla_breaches(connection: AsyncConnection, *, now: datetime, sla: Sla) -> int:
    """Open cases past the SLA at `now` that no person has answered: the cases the SLA job
    reminds staff of (`core.handoff.desk_store.remind_overdue`), reminded or not."""
    query = select(func.count()).select_from(Case).where(past_sla(sla.opened_before(now)))
    return int((await connection.execute(query)).scalar_one())


async def _runs(connection: AsyncConnection) -> tuple[dict[str, int], datetime | None]:
    runs: dict[str, int] = {}
    last_success = None
    for status, count, finished in await connection.execute(_RUNS):
        runs[status] = count
        if status == "succeeded":
            last_success = finished
    return runs, last_success
