"""The one Alembic history creates exactly the tables the code declares: the app's
(`core.store.db`) and knowledge's own (`knowledge.tables`)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import MetaData, text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from core.store import case_tables, rehearsal_runs  # noqa: F401  (put handoff's and the rehearsals' tables on Base.metadata)
from core.store.db import Base, _alembic_config, head_revision, make_engine, prepare_database, utcnow
from knowledge import tables as knowledge_tables
from tests.postgres import own_postgres_database

pytestmark = pytest.mark.postgres


def both_metadatas() -> MetaData:
    """The app's tables and knowledge's in one MetaData (what compare_metadata takes)."""
    merged = MetaData()
    for metadata in (Base.metadata, knowledge_tables.Base.metadata):
        for table in metadata.tables.values():
            table.to_metadata(merged)
    return merged


def differences(connection: Connection) -> list[Any]:
    context = MigrationContext.configure(connection, opts={"compare_type": True, "compare_server_default": True})
    return list(compare_metadata(context, both_metadatas()))


@pytest.fixture(params=["sqlite", "postgres"])
def empty_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database with no tables at all (the other tests get a copy of the migrated template)."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'empty.db'}"
        return
    with own_postgres_database("the migration tests") as url:
        yield url


@pytest.fixture
async def empty_engine(empty_database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = make_engine(empty_database_url)
    yield engine
    await engine.dispose()


def revision(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


async def test_a_new_database_is_migrated_to_exactly_the_schema_both_metadatas_declare(
    empty_engine: AsyncEngine,
) -> None:
    """From no table at all, through every migration, as a first `serve` does. Tables, columns,
    types, nullability, indexes and unique constraints, and server defaults too (Alembic leaves
    them out by default; here they compare cleanly)."""
    await prepare_database(empty_engine)
    async with empty_engine.connect() as connection:
        assert await connection.run_sync(differences) == []
        assert await connection.run_sync(revision) == head_revision()


def previous_revision() -> str:
    """The schema one migration before the newest: what the hub ran before this version."""
    newest = head_revision()
    assert newest is not None
    head = ScriptDirectory.from_config(_alembic_config()).get_revision(newest)
    assert head is not None and isinstance(head.down_revision, str)
    return head.down_revision


async def test_a_database_of_the_previous_version_is_upgraded_when_the_hub_opens_it(
    empty_engine: AsyncEngine,
) -> None:
    """`prepare_database` leaves a database at the newest revision alone; one revision behind,
    it migrates it, keeping the conversations already there."""
    async with empty_engine.begin() as connection:
        await connection.run_sync(lambda sync: command.upgrade(_alembic_config(sync), previous_revision()))
        await connection.execute(text("INSERT INTO contacts (id, created_at) VALUES ('ada', :now)"), {"now": utcnow()})
        await connection.execute(
            text(
                "INSERT INTO conversations (id, contact_id, channel, chat_id, thread_id, state, created_at, updated_at) "
                "VALUES ('c1', 'ada', 'web', 's1', '', 'bot', :now, :now)"
            ),
            {"now": utcnow()},
        )
        await connection.execute(
            text(
                "INSERT INTO messages (id, conversation_id, channel, author, text, citations, handoff, created_at) "
                "VALUES (1, 'c1', 'web', 'customer', 'How do I reset my password?', '[]', false, :now)"
            ),
            {"now": utcnow()},
        )
    await prepare_database(empty_engine)
    async with empty_engine.connect() as connection:
        assert await connection.run_sync(revision) == head_revision()
        assert await connection.run_sync(differences) == []
        kept = (await connection.execute(text("SELECT conversation_id, text FROM messages"))).all()
    assert [tuple(row) for row in kept] == [("c1", "How do I reset my password?")]


async def test_a_database_at_the_newest_revision_is_opened_without_running_alembic(
    engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every restart, and every test's copy of the migrated template, only reads the revision."""

    def refuse(*_: object, **__: object) -> None:
        raise AssertionError("Alembic's upgrade ran on a database already at the newest revision")

    monkeypatch.setattr(command, "upgrade", refuse)
    await prepare_database(engine)
    async with engine.connect() as connection:
        assert await connection.run_sync(revision) == head_revision()


def test_the_tables_are_declared_once() -> None:
    app, knowledge = set(Base.metadata.tables), set(knowledge_tables.Base.metadata.tables)
    assert {"knowledge_documents", "index_runs", "index_versions"} <= knowledge
    assert not app & knowledge


def _to(connection: Connection, revision: str) -> None:
    config = _alembic_config(connection)
    if revision == "head":
        command.upgrade(config, revision)
    else:
        command.downgrade(config, revision)


