"""Running one database transaction from async code, as cheaply as each backend allows.

The store's transactions are plain synchronous SQLAlchemy functions of a `Session`:
- SQLite: the function runs whole in the one database thread (a synchronous engine on the
  same file), so a transaction costs one thread hop. Through aiosqlite every statement
  costs about four (cursor, execute, fetch, close): measured here, 0.17 ms a hop, which made
  a received-and-answered message cost ~7 ms of pure waiting.
- PostgreSQL (asyncpg): `AsyncSession.run_sync` runs the same function on the async
  driver, with the connection pool's parallelism. The pool hands out no connection the
  server has closed (`core.store.db`); one that dies after that check, or whose statement goes
  unanswered past `postgres.statement_timeout_s` (a stalled server: the connection is thrown
  away), fails before it commits, and then the transaction runs once more on a new connection:
  nothing of it was written, and SQLAlchemy replaces the pool's older connections when it
  notices one dead (not when a statement timed out: the others may be fine). A
  connection lost during the commit itself is not retried (the commit may have happened):
  that one answers `StorageUnavailable`.

A database that cannot take the transaction (locked by another process past the busy
timeout, a full disk, a lost server) raises `StorageUnavailable`, which callers answer with
"try again shortly" (a 503 with Retry-After on HTTP) rather than an internal error. So does
every way of not getting a connection at all: a port nothing listens on (the driver's own
`ConnectionRefusedError`, not a DBAPIError), a host that does not resolve, a server that
never answers (`postgres.connect_timeout_s`), one that refuses the login, is starting
up or has no connection slot left (DBAPIErrors of no particular class).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Protocol, TypeVar

from sqlalchemy import create_engine
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from sqlalchemy.orm import Session

from core.channel import StorageUnavailable
from core.store.db import SQLITE_BUSY_TIMEOUT_S, sqlite_pragmas

log = logging.getLogger(__name__)

T = TypeVar("T")
Work = Callable[[Session], T]


class Transactions(Protocol):
    async def run(self, work: Work[T]) -> T:
        """Run `work` in one transaction: committed when it returns, rolled back if it raises."""
        ...

    async def close(self) -> None: ...


@contextmanager
def storage_faults() -> Iterator[None]:
    """Re-raise the database's own failures (not a bug in our SQL: a lock, a full disk, a lost
    connection), and a pool with no free connection for its whole timeout, as
    `StorageUnavailable`."""
    try:
        yield
    except DBAPIError as exc:
        if not (isinstance(exc, (OperationalError, InterfaceError)) or exc.connection_invalidated):
            raise
        raise StorageUnavailable(f"the database cannot take the transaction: {exc.orig}") from exc
    except PoolTimeout as exc:
        raise StorageUnavailable(f"no database connection came free: {exc}") from exc


class SQLiteThreadTransactions:
    def __init__(self, async_engine: AsyncEngine) -> None:
        url = async_engine.url.set(drivername="sqlite")
        self._engine = create_engine(
            url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_S, "check_same_thread": False}, hide_parameters=True
        )  # see core.store.db.make_engine
        sqlite_pragmas(self._engine)
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sqlite")

    async def run(self, work: Work[T]) -> T:
        with storage_faults():
            return await asyncio.get_running_loop().run_in_executor(self._thread, self._transaction, work)

    def _transaction(self, work: Work[T]) -> T:
        with Session(self._engine, expire_on_commit=False) as session, session.begin():
            return work(session)

    async def close(self) -> None:
        await asyncio.get_running_loop().run_in_executor(self._thread, self._engine.dispose)
        self._thread.shutdown(wait=True)


class _LostBeforeCommit(Exception):
    def __init__(self, lost: DBAPIError) -> None:
        super().__init__(str(lost))
        self.lost = lost


class AsyncDriverTransactions:
    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
        self._sessionmaker = sessionmaker

    async def run(self, work: Work[T]) -> T:
        with storage_faults():
            try:
                return await self._transaction(work)
            except _LostBeforeCommit:
                log.info("database connection lost before a commit; running the transaction again")
            try:
                return await self._transaction(work)
            except _LostBeforeCommit as exc:
                raise exc.lost from None

    async def _transaction(self, work: Work[T]) -> T:
        async with self._sessionmaker() as session, session.begin():
            await _connected(session)
            try:
                return await session.run_sync(work)
            except DBAPIError as exc:
                if exc.connection_invalidated:
                    raise _LostBeforeCommit(exc) from exc
                raise

    async def close(self) -> None:
        return None


async def _connected(session: AsyncSession) -> None:
    """Take the transaction's connection before its work runs: a failure here, whatever the
    driver raises, means the database is out of reach and nothing of the work was written."""
    try:
        await session.connection()
    except (DBAPIError, OSError, TimeoutError) as exc:
        reason = exc.orig if isinstance(exc, DBAPIError) else f"{type(exc).__name__}: {exc}"
        raise StorageUnavailable(f"cannot connect to the database: {reason}") from exc


def transactions_for(engine: AsyncEngine, sessionmaker: async_sessionmaker[AsyncSession]) -> Transactions:
    if engine.dialect.name == "sqlite":
        return SQLiteThreadTransactions(engine)
    return AsyncDriverTransactions(sessionmaker)
