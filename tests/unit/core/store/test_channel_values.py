"""Each channel's own key-value store, on both backends: a value is saved and replaced, one
channel never sees another's, and the values kept in the old cursor table move over."""

from __future__ import annotations

from datetime import timedelta

import pytest
from alembic import command
from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from core.pipeline.storage import Storage
from core.store.db import _alembic_config, utcnow

pytestmark = pytest.mark.postgres


async def test_a_value_is_saved_and_replaced_in_its_channel_only(storage: Storage) -> None:
    telegram, other = storage.channel_values.of("telegram"), storage.channel_values.of("other")
    assert await telegram.get("update_offset") is None
    await telegram.put("update_offset", "41")
    await telegram.put("update_offset", "42")
    assert await telegram.get("update_offset") == "42"
    assert await other.get("update_offset") is None


async def test_newer_than_leaves_out_an_older_value(storage: Storage) -> None:
    email = storage.channel_values.of("email")
    await email.put("by-subject", "<root@example.com>")
    assert await email.get("by-subject", newer_than=utcnow() - timedelta(minutes=1)) == "<root@example.com>"
    assert await email.get("by-subject", newer_than=utcnow() + timedelta(minutes=1)) is None


def _migrate(connection: Connection, revision: str) -> None:
    config = _alembic_config(connection)
    (command.upgrade if revision == "head" else command.downgrade)(config, revision)


async def test_the_cursor_tables_values_move_to_the_channels_own_store(engine: AsyncEngine, storage: Storage) -> None:
    async with engine.begin() as connection:
        await connection.run_sync(_migrate, "0009")
        await connection.execute(
            text(
                "INSERT INTO channel_cursors (channel, name, value, updated_at) VALUES "
                "('telegram', 'update_offset', '42', :now), ('email', 'imap:INBOX', '7:19', :now)"
            ),
            {"now": utcnow()},
        )
        await connection.run_sync(_migrate, "head")
    assert await storage.channel_values.of("telegram").get("update_offset") == "42"
    assert await storage.channel_values.of("email").get("imap:INBOX") == "7:19"
