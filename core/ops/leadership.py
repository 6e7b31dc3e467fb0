"""One leader among the hub processes sharing a database: it alone runs the scheduled jobs
(the staff desk needs no leader: its posts are outbox rows).

On PostgreSQL the leader is whoever holds a session advisory lock on a dedicated
connection (never a pooled one: a session lock stays held by a connection returned to the
pool). When that connection drops, PostgreSQL frees the lock at once and another process
takes it at its next try, within `interval_s`; the old leader learns of the loss at its next
ping (or at once, from asyncpg's termination callback) and stops leader work — so for a
moment two processes may both run it, which is why every leader job is safe to run twice.
TCP keep-alives make the server notice a leader that vanished from the network.

On SQLite there is one process: it leads from the start.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

import asyncpg

from core.invariants import InvariantError

log = logging.getLogger(__name__)

LEADER_LOCK = 0x5375_7070_6F72_7402
"""The advisory lock key ("Support" + 2 as bytes); locks are per database."""
CHECK_INTERVAL_S = 2.0
QUERY_TIMEOUT_S = 5.0
KEEPALIVES = {"tcp_keepalives_idle": "10", "tcp_keepalives_interval": "5", "tcp_keepalives_count": "3"}

LeaderHook = Callable[[], Awaitable[None]]


class Leadership:
    def __init__(
        self,
        dsn: str | None,
        *,
        start_leading: LeaderHook,
        stop_leading: LeaderHook,
        interval_s: float = CHECK_INTERVAL_S,
    ) -> None:
        """`dsn`: a libpq URL for the dedicated connection; None (SQLite) = lead at once."""
        self._dsn = dsn
        self._start_leading = start_leading
        self._stop_leading = stop_leading
        self._interval_s = interval_s
        self._task: asyncio.Task[None] | None = None
        self.leading = False

    async def start(self) -> None:
        if self._dsn is None:
            await self._gain()
            return
        self._task = asyncio.create_task(self._campaign(), name="leadership")

    async def stop(self) -> None:
        """Stop leader work and let go of the lock (closing the connection frees it)."""
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
        if self.leading:
            await self._lose()

    async def _campaign(self) -> None:
        if self._dsn is None:
            raise InvariantError(
                "the database address is missing (start() campaigns only with one; without, it leads alone)"
            )
        unreachable = False
        while True:
            try:
                connection = await asyncpg.connect(
                    self._dsn,
                    timeout=QUERY_TIMEOUT_S,
                    server_settings={"application_name": "supporthub-leadership", **KEEPALIVES},
                )
            except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
                if not unreachable:
                    log.warning(
                        "leadership: cannot reach the database (%s); trying every %g s",
                        type(exc).__name__,
                        self._interval_s,
                    )
                unreachable = True
                await asyncio.sleep(self._interval_s)
                continue
            unreachable = False
            try:
                await self._hold(connection)
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, TimeoutError) as exc:
                log.warning("leadership: lost the database connection (%s: %s)", type(exc).__name__, exc)
            finally:
                if self.leading:
                    await self._lose()
                connection.terminate()
            await asyncio.sleep(self._interval_s)

    async def _hold(self, connection: asyncpg.Connection) -> None:
        """Try for the lock until it is ours, then ping; return when the connection is lost."""
        lost = asyncio.Event()
        connection.add_termination_listener(lambda _: lost.set())
        while not lost.is_set():
            if self.leading:
                await connection.fetchval("SELECT 1", timeout=QUERY_TIMEOUT_S)
            elif await connection.fetchval("SELECT pg_try_advisory_lock($1)", LEADER_LOCK, timeout=QUERY_TIMEOUT_S):
                await self._gain()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(lost.wait(), self._interval_s)
        log.warning("leadership: the database closed the connection")

    async def _gain(self) -> None:
        self.leading = True
        log.info("leadership: this process leads (scheduled jobs)")
        await self._start_leading()

    async def _lose(self) -> None:
        self.leading = False
        log.info("leadership: this process no longer leads")
        await self._stop_leading()
