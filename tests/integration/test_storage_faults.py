"""The database stops taking writes — another process holds SQLite's lock, the disk fills
up, PostgreSQL cannot be reached — and the hub says "try again" (503 + Retry-After), reports
not ready, and recovers by itself when the fault goes away. (Each channel's answer to such a
fault: test_channel_storage_faults.)"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import subprocess
import time
from collections.abc import AsyncIterator, Callable, Iterator
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import Session

from core.channel import StorageUnavailable
from core.cli.server import create_app
from core.settings import PostgresSettings, Settings
from core.store import db
from core.store.transactions import Transactions, transactions_for
from tests.app_client import AppClient
from tests.cli_runner import supporthub
from tests.fakes.tcp_proxy import CuttableProxy, line_to
from tests.ports import free_port
from tests.postgres import own_postgres_database, postgres_url, query

QUESTION = {"contact": "dana", "text": "How do I reset my password?"}


async def _post(client: AppClient, payload: dict[str, Any]) -> tuple[int, float, Any]:
    started = time.monotonic()
    response = await client.post("/api/messages", json=payload)
    return response.status, time.monotonic() - started, response


@pytest.mark.slow("holds the database locked past SQLite's busy timeout")
async def test_a_database_locked_by_another_process_is_a_503_then_recovers(
    aiohttp_client: Callable[..., Any], make_settings: Callable[..., Settings], tmp_path: Path
) -> None:
    client = await aiohttp_client(create_app(make_settings()))
    assert (await client.post("/api/messages", json=QUESTION)).status == 200
    other_process = sqlite3.connect(tmp_path / "hub.db", isolation_level=None)
    other_process.execute("BEGIN IMMEDIATE")  # holds the write lock, as a long CLI job would
    try:
        status, took, response = await _post(client, {**QUESTION, "id": "while-locked"})
        assert status == 503 and response.headers["Retry-After"].isdigit(), await response.text()
        assert took < 15
        ready = await client.get("/readyz")
        assert ready.status == 503 and (await ready.json())["database"] == "unavailable"
    finally:
        other_process.execute("ROLLBACK")
        other_process.close()
    status, _, response = await _post(client, {**QUESTION, "id": "while-locked"})  # the client's retry
    assert status == 200, await response.text()
    assert (await client.get("/readyz")).status == 200
    listed = await (
        await client.get(f"/api/conversations/{(await response.json())['conversation_id']}/messages")
    ).json()
    assert [m["author"] for m in listed["messages"]] == ["customer", "bot", "customer", "bot"]


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A real 4 MB filesystem (tmpfs), so a full disk is the kernel's ENOSPC, not a fake."""
    mount_point = tmp_path / "small-disk"
    mount_point.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(mount_point)],
        capture_output=True,
        text=True,
        check=False,
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a small filesystem here: {mounted.stderr.strip()}")
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], check=False)


def _fill(path: Path) -> None:
    # Unbuffered: a buffered file still held bytes when the disk filled, and raised ENOSPC
    # again when it was closed, outside the try.
    with path.open("wb", buffering=0) as filler:
        try:
            while True:
                filler.write(b"\0" * 65536)
        except OSError:
            pass


async def test_a_full_disk_is_a_503_and_not_ready_until_space_returns(
    aiohttp_client: Callable[..., Any], make_settings: Callable[..., Settings], small_disk: Path
) -> None:
    settings = make_settings(database_url=f"sqlite+aiosqlite:///{small_disk / 'hub.db'}")
    client = await aiohttp_client(create_app(settings))
    assert (await client.post("/api/messages", json=QUESTION)).status == 200
    filler = small_disk / "filler"
    await asyncio.to_thread(_fill, filler)
    statuses = [(await _post(client, {**QUESTION, "text": f"question {i} " + "x" * 3000}))[0] for i in range(5)]
    assert set(statuses) == {503}
    ready = await client.get("/readyz")
    assert ready.status == 503 and (await ready.json())["database"] == "unavailable"
    filler.unlink()
    assert (await client.get("/readyz")).status == 200
    status, _, response = await _post(client, {**QUESTION, "id": "after"})
    assert status == 200, await response.text()


def test_a_read_only_data_directory_stops_start_up_with_one_line(small_disk: Path) -> None:
    subprocess.run(["mount", "-o", "remount,ro", str(small_disk)], check=True)
    result = supporthub("serve", "--port", "1", env={"SUPPORTHUB_DATA_DIR": str(small_disk / "data")})
    assert result.exit_code == 2
    lines = [line for line in result.stderr.splitlines() if not line.startswith("REST API")]
    assert lines == [f"supporthub: cannot use the data directory {small_disk / 'data'}: Read-only file system"], (
        result.stderr
    )


