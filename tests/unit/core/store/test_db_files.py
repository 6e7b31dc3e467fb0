"""The SQLite database holds every customer's conversations: other users of the machine must
not be able to read it, whatever the umask."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from core.store.db import make_engine, prepare_database


@pytest.fixture
def permissive_umask() -> Iterator[None]:
    previous = os.umask(0o022)
    yield
    os.umask(previous)


@pytest.mark.usefixtures("permissive_umask")
async def test_a_new_sqlite_database_and_its_journal_are_owner_only(tmp_path: Path) -> None:
    path = tmp_path / "supporthub.db"
    engine = make_engine(f"sqlite+aiosqlite:///{path}")
    await prepare_database(engine)
    modes = {p.name: oct(p.stat().st_mode & 0o777) for p in tmp_path.iterdir()}
    await engine.dispose()
    assert modes == {"supporthub.db": "0o600", "supporthub.db-wal": "0o600", "supporthub.db-shm": "0o600"}


async def test_an_existing_database_others_can_read_is_named_in_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "supporthub.db"
    path.touch(mode=0o644)
    path.chmod(0o644)
    with caplog.at_level(logging.WARNING, logger="core.store.db"):
        engine = make_engine(f"sqlite+aiosqlite:///{path}")
    await engine.dispose()
    assert f"{path} is readable by other users; chmod 600 it" in caplog.text
