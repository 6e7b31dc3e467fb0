"""Hosts sharing one chroma collection follow each other's ingest runs through the index version
in the database. Here a "host" is a local index in a directory of its own over the one embedded
chroma directory and SQLite database (tests/integration/test_shared_index.py runs the same on a
Chroma server and PostgreSQL)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

from core.store.db import make_sessionmaker
from knowledge.base import KnowledgeBase
from knowledge.embedding.embedder import Embedder
from knowledge.search.index import DenseStore, LocalIndex
from knowledge.search.versions import read_version
from tests.settle import until
from tests.unit.knowledge.test_knowledge_base import write_corpus

FLUMBRINATOR = """# Flumbrinator calibration

## Resetting the flumbrinator

Hold the crimson dial for nine seconds, until the hull lamp blinks twice, then release it.
"""


def other_host(
    embedder: Embedder, engine: AsyncEngine, root: Path, *, follow_interval: float | None = None
) -> KnowledgeBase:
    """A knowledge base on the `kb` fixture's chroma (under root/data) with its own local index."""
    return KnowledgeBase(
        embedder=embedder,
        dense=DenseStore.open(chroma_url="", data_dir=root / "data", collection="knowledge"),
        local=LocalIndex(root / "other-host" / "bm25" / "knowledge"),
        sessionmaker=make_sessionmaker(engine),
        max_chars=600,
        follow_interval=follow_interval,
    )


@contextmanager
def version_reads(engine: AsyncEngine) -> Iterator[list[str]]:
    """The statements reading `index_versions` that reach the database while inside."""
    seen: list[str] = []

    def record(_connection: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if statement.lstrip().upper().startswith("SELECT") and "index_versions" in statement:
            seen.append(statement)

    event.listen(engine.sync_engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", record)


async def test_only_a_run_that_changed_chroma_gives_the_index_a_new_version(
    kb: KnowledgeBase, kb_engine: AsyncEngine, tmp_path: Path
) -> None:
    sessionmaker = make_sessionmaker(kb_engine)
    docs = write_corpus(tmp_path)
    await kb.ingest([docs], trigger="first")
    first = await read_version(sessionmaker, "knowledge")
    assert first is not None and kb.local.snapshot.index_version == first

    await kb.ingest([docs], trigger="unchanged")
    assert await read_version(sessionmaker, "knowledge") == first

    (docs / "flumbrinator.md").write_text(FLUMBRINATOR, encoding="utf-8")
    await kb.ingest([docs], trigger="added")
    second = await read_version(sessionmaker, "knowledge")
    assert second not in (None, first) and kb.local.snapshot.index_version == second


async def test_a_host_follows_another_hosts_ingest_checking_the_database_at_most_once_per_interval(
    kb: KnowledgeBase, embedder: Embedder, kb_engine: AsyncEngine, tmp_path: Path
) -> None:
    interval = 1.0
    docs = write_corpus(tmp_path)
    await kb.ingest([docs], trigger="first")
    other = other_host(embedder, kb_engine, tmp_path, follow_interval=interval)
    try:
        assert await other.catch_up()  # a new host: builds its local index from chroma
        with version_reads(kb_engine) as reads:
            started = time.monotonic()
            assert Path((await other.search("how long does delivery take", 1))[0].source).name == "shipping.html"

            async def checked() -> bool:
                return len(reads) == 1

            await until(checked)
            for i in range(20):
                await other.search(f"question number {i} about shipping", 3)
            assert len(reads) <= 1 + (time.monotonic() - started) / interval

        (docs / "flumbrinator.md").write_text(FLUMBRINATOR, encoding="utf-8")
        await kb.ingest([docs], trigger="another host")

        async def found() -> bool:
            hits = await other.search("Where is the Flumbrinator?", 3)
            return bool(hits) and Path(hits[0].source).name == "flumbrinator.md" and hits[0].exact_match

        await until(found)
        [top] = await other.search("how long do I hold the red knob to restart the device?", 1)
        assert Path(top.source).name == "flumbrinator.md"
        assert other.local.snapshot.index_version == await read_version(make_sessionmaker(kb_engine), "knowledge")
    finally:
        await other.aclose()


async def test_processes_sharing_a_data_dir_build_a_new_version_once(
    kb: KnowledgeBase, embedder: Embedder, kb_engine: AsyncEngine, tmp_path: Path
) -> None:
    """Every process of a host sees the new version at about the same time: one builds it, the
    others wait for it and load it; none deletes a version another is still writing."""
    await kb.ingest([write_corpus(tmp_path)], trigger="another host")
    processes = [other_host(embedder, kb_engine, tmp_path) for _ in range(3)]
    rebuilt = await asyncio.gather(*(process.catch_up() for process in processes))
    assert sorted(rebuilt) == [False, False, True]
    version = await read_version(make_sessionmaker(kb_engine), "knowledge")
    assert {process.local.snapshot.index_version for process in processes} == {version}
    directory = tmp_path / "other-host" / "bm25" / "knowledge"
    assert [path.name for path in directory.glob("v-*")] == [(directory / "CURRENT").read_text(encoding="utf-8")]
    for process in processes:
        assert len(process.local.snapshot.records) == await kb.chunk_count()
        assert await process.catch_up() is False
        await process.aclose()
