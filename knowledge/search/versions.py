"""The index version kept in the database: how hosts sharing a Chroma server follow each
other's ingest runs.

Every host keeps its own BM25 and heading index, derived from chroma, under its data_dir
(`knowledge.search.index.LocalIndex`). The `CURRENT` pointer's mtime tells processes sharing that
data_dir about a new local version, but a host with a data_dir of its own would never learn
that another host changed chroma. So an ingest run that changes chroma gives the collection a
new version in `index_versions` (after chroma is written, in the transaction recording its
documents), each local version records the database version it was built from, and a serving
process compares the two in the background, at most once per `FOLLOW_INTERVAL_S`, then
rebuilds from chroma when they differ. A search never waits for that check: it costs one
primary-key read every couple of seconds per process, whatever the traffic.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import Session

from knowledge.sql_types import utcnow
from knowledge.tables import IndexVersion

log = logging.getLogger(__name__)

FOLLOW_INTERVAL_S = 2.0
"""How stale a serving process's local index may be after another host's ingest run (plus the
rebuild's own time)."""


async def read_version(sessionmaker: async_sessionmaker[AsyncSession], collection: str) -> str | None:
    """The collection's current version; None before any ingest run recorded one."""
    async with sessionmaker() as session:
        version: str | None = await session.scalar(
            select(IndexVersion.version).where(IndexVersion.collection == collection)
        )
        return version


def _new_version(dialect: str, collection: str) -> tuple[Any, str]:
    """The statement giving the collection a new version, and that version."""
    version, now = uuid.uuid4().hex, utcnow()
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = insert(IndexVersion).values(collection=collection, version=version, updated_at=now)
    upsert = statement.on_conflict_do_update(
        index_elements=["collection"], set_={"version": version, "updated_at": now}
    )
    return upsert, version


async def bump_version(session: AsyncSession, collection: str) -> str:
    """Give the collection a new version in `session`'s transaction, and return it."""
    statement, version = _new_version(session.get_bind().dialect.name, collection)
    await session.execute(statement)
    return version


def bump_version_in(session: Session, collection: str) -> str:
    """`bump_version` in a synchronous session's transaction (the app's own)."""
    statement, version = _new_version(session.get_bind().dialect.name, collection)
    session.execute(statement)
    return version


class Follower:
    """Runs `check` in a background task, at most once per `interval` and never twice at once.

    `poke()` is cheap and synchronous (a clock read), so a search can call it every time: the
    search goes on with the index it has, and a rebuild that `check` starts swaps the new
    version in when it is done."""

    def __init__(self, check: Callable[[], Awaitable[bool]], *, interval: float) -> None:
        self._check = check
        self._interval = interval
        self._due = 0.0
        self._task: asyncio.Task[None] | None = None

    def poke(self) -> None:
        """Start a check if the last one began over `interval` ago and has finished."""
        now = time.monotonic()
        if now < self._due or (self._task is not None and not self._task.done()):
            return
        self._due = now + self._interval
        self._task = asyncio.create_task(self._run(), name="knowledge-index-follower")

    async def _run(self) -> None:
        started = time.perf_counter()
        try:
            rebuilt = await self._check()
        except Exception as exc:  # noqa: BLE001 - the database or Chroma is down: retried at the next poke
            log.warning("could not check the knowledge index version: %s: %s", type(exc).__name__, exc)
            return
        if rebuilt:
            log.info(
                "knowledge index changed on another host: rebuilt the local index in %.1f s",
                time.perf_counter() - started,
            )

    async def aclose(self) -> None:
        """Stop a check under way (a rebuild already in its worker thread finishes there)."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