def _select_one(session: Session) -> int:
    return int(session.execute(text("SELECT 1")).scalar_one())


async def test_a_postgres_pool_with_no_connection_free_is_unavailable_then_recovers() -> None:
    """Every pooled connection busy past the pool's timeout: the transaction fails as
    StorageUnavailable (the API's 503 "try again"), not as an unexpected error (a 500)."""
    engine = db.make_engine(postgres_url("the pool test"), PostgresSettings(pool_timeout_s=0.5))
    transactions = transactions_for(engine, db.make_sessionmaker(engine))
    held = [await engine.connect() for _ in range(db.POSTGRES_POOL_SIZE)]
    try:
        with pytest.raises(StorageUnavailable, match="no database connection came free"):
            await transactions.run(_select_one)
    finally:
        for connection in held:
            await connection.close()
    assert await transactions.run(_select_one) == 1
    await engine.dispose()


@pytest.fixture
def own_database() -> Iterator[str]:
    with own_postgres_database("the lost-connection tests") as url:
        yield url


async def test_a_transaction_whose_connection_dies_before_its_commit_runs_once_more(own_database: str) -> None:
    """A restarted PostgreSQL drops every pooled connection: the transaction that meets a dead
    one is run again on a new one, and what its first attempt wrote is not there twice."""
    await query(own_database, "CREATE TABLE probe (attempt integer)")
    engine = db.make_engine(own_database)
    transactions = transactions_for(engine, db.make_sessionmaker(engine))
    attempts: list[int] = []

    def write(session: Session) -> int:
        attempts.append(len(attempts) + 1)
        session.execute(text("INSERT INTO probe VALUES (:attempt)"), {"attempt": attempts[-1]})
        if len(attempts) == 1:  # the server goes away mid-transaction
            session.execute(text("SELECT pg_terminate_backend(pg_backend_pid())"))
        return attempts[-1]

    try:
        assert await transactions.run(write) == 2
    finally:
        await engine.dispose()
    assert [row["attempt"] for row in await query(own_database, "SELECT attempt FROM probe")] == [2]


async def test_a_connection_dying_again_on_the_second_attempt_is_unavailable(own_database: str) -> None:
    """The API's 503 "try again", not a 500."""
    engine = db.make_engine(own_database)
    transactions = transactions_for(engine, db.make_sessionmaker(engine))

    def die(session: Session) -> None:
        session.execute(text("SELECT pg_terminate_backend(pg_backend_pid())"))

    try:
        with pytest.raises(StorageUnavailable, match="connection was closed"):
            await transactions.run(die)
        assert await transactions.run(_select_one) == 1
    finally:
        await engine.dispose()


async def test_connections_the_server_closed_are_not_handed_out(
    own_database: str, caplog: pytest.LogCaptureFixture
) -> None:
    engine = db.make_engine(own_database)
    transactions = transactions_for(engine, db.make_sessionmaker(engine))
    caplog.set_level("INFO", logger="core.store.transactions")
    try:
        pooled = [await engine.connect() for _ in range(3)]
        for connection in pooled:
            await connection.close()  # back in the pool, open
        backends = sorted(db.own_backends(engine))
        assert len(backends) == 3
        ended = await query(
            own_database, "SELECT pg_terminate_backend(pid, 5000) FROM unnest($1::int[]) AS pid", backends
        )
        assert all(row[0] for row in ended)
        await asyncio.sleep(0.2)  # the driver reads each socket's end
        assert await asyncio.gather(*(transactions.run(_select_one) for _ in range(3))) == [1, 1, 1]
    finally:
        await engine.dispose()
    assert "running the transaction again" not in caplog.text


@pytest.fixture
async def stalling_line(own_database: str) -> AsyncIterator[tuple[CuttableProxy, str]]:
    """A line to the test's own database that can stall: (the proxy, the URL through it)."""
    async with line_to(own_database) as line:
        yield line


