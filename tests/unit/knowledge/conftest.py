"""Knowledge fixtures: every test gets its own data_dir (the model is tests/conftest.py's, once per session)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from core.store.db import make_engine, make_sessionmaker
from knowledge.base import KnowledgeBase
from knowledge.embedding.embedder import Embedder
from knowledge.search.index import DenseStore, LocalIndex
from tests.schema_templates import SchemaTemplates


@pytest.fixture
async def kb_engine(tmp_path: Path, schema_templates: SchemaTemplates) -> AsyncIterator[AsyncEngine]:
    engine = make_engine(schema_templates.sqlite(tmp_path / "kb.db"))
    yield engine
    await engine.dispose()


@pytest.fixture
async def kb(tmp_path: Path, embedder: Embedder, kb_engine: AsyncEngine) -> AsyncIterator[KnowledgeBase]:
    data_dir = tmp_path / "data"
    knowledge = KnowledgeBase(
        embedder=embedder,
        dense=DenseStore.open(chroma_url="", data_dir=data_dir, collection="knowledge"),
        local=LocalIndex(data_dir / "bm25" / "knowledge"),
        sessionmaker=make_sessionmaker(kb_engine),
        max_chars=600,
    )
    yield knowledge
    await knowledge.aclose()


@pytest.fixture
async def guarded(embedder: Embedder, kb_engine: AsyncEngine, tmp_path: Path) -> AsyncIterator[KnowledgeBase]:
    """A knowledge base whose re-index stops before removing more than half of the documents."""
    kb = KnowledgeBase(
        embedder=embedder,
        dense=DenseStore.open(chroma_url="", data_dir=tmp_path / "data", collection="knowledge"),
        local=LocalIndex(tmp_path / "data" / "bm25" / "knowledge"),
        sessionmaker=make_sessionmaker(kb_engine),
        max_chars=600,
        max_removed_share=0.5,
    )
    yield kb
    await kb.aclose()
