"""A question's encode started as its message arrives (`KnowledgeBase.prepare`): the search takes
it instead of encoding again, and finds what it finds unprepared."""

from __future__ import annotations

import asyncio
from pathlib import Path

from knowledge.base import KnowledgeBase
from knowledge.embedding.prepared import Prepared
from tests.unit.knowledge.test_knowledge_base import write_corpus


async def test_a_prepared_question_is_searched_on_its_one_encode(kb: KnowledgeBase, tmp_path: Path) -> None:
    await kb.ingest([write_corpus(tmp_path)], trigger="test")
    question = "how long does shipping take?"
    unprepared = await kb.search(question, 3)  # its sections' sentences encoded and kept, too
    before = kb.batcher.batches
    kb.prepare(question, 3)
    async with asyncio.timeout(30):  # encoded before anything searches it
        while kb.batcher.batches == before:
            await asyncio.sleep(0.005)
    prepared = await kb.search(question, 3)
    assert kb.batcher.batches - before == 1  # the search took that encode
    assert len(kb.prepared) == 0  # taken: nothing left behind
    await kb.search(question, 3)
    assert kb.batcher.batches - before == 2  # taken once: a second search encodes again
    assert [(h.chunk_id, round(h.relevance, 6)) for h in prepared] == [
        (h.chunk_id, round(h.relevance, 6)) for h in unprepared
    ]


async def test_a_question_prepared_for_another_depth_is_encoded_for_its_own(kb: KnowledgeBase, tmp_path: Path) -> None:
    await kb.ingest([write_corpus(tmp_path)], trigger="test")
    kb.prepare("is my data encrypted?", 5)
    hits = await kb.search("is my data encrypted?", 2)
    assert len(hits) == 2
    assert len(kb.prepared) == 1  # still waiting for a search of depth 5


async def test_work_nobody_took_is_dropped_oldest_first_and_cancelled() -> None:
    started: Prepared[str, str] = Prepared(limit=2)
    gate = asyncio.Event()

    async def work(name: str) -> str:
        await gate.wait()
        return name

    for name in ("first", "second", "third"):
        started.start(name, work(name))
    assert started.take("first") is None
    second, third = started.take("second"), started.take("third")
    assert second is not None and third is not None
    gate.set()
    assert [await second, await third] == ["second", "third"]


async def test_a_key_started_twice_runs_its_work_once() -> None:
    started: Prepared[str, int] = Prepared()
    runs = 0

    async def work() -> int:
        nonlocal runs
        runs += 1
        return runs

    started.start("q", work())
    started.start("q", work())
    task = started.take("q")
    assert task is not None and await task == 1
    assert runs == 1 and started.take("q") is None
