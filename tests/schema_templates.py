"""Migrated databases, built once per test session and copied for each test.

Migrating a new database runs the 20 Alembic migrations (0.2 s on a quiet machine, several
times that on a busy one) and the suite opens about two thousand databases; a copy of a
migrated SQLite file takes half a millisecond, and `CREATE DATABASE … TEMPLATE` on PostgreSQL
under 0.1 s. The app opens a copy without running Alembic (`prepare_database` finds it at
the newest revision). The tests that migrate on purpose take an empty database instead:
`tests/unit/core/store/test_migrations.py`.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

from core.store.db import make_engine, prepare_database
from tests.postgres import database_named, execute_on_server, new_database_name, own_postgres_database, postgres_url


async def migrate(url: str) -> None:
    engine = make_engine(url)
    try:
        await prepare_database(engine)
    finally:
        await engine.dispose()


def sqlite_url(path: Path) -> str:
    return f"sqlite+aiosqlite:///{path}"


class SchemaTemplates:
    """The session's migrated template databases: SQLite at once, PostgreSQL on first use."""

    def __init__(self, folder: Path) -> None:
        self._sqlite = folder / "migrated.db"
        asyncio.run(migrate(sqlite_url(self._sqlite)))
        self._postgres: tuple[str, str] | None = None  # (server URL, template database name)

    def sqlite(self, path: Path) -> str:
        """The URL of a migrated SQLite database at `path`: a copy of the template, readable by
        its owner only as the hub makes its own, unless a database is there already."""
        if not path.exists():
            owner_only = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with open(owner_only, "wb") as target, self._sqlite.open("rb") as source:
                shutil.copyfileobj(source, target)
        return sqlite_url(path)

    @contextlib.contextmanager
    def postgres(self, purpose: str) -> Iterator[str]:
        """A migrated PostgreSQL database of this test's own (skips without a server), dropped after."""
        server = postgres_url(purpose)
        if self._postgres is None:
            name = new_database_name()
            execute_on_server(server, f'CREATE DATABASE "{name}"')
            self._postgres = (server, name)
            asyncio.run(migrate(database_named(server, name)))
        with own_postgres_database(purpose, template=self._postgres[1]) as url:
            yield url

    def close(self) -> None:
        if self._postgres is not None:
            server, name = self._postgres
            execute_on_server(server, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
