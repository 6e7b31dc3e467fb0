"""Reading the app's own database in a test that drives the app through aiohttp's test client."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from core.cli.server import RUNTIME
from tests.app_client import AppClient


async def count(client: AppClient, table: Any, *where: Any) -> int:
    """Rows of `table` (a model class) that match every condition in `where`."""
    async with client.app[RUNTIME].sessionmaker() as session:
        return (await session.execute(select(func.count()).select_from(table).where(*where))).scalar_one()
