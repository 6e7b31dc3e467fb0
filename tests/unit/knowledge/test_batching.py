from __future__ import annotations

import asyncio
import itertools
import threading

from knowledge.embedding.batching import MicroBatcher

CALLERS = 64
FEW = 8


async def test_a_finished_batch_leaves_the_loop_its_turns_between_callers() -> None:
    """64 callers of one batch, each running on the loop once it has its result (as a search
    ranks its hits and runs its turn): the loop still comes round every few callers, not only
    after all of them."""
    batcher: MicroBatcher[int, int] = MicroBatcher(
        lambda items: [item * 2 for item in items], size=lambda item: item, max_batch=CALLERS, workers=2
    )
    events: list[str] = []

    async def caller(item: int) -> int:
        result = await batcher.submit(item)
        events.append("caller")
        return result

    async def ticker() -> None:
        while True:
            events.append("pass")
            await asyncio.sleep(0)

    tick = asyncio.create_task(ticker())
    try:
        results = await asyncio.gather(*(caller(i) for i in range(CALLERS)))
    finally:
        tick.cancel()
        await batcher.aclose()
    assert results == [i * 2 for i in range(CALLERS)]
    assert batcher.batches == 1
    runs = [len(list(group)) for event, group in itertools.groupby(events) if event == "caller"]
    assert sum(runs) == CALLERS
    assert max(runs) <= FEW, f"{max(runs)} callers ran in one pass of the loop"


async def test_callers_waiting_when_the_batcher_closes_are_cancelled_not_left_hanging() -> None:
    started, finish = threading.Event(), threading.Event()

    def slow(items: list[int]) -> list[int]:
        started.set()
        finish.wait(5)
        return items

    batcher: MicroBatcher[int, int] = MicroBatcher(slow, size=lambda item: item, max_batch=1, workers=1)
    in_flight = asyncio.create_task(batcher.submit(1))
    queued = asyncio.create_task(batcher.submit(2))
    await asyncio.to_thread(started.wait, 5)
    await batcher.aclose()
    finish.set()
    done, _ = await asyncio.wait([in_flight, queued], timeout=2)
    assert done == {in_flight, queued}
    assert in_flight.cancelled() and queued.cancelled()
