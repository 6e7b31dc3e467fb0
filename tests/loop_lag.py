"""How long the event loop was held while a test did something: a tiny task ticks on the loop,
and each gap between two ticks is a time the loop could not run it.

A gap counts only as long as the process was busy during it: `held = min(wall, cpu)`, with `cpu`
the process's CPU time (all its threads) spent in the gap. Work that holds the loop burns CPU
for as long as it holds it — on the loop itself, or in a worker thread keeping the GIL — so a
stall of our making is counted in full; a machine too busy to run the test (a 2-core CI box
shared with other jobs, a container's CPU quota used up) stops the whole process, and such a
gap burns no CPU and is not counted. The garbage collector is kept out too: the heap is frozen
(`gc.freeze`, as `supporthub serve` does after start-up) before the watch, so a full collection
does not walk the index and the model loaded by earlier tests.

Still counted, and so part of the margin: work other threads of this process do in parallel
during a gap that the scheduler alone caused (the encoder's torch threads, a few ms a query).
"""

from __future__ import annotations

import asyncio
import gc
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

TICK_S = 0.001


@dataclass
class LoopWatch:
    """The ticks seen while the watch ran: (wall time, process CPU time) each."""

    ticks: list[tuple[float, float]] = field(default_factory=list, repr=False)

    @property
    def longest_hold(self) -> float:
        """The longest time, in seconds, the loop was held by work of this process."""
        pairs = zip(self.ticks, self.ticks[1:], strict=False)
        return max(
            (min(wall - earlier_wall, cpu - earlier_cpu) for (earlier_wall, earlier_cpu), (wall, cpu) in pairs),
            default=0.0,
        )

    @property
    def longest_gap(self) -> float:
        """The longest wall-clock gap between two ticks, whoever caused it (for messages)."""
        return max(
            (later[0] - earlier[0] for earlier, later in zip(self.ticks, self.ticks[1:], strict=False)), default=0.0
        )


@asynccontextmanager
async def loop_watched() -> AsyncIterator[LoopWatch]:
    """Ticks the running loop every millisecond until the block ends."""
    watch = LoopWatch()

    async def tick() -> None:
        while True:
            watch.ticks.append((time.perf_counter(), time.process_time()))
            await asyncio.sleep(TICK_S)

    gc.collect()
    gc.freeze()
    ticker = asyncio.create_task(tick())
    try:
        await asyncio.sleep(TICK_S)  # the first tick is in before the block starts
        yield watch
    finally:
        ticker.cancel()
        watch.ticks.append((time.perf_counter(), time.process_time()))  # a stall up to the end counts
        gc.unfreeze()
