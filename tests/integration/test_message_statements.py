"""What one customer message costs the database: each statement is a round trip on PostgreSQL
and a slice of the event loop's CPU through the async driver, on every message (issue 57)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import event
from sqlalchemy.engine import Engine

from tests.app_client import AppClient
from tests.integration.test_api import ask


@pytest.fixture
def statements() -> Iterator[list[str]]:
    seen: list[str] = []

    def note(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        seen.append(" ".join(statement.split())[:160])

    event.listen(Engine, "before_cursor_execute", note)
    yield seen
    event.remove(Engine, "before_cursor_execute", note)


async def test_a_later_message_costs_seven_statements(client: AppClient, statements: list[str]) -> None:
    """Stored (the conversation with its writer, the message), read (the turn's head, the
    history; no facts are known, so none are read) and answered (the conversation touched, the
    message marked, the reply). Ten before issue 57: a held reply's release and an unreachable
    mark are undone only where the lookup found one, and the facts read only where there are."""
    await ask(client, "How do I reset my password?")
    statements.clear()
    await ask(client, "How do I export my data?")
    assert len(statements) == 7, "\n".join(statements)
