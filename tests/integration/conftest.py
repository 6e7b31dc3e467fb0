"""The real app over the sample knowledge base, indexed once per test session."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient

from core.runtime import open_database
from core.server import create_app
from core.settings import KnowledgeSettings, Settings
from knowledge.base import KnowledgeBase

SAMPLE_KNOWLEDGE = Path(__file__).resolve().parents[2] / "config" / "knowledge"


async def _index(settings: Settings) -> None:
    async with open_database(settings) as (_, sessionmaker):
        knowledge = await asyncio.to_thread(KnowledgeBase.open, settings, sessionmaker)
        try:
            await knowledge.ingest([SAMPLE_KNOWLEDGE], trigger="test")
        finally:
            await knowledge.aclose()


@pytest.fixture(scope="session")
def indexed_data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data dir holding the sample knowledge base's index (tests get their own database)."""
    data_dir = tmp_path_factory.mktemp("indexed")
    asyncio.run(_index(Settings(data_dir=data_dir, knowledge=KnowledgeSettings(paths=[SAMPLE_KNOWLEDGE]))))
    return data_dir


@pytest.fixture
def make_settings(indexed_data_dir: Path, tmp_path: Path) -> Callable[..., Settings]:
    def make(**overrides: object) -> Settings:
        values: dict[str, object] = {
            "data_dir": indexed_data_dir,
            "database_url": f"sqlite+aiosqlite:///{tmp_path / 'hub.db'}",
            "knowledge": KnowledgeSettings(paths=[SAMPLE_KNOWLEDGE]),
        }
        values.update(overrides)
        return Settings(**values)  # type: ignore[arg-type]

    return make


@pytest.fixture
async def client(aiohttp_client: Callable[..., object], make_settings: Callable[..., Settings]) -> TestClient:
    return await aiohttp_client(create_app(make_settings()))  # type: ignore[no-any-return, operator]
