from __future__ import annotations

import asyncio
import time

from knowledge.batching import MicroBatcher

CALLERS = 64
WORK_AFTER_S = 0.005
"""What each caller does on the event loop once it has its result (ranking, its turn)."""


async def test_a_finished_batch_leaves_the_loop_its_turns_between_callers() -> None:
    """64 callers of one batch, each holding the loop 5 ms after its result: the loop still
    comes round every few callers, not only after all 320 ms of them."""
    batcher: MicroBatcher[int, int] = MicroBatcher(lambda items: [item * 2 for item in items], size=lambda item: item,
                                                   max_batch=CALLERS, workers=2)
    passes: list[float] = []

    async def caller(item: int) -> int:
        result = await batcher.submit(item)
        time.sleep(WORK_AFTER_S)
        return result

    async def ticker() -> None:
        while True:
            passes.append(time.perf_counter())
            await asyncio.sleep(0)

    tick = asyncio.create_task(ticker())
    try:
        results = await asyncio.gather(*(caller(i) for i in range(CALLERS)))
    finally:
        tick.cancel()
        await batcher.aclose()
    assert results == [i * 2 for i in range(CALLERS)]
    assert batcher.batches == 1
    longest_pass = max(later - earlier for earlier, later in zip(passes, passes[1:]))
    assert longest_pass < CALLERS * WORK_AFTER_S / 4, f"the loop was held {longest_pass * 1000:.0f} ms"
