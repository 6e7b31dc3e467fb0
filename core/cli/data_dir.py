"""The data directory (the SQLite database, the index, the session secret) must be writable
before anything starts: found out later, it is a long traceback from deep in a library."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from sqlalchemy.engine import make_url

from core.settings import Settings


class UnusableDirectory(Exception):
    def __init__(self, path: Path, reason: str) -> None:
        super().__init__(f"cannot use the data directory {path}: {reason}")


def check_writable(settings: Settings) -> None:
    """Create the data directory (and the SQLite file's) if needed and prove a file can be
    written there; UnusableDirectory names the path and the operating system's reason."""
    directories = [settings.data_dir]
    url = make_url(settings.resolved_database_url)
    if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
        directories.append(Path(url.database).parent)
    for directory in dict.fromkeys(directories):
        try:
            directory.mkdir(parents=True, exist_ok=True)
            with tempfile.TemporaryFile(dir=directory):
                pass
        except OSError as exc:
            raise UnusableDirectory(directory, exc.strerror or str(exc)) from None
        if not os.access(directory, os.W_OK | os.X_OK):
            raise UnusableDirectory(directory, "not writable by this user")
