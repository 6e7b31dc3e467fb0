"""Alembic environment: runs on the connection `prepare_database` hands over, or on
`sqlalchemy.url` when invoked as `alembic -c core/store/migrations/alembic.ini upgrade head`."""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy.engine import Connection

from core.store import case_tables, rehearsal_runs  # noqa: F401  (put handoff's and the rehearsals' tables on Base.metadata)
from core.store.db import Base, make_engine
from knowledge import tables as knowledge_tables

config = context.config
TARGET_METADATA = [Base.metadata, knowledge_tables.Base.metadata]
"""The app's tables and knowledge's own: the one history creates both."""


def run_on(connection: Connection) -> None:
    context.configure(connection=connection, target_metadata=TARGET_METADATA, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


async def run_with_own_engine(url: str) -> None:
    engine = make_engine(url, bounded=False)  # a migration may take minutes
    async with engine.begin() as connection:
        await connection.run_sync(run_on)
    await engine.dispose()


given = config.attributes.get("connection")
if given is not None:
    run_on(given)
else:
    asyncio.run(run_with_own_engine(config.get_main_option("sqlalchemy.url") or ""))