async def test_verified_identities_get_their_own_kinds_and_a_plain_mail_sender_stays_unverified(
    engine: AsyncEngine,
) -> None:
    """Before 0009 a verified email and a plain From: sender shared the key ('email', address).
    Such a row is taken as verified only where its contact also wrote on another channel, and
    the sender's own identity then moves to a contact of its own; phones were only ever verified."""
    async with engine.begin() as connection:
        await connection.run_sync(_to, "0008")
        await connection.execute(
            text("INSERT INTO contacts (id, created_at) VALUES ('widget-ada', :now), ('mail-only', :now)"),
            {"now": utcnow()},
        )
        await connection.execute(
            text(
                "INSERT INTO conversations (id, contact_id, channel, chat_id, thread_id, state, created_at, updated_at) "
                "VALUES ('c1', 'widget-ada', 'web', 's1', '', 'bot', :now, :now), "
                "('c2', 'mail-only', 'email', 'eve@x.example', 'm1', 'bot', :now, :now)"
            ),
            {"now": utcnow()},
        )
        await connection.execute(
            text(
                "INSERT INTO identities (channel, external_user_id, contact_id) VALUES "
                "('email', 'ada@x.example', 'widget-ada'), ('phone', '+15550001', 'widget-ada'), "
                "('email', 'eve@x.example', 'mail-only')"
            )
        )
        await connection.run_sync(_to, "head")
        rows = (
            await connection.execute(
                text("SELECT channel, external_user_id, contact_id FROM identities ORDER BY channel, external_user_id")
            )
        ).all()
    by_key = {(channel, user): contact for channel, user, contact in rows}
    assert by_key.keys() == {
        ("email", "ada@x.example"),
        ("email", "eve@x.example"),
        ("verified-email", "ada@x.example"),
        ("verified-phone", "+15550001"),
    }
    assert by_key["verified-email", "ada@x.example"] == by_key["verified-phone", "+15550001"] == "widget-ada"
    assert by_key["email", "eve@x.example"] == "mail-only"
    apart = by_key["email", "ada@x.example"]  # a plain From: ada@… no longer reaches the verified Ada
    assert apart not in ("widget-ada", "mail-only")
    async with engine.connect() as connection:
        assert (
            await connection.execute(text("SELECT count(*) FROM contacts WHERE id = :id"), {"id": apart})
        ).scalar_one() == 1


async def test_a_conversation_closed_with_its_case_is_the_bots(engine: AsyncEngine) -> None:
    """Before 0010 a resolved case left its conversation 'closed', a state in which the bot answered."""
    async with engine.begin() as connection:
        await connection.run_sync(_to, "0009")
        await connection.execute(text("INSERT INTO contacts (id, created_at) VALUES ('ada', :now)"), {"now": utcnow()})
        await connection.execute(
            text(
                "INSERT INTO conversations (id, contact_id, channel, chat_id, thread_id, state, created_at, updated_at) "
                "VALUES ('c1', 'ada', 'web', 's1', '', 'closed', :now, :now), ('c2', 'ada', 'web', 's2', '', 'human', :now, :now)"
            ),
            {"now": utcnow()},
        )
        await connection.run_sync(_to, "head")
        rows = (await connection.execute(text("SELECT id, state FROM conversations ORDER BY id"))).all()
    assert [tuple(row) for row in rows] == [("c1", "bot"), ("c2", "human")]


async def test_desk_work_the_cases_still_owed_is_queued_in_the_outbox(engine: AsyncEngine) -> None:
    """Before 0012 the desk found its work in the cases (no card posted yet, `mirrored_upto`):
    an open case's unposted card and its customer lines not yet mirrored become outbox rows."""
    before, after = datetime(2026, 11, 1, 9, 0, tzinfo=UTC), datetime(2026, 11, 1, 9, 30, tzinfo=UTC)
    async with engine.begin() as connection:
        await connection.run_sync(_to, "0011")
        await connection.execute(text("INSERT INTO contacts (id, created_at) VALUES ('ada', :at)"), {"at": before})
        await connection.execute(
            text(
                "INSERT INTO conversations (id, contact_id, channel, chat_id, thread_id, state, created_at, updated_at) "
                "VALUES ('c1', 'ada', 'web', 's1', '', 'waiting', :at, :at), "
                "('c2', 'ada', 'web', 's2', '', 'human', :at, :at), ('c3', 'ada', 'web', 's3', '', 'bot', :at, :at)"
            ),
            {"at": before},
        )
        for message_id, conversation, author, at in [
            (1, "c1", "customer", before),
            (2, "c2", "customer", before),
            (3, "c2", "customer", after),  # mirrored already
            (4, "c2", "customer", after),  # not yet
            (5, "c2", "staff", after),
            (6, "c3", "customer", after),
        ]:
            await connection.execute(
                text(
                    "INSERT INTO messages (id, conversation_id, channel, author, text, citations, handoff, created_at) "
                    "VALUES (:id, :conversation, 'web', :author, 'text', '[]', false, :at)"
                ),
                {"id": message_id, "conversation": conversation, "author": author, "at": at},
            )
        opened = before + timedelta(minutes=10)
        await connection.execute(
            text(
                "INSERT INTO cases (id, conversation_id, state, rule, reason, desk_ref, mirrored_upto, opened_at, "
                "updated_at) VALUES ('k1', 'c1', 'waiting', 'human_request', 'r', NULL, 0, :opened, :opened), "
                "('k2', 'c2', 'human', 'human_request', 'r', '1.0', 3, :opened, :opened), "
                "('k3', 'c3', 'closed', 'human_request', 'r', NULL, 0, :opened, :opened)"
            ),
            {"opened": opened},
        )
        await connection.run_sync(_to, "head")
        rows = (
            await connection.execute(
                text("SELECT kind, chat_id, message_id, channel, status FROM outbox ORDER BY message_id")
            )
        ).all()
    assert [tuple(row) for row in rows] == [
        ("card", "k1", 1, "desk", "pending"),
        ("line", "k2", 4, "desk", "pending"),
    ]
