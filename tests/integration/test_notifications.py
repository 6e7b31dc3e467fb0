"""The wake-up between hub processes on PostgreSQL: a listener hears of every message another
process stores (once it is committed and readable), not those its own process stores, and
after its connection drops it reconnects and catches up. And migrations run once when several
processes start together. Each test has a database of its own (notifications are per database)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta

import asyncpg
import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from core.messages import Address, InboundMessage, Reply
from core.pipeline.notifications import MessageListener, StoredElsewhere
from core.pipeline.storage import Storage
from core.pipeline.turn_transactions import TurnResult
from core.store.db import (
    MIGRATIONS_DIR,
    libpq_url,
    make_engine,
    make_sessionmaker,
    own_backends,
    prepare_database,
)
from core.store.inbox import PendingMessage
from core.store.transactions import Transactions, transactions_for
from tests.postgres import own_postgres_database
from tests.settle import until

pytestmark = pytest.mark.postgres

THREAD = Address("slack", "C0CUSTOMER", "1700000000.000100")


@pytest.fixture
def database() -> Iterator[str]:
    with own_postgres_database() as url:
        yield url


class Process:
    """One hub process's database side: its engine and the storage on it."""

    def __init__(self, database: str) -> None:
        self.engine: AsyncEngine = make_engine(database)
        self.transactions: Transactions = transactions_for(self.engine, make_sessionmaker(self.engine))
        self.storage = Storage.on(self.transactions)

    async def close(self) -> None:
        await self.transactions.close()
        await self.engine.dispose()


@pytest.fixture
async def processes(database: str) -> AsyncIterator[tuple[Process, Process]]:
    """This process (the listener's) and another one, on a migrated database."""
    here, elsewhere = Process(database), Process(database)
    await prepare_database(here.engine)
    yield here, elsewhere
    await here.close()
    await elsewhere.close()


class Ears:
    """What a listener reports: each notice with whether its message was readable on arrival,
    and each (re)connect."""

    def __init__(self, storage: Storage) -> None:
        self._storage = storage
        self.heard: list[tuple[StoredElsewhere, bool]] = []
        self.connects = 0

    async def on_message(self, notice: StoredElsewhere) -> None:
        found = await self._storage.views.messages(notice.conversation_id, after=notice.message_id - 1, limit=1)
        self.heard.append((notice, found is not None and [m.id for m in found] == [notice.message_id]))

    async def on_connect(self) -> None:
        self.connects += 1

    def of(self, message_id: int) -> tuple[StoredElsewhere, bool] | None:
        return next((h for h in self.heard if h[0].message_id == message_id), None)


@pytest.fixture
async def listening(database: str, processes: tuple[Process, Process]) -> AsyncIterator[Ears]:
    here, _ = processes
    dsn = libpq_url(database)
    assert dsn is not None
    ears = Ears(here.storage)
    listener = MessageListener(
        dsn, own_backends=own_backends(here.engine), on_message=ears.on_message, on_connect=ears.on_connect
    )
    await listener.start()
    await until(lambda: ears.connects == 1)
    yield ears
    await listener.stop()


async def customer_says(storage: Storage, address: Address, external_id: str) -> PendingMessage:
    receipt = await storage.inbox.save(
        InboundMessage(address, external_id, "U0ANA", "How do I export?"), lease=timedelta(seconds=30)
    )
    return PendingMessage(receipt.message_id, receipt.conversation_id, "How do I export?", address)


async def bot_answers(storage: Storage, pending: PendingMessage) -> int:
    finished = await storage.turns.finish(
        pending, TurnResult(signals=None, reply=Reply("Settings → Export.")), push=False
    )
    assert finished is not None and finished.reply is not None
    return finished.reply.id


async def test_a_message_stored_by_another_process_is_heard_and_its_own_are_not(
    processes: tuple[Process, Process], listening: Ears
) -> None:
    here, elsewhere = processes
    question = await customer_says(elsewhere.storage, THREAD, "m1")
    answer_id = await bot_answers(elsewhere.storage, question)

    asked, readable = await until(lambda: listening.of(question.id))
    assert asked == StoredElsewhere(question.id, question.conversation_id, THREAD, reply_to=None) and readable
    answered, readable = await until(lambda: listening.of(answer_id))
    assert answered == StoredElsewhere(answer_id, question.conversation_id, THREAD, reply_to=question.id) and readable

    own = await customer_says(here.storage, Address("api", "own-customer"), "m2")
    await bot_answers(here.storage, own)
    later = await customer_says(elsewhere.storage, THREAD, "m3")  # committed after ours: heard after them
    await until(lambda: listening.of(later.id))
    assert not [notice for notice, _ in listening.heard if notice.conversation_id == own.conversation_id]


async def test_after_its_connection_is_terminated_the_listener_reconnects_and_catches_up(
    database: str, processes: tuple[Process, Process], listening: Ears
) -> None:
    _, elsewhere = processes
    dsn = libpq_url(database)
    assert dsn is not None
    killer = await asyncpg.connect(dsn)
    try:
        terminated = await killer.fetchval(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE application_name = 'supporthub-listener' AND datname = current_database()"
        )
    finally:
        await killer.close()
    assert terminated == 1

    await until(lambda: listening.connects == 2)  # the catch-up ran on reconnecting
    question = await customer_says(elsewhere.storage, THREAD, "m1")
    await until(lambda: listening.of(question.id))


async def test_processes_starting_together_migrate_a_new_database_once(database: str) -> None:
    engines = [make_engine(database) for _ in range(4)]
    try:
        async with asyncio.timeout(60):  # unlocked, concurrent DDL can wait on itself forever
            await asyncio.gather(*(prepare_database(engine) for engine in engines))
        async with engines[0].connect() as connection:
            versions = (await connection.execute(text("SELECT version_num FROM alembic_version"))).scalars().all()
            triggers = (
                await connection.execute(text("SELECT count(*) FROM pg_trigger WHERE tgname = 'messages_notify'"))
            ).scalar_one()
    finally:
        for engine in engines:
            await engine.dispose()
    head = ScriptDirectory(str(MIGRATIONS_DIR)).get_current_head()
    assert versions == [head] and triggers == 1
