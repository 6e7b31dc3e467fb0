"""One leader among the hub processes on PostgreSQL: two campaigns on one database, exactly one
leads; when the leader stops, or the database drops its connection, it stops leader work and the
other takes over within seconds. Each test has a database of its own (the advisory lock is per
database, and other tests' servers may campaign on the shared one)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import asyncpg
import pytest

from core.ops.leadership import Leadership
from core.store.db import libpq_url
from tests.postgres import own_postgres_database
from tests.settle import until

pytestmark = pytest.mark.postgres

QUICK_S = 0.1
APPLICATION = "supporthub-leadership"
CAMPAIGNS = """
SELECT a.pid, a.query, l.pid IS NOT NULL AS holds_lock
FROM pg_stat_activity a
LEFT JOIN pg_locks l ON l.pid = a.pid AND l.locktype = 'advisory' AND l.granted
WHERE a.application_name = $1 AND a.datname = current_database()
"""


class Candidate:
    """One process campaigning for leadership; records its leader hooks as they run."""

    def __init__(self, dsn: str, *, interval_s: float) -> None:
        self.hooks: list[str] = []
        self.leadership = Leadership(dsn, start_leading=self._start, stop_leading=self._stop, interval_s=interval_s)

    async def _start(self) -> None:
        self.hooks.append("start")

    async def _stop(self) -> None:
        self.hooks.append("stop")

    @property
    def leading(self) -> bool:
        return self.leadership.leading


@pytest.fixture
def dsn() -> Iterator[str]:
    with own_postgres_database() as url:
        dsn = libpq_url(url)
        assert dsn is not None
        yield dsn


@pytest.fixture
async def campaign(dsn: str) -> AsyncIterator[Callable[..., Any]]:
    """Start a candidate on the test's database (stopped at the end of the test)."""
    started: list[Candidate] = []

    async def start(*, interval_s: float = QUICK_S) -> Candidate:
        candidate = Candidate(dsn, interval_s=interval_s)
        await candidate.leadership.start()
        started.append(candidate)
        return candidate

    yield start
    for candidate in started:
        await candidate.leadership.stop()


async def campaigns(dsn: str) -> list[asyncpg.Record]:
    """The leadership connections on the database: their last query, and whether they hold the lock."""
    connection = await asyncpg.connect(dsn)
    try:
        return list(await connection.fetch(CAMPAIGNS, APPLICATION))
    finally:
        await connection.close()


async def follower_tried(dsn: str, *, besides: int | None = None) -> bool:
    """Proof that a candidate not holding the lock has asked for it (and been refused);
    `besides`: a connection that does not count (one being terminated)."""
    return any(
        not row["holds_lock"] and "pg_try_advisory_lock" in row["query"] and row["pid"] != besides
        for row in await campaigns(dsn)
    )


def leaders(*candidates: Candidate) -> list[Candidate]:
    return [c for c in candidates if c.leading]


async def test_of_two_processes_exactly_one_leads(dsn: str, campaign: Callable[..., Any]) -> None:
    a, b = await asyncio.gather(campaign(), campaign())
    await until(lambda: leaders(a, b))
    await until(lambda: follower_tried(dsn))
    await asyncio.sleep(3 * QUICK_S)  # a few more tries by the follower

    (leader,) = leaders(a, b)
    follower = b if leader is a else a
    assert leader.hooks == ["start"] and follower.hooks == []
    assert [row["holds_lock"] for row in await campaigns(dsn)].count(True) == 1


async def test_when_the_leader_stops_the_other_takes_over(dsn: str, campaign: Callable[..., Any]) -> None:
    a, b = await asyncio.gather(campaign(), campaign())
    (leader,) = await until(lambda: leaders(a, b))
    follower = b if leader is a else a

    await leader.leadership.stop()

    assert leader.hooks == ["start", "stop"] and not leader.leading
    await until(lambda: follower.leading, timeout=3)
    assert follower.hooks == ["start"]


async def test_a_leader_whose_connection_is_terminated_stops_leading_and_the_other_takes_over(
    dsn: str, campaign: Callable[..., Any]
) -> None:
    # The leader retries more slowly than the follower, so the follower wins the free lock.
    leader = await campaign(interval_s=5 * QUICK_S)
    await until(lambda: leader.leading)
    follower = await campaign()
    await until(lambda: follower_tried(dsn))
    (held_by,) = [row["pid"] for row in await campaigns(dsn) if row["holds_lock"]]

    killer = await asyncpg.connect(dsn)
    try:
        assert await killer.fetchval("SELECT pg_terminate_backend($1)", held_by)
    finally:
        await killer.close()

    await until(lambda: leader.hooks == ["start", "stop"])
    assert not leader.leading
    await until(lambda: follower.leading)
    assert follower.hooks == ["start"]
    await until(lambda: follower_tried(dsn, besides=held_by))  # the old leader campaigns again, refused
    holders = [row["pid"] for row in await campaigns(dsn) if row["holds_lock"]]
    assert len(holders) == 1 and holders[0] != held_by
    assert not leader.leading and leader.hooks == ["start", "stop"]
