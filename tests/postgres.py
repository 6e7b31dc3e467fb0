"""PostgreSQL databases of a test's own, on the server `SUPPORTHUB_TEST_POSTGRES_URL` names:
for tests whose processes, listeners or locks must not meet other tests' (the shared `test`
database is emptied by every storage test)."""

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
from tests.conftest import POSTGRES_ENV


def postgres_url(purpose: str) -> str:
    """The test server's URL (SQLAlchemy form); skips, saying what needs it, without one."""
    url = os.environ.get(POSTGRES_ENV)
    if not url:
        pytest.skip(
            f"{purpose} need PostgreSQL: set {POSTGRES_ENV} (e.g. postgresql+asyncpg://postgres@127.0.0.1:5432/test)"
        )
    return url


@contextlib.contextmanager
def own_postgres_database(purpose: str = "these tests") -> Iterator[str]:
    """A new, empty database, created and dropped here; yields its SQLAlchemy URL. For a
    synchronous fixture (it runs its own event loop for the two statements)."""
    server = postgres_url(purpose)
    admin = libpq_url(server)
    assert admin is not None
    name = f"supporthub_{uuid.uuid4().hex[:12]}"

    async def execute(sql: str) -> None:
        connection = await asyncpg.connect(admin)
        try:
            await connection.execute(sql)
        finally:
            await connection.close()

    asyncio.run(execute(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(server).set(database=name).render_as_string(hide_password=False)
    finally:
        asyncio.run(execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


async def query(database_url: str, sql: str, *args: Any) -> list[asyncpg.Record]:
    """Run one statement on a database from the test, past the app's own engine."""
    dsn = libpq_url(database_url)
    assert dsn is not None
    connection = await asyncpg.connect(dsn)
    try:
        return list(await connection.fetch(sql, *args))
    finally:
        await connection.close()
