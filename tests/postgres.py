"""PostgreSQL databases of a test's own, on the server `SUPPORTHUB_TEST_POSTGRES_URL` names:
empty ones for tests whose processes, listeners or locks must not meet other tests', and
copies of the migrated template (`tests.schema_templates`) for the storage tests."""

from __future__ import annotations

import asyncio
import contextlib
import os
import uuid
from collections.abc import Iterator
from typing import Any

import asyncpg
import pytest
from sqlalchemy.engine import make_url

from core.store.db import libpq_url

POSTGRES_ENV = "SUPPORTHUB_TEST_POSTGRES_URL"


def postgres_url(purpose: str) -> str:
    """The test server's URL (SQLAlchemy form); skips, saying what needs it, without one."""
    url = os.environ.get(POSTGRES_ENV)
    if not url:
        pytest.skip(
            f"{purpose} need PostgreSQL: set {POSTGRES_ENV} (e.g. postgresql+asyncpg://postgres@127.0.0.1:5432/test)"
        )
    return url


def database_named(server: str, name: str) -> str:
    """The SQLAlchemy URL of database `name` on `server`."""
    return make_url(server).set(database=name).render_as_string(hide_password=False)


def new_database_name() -> str:
    return f"supporthub_{uuid.uuid4().hex[:12]}"


def execute_on_server(server: str, *statements: str) -> None:
    """Run statements (CREATE/DROP DATABASE: no transaction) on `server`'s own database, from
    synchronous code (an event loop of their own)."""
    admin = libpq_url(server)
    assert admin is not None

    async def execute() -> None:
        connection = await asyncpg.connect(admin)
        try:
            for sql in statements:
                await connection.execute(sql)
        finally:
            await connection.close()

    asyncio.run(execute())


@contextlib.contextmanager
def own_postgres_database(purpose: str = "these tests") -> Iterator[str]:
    """A new, empty database, created and dropped here; yields its SQLAlchemy URL. For a
    synchronous fixture."""
    server = postgres_url(purpose)
    name = new_database_name()
    execute_on_server(server, f'CREATE DATABASE "{name}"')
    try:
        yield database_named(server, name)
    finally:
        execute_on_server(server, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def query(database_url: str, sql: str, *args: Any) -> list[asyncpg.Record]:
    """Run one statement on a database from the test, past the app's own engine."""
    dsn = libpq_url(database_url)
    assert dsn is not None
    connection = await asyncpg.connect(dsn)
    try:
        return list(await connection.fetch(sql, *args))
    finally:
        await connection.close()
