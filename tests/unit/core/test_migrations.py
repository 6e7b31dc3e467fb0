"""The one Alembic history creates exactly the tables the code declares: the app's
(`core.db`) and knowledge's own (`knowledge.tables`)."""

from __future__ import annotations

from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import MetaData
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from core.db import Base
from knowledge import tables as knowledge_tables

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


async def test_the_migrated_schema_matches_both_metadatas(engine: AsyncEngine) -> None:
    """Tables, columns, types, nullability, indexes and unique constraints, and server
    defaults too (Alembic leaves them out by default; here they compare cleanly)."""
    async with engine.connect() as connection:
        assert await connection.run_sync(differences) == []


def test_the_tables_are_declared_once() -> None:
    app, knowledge = set(Base.metadata.tables), set(knowledge_tables.Base.metadata.tables)
    assert {"knowledge_documents", "index_runs", "index_versions"} <= knowledge
    assert not app & knowledge
