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
    began: list[str] = []

    async def work(name: str) -> str:
        began.append(name)
        await gate.wait()
        return name

    for name in ("first", "second", "third"):
        started.start(name, work(name))
    assert started.take("first") is None
    second, third = started.take("second"), started.take("third")
    assert second is not None and third is not None
    gate.set()
    assert [await second, await third] == ["second", "third"]
    assert began == ["second", "third"]  # the dropped work never ran


async def test_work_older_than_its_turn_could_be_is_not_handed_out() -> None:
    started: Prepared[str, str] = Prepared(fresh_s=0.05)
    finished = asyncio.Event()

    async def work() -> str:
        finished.set()
        return "encoded against the index of its time"

    started.start("how do I reset my password?", work())
    await finished.wait()
    await asyncio.sleep(0.1)
    assert started.take("how do I reset my password?") is None


class Counted:
    """Work that counts its runs and returns the count."""

    def __init__(self) -> None:
        self.runs = 0

    async def work(self) -> int:
        self.runs += 1
        return self.runs


async def test_finished_work_is_replaced_not_reused_by_a_later_message() -> None:
    started: Prepared[str, int] = Prepared()
    counted = Counted()
    started.start("thanks", counted.work())
    async with asyncio.timeout(30):
        while counted.runs < 1:
            await asyncio.sleep(0)
    started.start("thanks", counted.work())  # a later message of the same words
    task = started.take("thanks")
    assert task is not None and await task == 2


async def test_failed_work_is_left_for_the_search_to_do_itself() -> None:
    started: Prepared[str, str] = Prepared()
    failing = asyncio.Event()

    async def work() -> str:
        failing.set()
        raise RuntimeError("the encoder failed")

    started.start("q", work())
    await failing.wait()  # by now the work has raised
    assert started.take("q") is None


async def test_a_key_started_twice_runs_its_work_once() -> None:
    started: Prepared[str, int] = Prepared()
    counted = Counted()
    started.start("q", counted.work())
    started.start("q", counted.work())
    task = started.take("q")
    assert task is not None and await task == 1
    assert counted.runs == 1 and started.take("q") is None
