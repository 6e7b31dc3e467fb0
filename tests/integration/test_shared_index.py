"""Two hosts, each with a data_dir of its own, share a real Chroma server and one PostgreSQL
database: what one ingests or removes, the other finds or stops finding within seconds,
without a restart, through its own BM25 and heading index."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager
from functools import partial
from pathlib import Path

import pytest

from core.store.db import make_engine, make_sessionmaker, prepare_database
from knowledge.base import KnowledgeBase
from knowledge.settings import KnowledgeSettings
from tests.fakes.chroma_server import chroma_server_url  # noqa: F401 — the fixture
from tests.postgres import own_postgres_database

pytestmark = [pytest.mark.postgres, pytest.mark.slow("a real Chroma server shared by two knowledge bases")]

FOLLOW_TIMEOUT_S = 10.0
"""A few seconds: one check interval (2 s) plus a rebuild from the Chroma server."""

DOCUMENTS = {
    "shipping.md": "# Shipping\n\n## Delivery times\n\nParcels within Europe arrive in three to five days.\n",
    "refunds.md": "# Refunds\n\n## Money back\n\nAsk for a refund within 30 days on the Billing page.\n",
    "security.md": "# Account security\n\n## Lost phone\n\nSign in with one of your recovery codes.\n",
}
FLUMBRINATOR = """# Flumbrinator calibration

## Resetting the flumbrinator

Hold the crimson dial for nine seconds, until the hull lamp blinks twice, then release it.
"""


@pytest.fixture
def database_of_our_own() -> Iterator[str]:
    """A PostgreSQL database created for this test and dropped after: the hosts migrate it,
    and no other test sees its schema."""
    with own_postgres_database("the shared-index test") as url:
        yield url


@asynccontextmanager
async def host(*, database_url: str, chroma_url: str, collection: str, data_dir: Path) -> AsyncIterator[KnowledgeBase]:
    """One host's knowledge base, opened as `supporthub serve` opens it, on the module's Chroma
    server in `collection`."""
    engine = make_engine(database_url)
    try:
        await prepare_database(engine)
        knowledge = await asyncio.to_thread(
            partial(
                KnowledgeBase.open,
                KnowledgeSettings(chroma_url=chroma_url, collection=collection),
                data_dir=data_dir,
                sessionmaker=make_sessionmaker(engine),
                serving=True,
            )
        )
        try:
            await knowledge.catch_up()
            yield knowledge
        finally:
            await knowledge.aclose()
    finally:
        await engine.dispose()


async def within(seconds: float, condition: Callable[[], Awaitable[bool]]) -> float:
    """How long `condition` took to hold, polled; fails after `seconds`."""
    started = time.monotonic()
    while not await condition():
        assert time.monotonic() - started < seconds, f"not within {seconds:g} s"
        await asyncio.sleep(0.1)
    return time.monotonic() - started


async def sources(knowledge: KnowledgeBase, query: str, k: int = 5) -> list[str]:
    return [Path(hit.source).name for hit in await knowledge.search(query, k)]


async def test_a_host_follows_another_hosts_ingest_and_removal_without_a_restart(
    database_of_our_own: str, chroma_url: str, tmp_path: Path
) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    for name, content in {**DOCUMENTS, "flumbrinator.md": FLUMBRINATOR}.items():
        (docs / name).write_text(content, encoding="utf-8")
    collection = f"shared-{uuid.uuid4().hex[:8]}"
    opened = partial(host, database_url=database_of_our_own, chroma_url=chroma_url, collection=collection)

    async with opened(data_dir=tmp_path / "host-a") as a:
        async with opened(data_dir=tmp_path / "host-b") as b:
            assert await b.search("Where is the Flumbrinator?") == []
            summary = await a.reindex([docs], trigger="host a")
            assert summary.added == 4

            async def found_by_its_name() -> bool:
                """Only B's own BM25 index knows the name is rare: that makes it an exact match."""
                hits = await b.search("Where is the Flumbrinator?", 3)
                return bool(hits) and Path(hits[0].source).name == "flumbrinator.md" and hits[0].exact_match

            await within(FOLLOW_TIMEOUT_S, found_by_its_name)
            assert (await sources(b, "how long do I hold the red knob to restart the device?"))[0] == "flumbrinator.md"
            assert (await b.search("how long does delivery take", 1))[0].heading_relevance is not None

            (docs / "flumbrinator.md").unlink()
            assert (await a.reindex([docs], trigger="host a")).removed == 1

            async def gone() -> bool:
                return "flumbrinator.md" not in await sources(b, "Where is the Flumbrinator? the crimson dial")

            await within(FOLLOW_TIMEOUT_S, gone)
            assert (await sources(b, "how long does delivery take", 1)) == ["shipping.md"]

        pointer = tmp_path / "host-b" / "bm25" / collection / "CURRENT"
        published = pointer.read_text(encoding="utf-8"), pointer.stat().st_mtime_ns
        async with opened(data_dir=tmp_path / "host-b") as restarted:
            assert await restarted.catch_up() is False  # its index is as new as the database says
            assert (pointer.read_text(encoding="utf-8"), pointer.stat().st_mtime_ns) == published
            assert "flumbrinator.md" not in await sources(restarted, "Where is the Flumbrinator? the crimson dial")