@pytest.mark.slow("waits out the statement timeout of every pooled connection")
async def test_a_stall_holding_every_pooled_connection_ends_when_postgres_answers_again(
    stalling_line: tuple[CuttableProxy, str],
) -> None:
    """The database stops answering while every pooled connection waits on it (issue 56: a 5 s
    stall was an outage until a restart). Each stuck connection is thrown away after the
    statement timeout, its transaction run again on a new one, and the hub's transactions go
    through as soon as the database answers; no connection is left waiting forever."""
    proxy, url = stalling_line
    engine = db.make_engine(url, PostgresSettings(statement_timeout_s=1))
    transactions = transactions_for(engine, db.make_sessionmaker(engine))
    stuck: list[asyncio.Task[int]] = []
    try:
        pooled = [await engine.connect() for _ in range(db.POSTGRES_POOL_SIZE)]
        for connection in pooled:
            await connection.close()  # back in the pool, open
        before = set(db.own_backends(engine))
        proxy.hung = True
        stuck = [asyncio.create_task(transactions.run(_select_one)) for _ in range(db.POSTGRES_POOL_SIZE)]
        await proxy.swallowing(db.POSTGRES_POOL_SIZE)  # each one's first statement, lost
        proxy.hung = False  # the database answers again
        assert await transactions.run(_select_one) == 1
        assert await asyncio.gather(*stuck) == [1] * db.POSTGRES_POOL_SIZE  # each run again, on a new connection
        assert not before & db.own_backends(engine)
        assert engine.pool.checkedout() == 0  # type: ignore[attr-defined]
    finally:
        for task in stuck:
            task.cancel()
        await engine.dispose()


@pytest.mark.parametrize(
    "way", ["a closed port", "a server that never answers", "an unknown role", "a missing database"]
)
async def test_every_way_of_not_reaching_postgres_is_unavailable(way: str) -> None:
    """Not a 500, and not a Telegram update acknowledged unstored: "try again shortly"."""
    server = make_url(postgres_url("the unreachable-server tests"))
    silent = CuttableProxy(server.host or "127.0.0.1", server.port or 5432)  # accepts, never answers
    silent.hung = True
    await silent.start()
    url = {
        "a closed port": server.set(port=free_port()),  # nothing listens on it
        "a server that never answers": server.set(port=silent.port),
        "an unknown role": server.set(username="nobody_here"),
        "a missing database": server.set(database="no_such_database"),
    }[way]
    engine = db.make_engine(url.render_as_string(hide_password=False), PostgresSettings(connect_timeout_s=0.5))
    transactions = transactions_for(engine, db.make_sessionmaker(engine))
    try:
        with pytest.raises(StorageUnavailable, match="cannot connect to the database"):
            await transactions.run(_select_one)
    finally:
        await engine.dispose()
        await silent.close()


def _insert_twice(secret: str, session: Session) -> None:
    session.execute(text("CREATE TABLE IF NOT EXISTS probe_secret (v TEXT UNIQUE)"))
    for _ in range(2):
        session.execute(text("INSERT INTO probe_secret (v) VALUES (:v)"), {"v": secret})


async def test_a_failing_statement_logs_its_sql_but_never_its_parameters(
    transactions: Transactions, caplog: pytest.LogCaptureFixture
) -> None:
    """What a customer wrote (or a file's bytes) never reaches the log through an error."""
    secret = "my card number is 4111 1111 1111 1111"
    try:
        await transactions.run(partial(_insert_twice, secret))
    except Exception:
        logging.getLogger("core.pipeline.hub").exception("hub: answering message 1 failed")
    (error,) = [r for r in caplog.records if r.levelno == logging.ERROR]
    logged = caplog.text
    assert "INSERT INTO probe_secret" in logged and "parameters hidden" in logged
    assert "4111" not in logged and error.exc_info is not None


async def test_a_unique_violation_outside_the_stores_transactions_logs_no_row_values(
    sessionmaker: async_sessionmaker[AsyncSession], caplog: pytest.LogCaptureFixture
) -> None:
    """The dashboard, the scheduler and the re-index use a session of their own, outside
    `storage_faults`: what PostgreSQL repeats of the refused row ("DETAIL:  Key (v)=(…) already
    exists") is not in their error's traceback either."""
    secret = "my card number is 4111 1111 1111 1111"
    try:
        async with sessionmaker() as session, session.begin():
            await session.run_sync(partial(_insert_twice, secret))
    except Exception:
        logging.getLogger("core.ops.scheduler").exception("scheduled re-index 'nightly' failed")
    (error,) = [r for r in caplog.records if r.levelno == logging.ERROR]
    logged = caplog.text
    assert error.exc_info is not None and isinstance(error.exc_info[1], IntegrityError)  # the unique violation
    assert "INSERT INTO probe_secret" in logged and "4111" not in logged
