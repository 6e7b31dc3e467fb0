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
import os
import shutil
from pathlib import Path

from core.store.db import make_engine, prepare_database
from tests.postgres import database_named, execute_on_server, new_database_name, postgres_url


async def migrate(url: str) -> None:
    """The schema as `supporthub serve` makes it: the app's migrations, to head."""
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
        self._used: list[str] = []  # the tests' copies, to drop

    def sqlite(self, path: Path) -> str:
        """The URL of a migrated SQLite database at `path`: a copy of the template, readable by
        its owner only as the hub makes its own, unless a database is there already."""
        if not path.exists():
            owner_only = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with open(owner_only, "wb") as target, self._sqlite.open("rb") as source:
                shutil.copyfileobj(source, target)
        return sqlite_url(path)

    def postgres(self, purpose: str) -> str:
        """The URL of a migrated PostgreSQL database of this test's own (skips without a server).

        It is dropped when the next test takes one, or at the end of the session: a test's own
        fixtures may close an app on it after this one's teardown (pytest tears fixtures down in
        the reverse order of their set-up, and an app fixture can be set up first)."""
        server = postgres_url(purpose)
        if self._postgres is None:
            template = new_database_name()
            execute_on_server(server, f'CREATE DATABASE "{template}"')
            self._postgres = (server, template)
            asyncio.run(migrate(database_named(server, template)))
        name = new_database_name()
        execute_on_server(server, *self._drops(), f'CREATE DATABASE "{name}" TEMPLATE "{self._postgres[1]}"')
        self._used.append(name)
        return database_named(server, name)

    def _drops(self) -> list[str]:
        drops = [f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)' for name in self._used]
        self._used.clear()
        return drops

    def close(self) -> None:
        if self._postgres is not None:
            server, template = self._postgres
            execute_on_server(server, *self._drops(), f'DROP DATABASE IF EXISTS "{template}" WITH (FORCE)')
