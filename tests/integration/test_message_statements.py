"""What one customer message costs the database: each statement is a round trip on PostgreSQL
and a slice of the event loop's CPU through the async driver, on every message (issue 57)."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from types import FrameType
from typing import Any

import pytest
from sqlalchemy import event
from sqlalchemy.engine import Engine

from core.cli.server import create_app
from core.settings import Settings
from tests.app_client import AppClient
from tests.integration.test_api import ask

MESSAGE_PATH = {
    ("inbox.py", "_insert"),  # store the message
    ("turn_transactions.py", "_load"),  # read the turn
    ("turn_transactions.py", "_finish"),  # write the turn
}
"""The transactions of one message's way (`core.store.inbox`, `core.pipeline.turn_transactions`):
the hub's sweep and the leader's checks run statements of their own on a timer, which a busy
machine may fit into the same moment."""


def on_the_message_path() -> bool:
    frame: FrameType | None = sys._getframe(1)
    while frame is not None:
        if (Path(frame.f_code.co_filename).name, frame.f_code.co_name) in MESSAGE_PATH:
            return True
        frame = frame.f_back
    return False


@pytest.fixture
def statements() -> Iterator[list[str]]:
    """The statements run on a message's way from here on."""
    seen: list[str] = []

    def note(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if on_the_message_path():
            seen.append(" ".join(statement.split())[:160])

    event.listen(Engine, "before_cursor_execute", note)
    yield seen
    event.remove(Engine, "before_cursor_execute", note)


async def test_a_later_message_costs_seven_statements_nine_on_postgresql(
    aiohttp_client: Callable[..., Any],
    make_settings: Callable[..., Settings],
    database_url: str,
    statements: list[str],
) -> None:
    """Stored (the conversation with its writer, the message), read (the turn's head, the
    history; no facts are known, so none are read) and answered (the conversation touched, the
    message marked, the reply). PostgreSQL, whose database several processes may share, also
    locks the conversation while the message is stored and asks whether an older one waits
    (`core.store.inbox`). Ten and twelve before issue 57: a held reply's release and an
    unreachable mark are undone only where the lookup found one, and the facts read only where
    there are some."""
    client: AppClient = await aiohttp_client(create_app(make_settings(database_url=database_url)))
    await ask(client, "How do I reset my password?")
    statements.clear()
    await ask(client, "How do I export my data?")
    expected = 9 if database_url.startswith("postgresql") else 7
    assert len(statements) == expected, "\n".join(statements)
