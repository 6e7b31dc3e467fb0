"""Micro-batching: concurrent callers' items processed together, off the event loop.

A transformer forward pass over 25 short queries costs little more than over one, so a
server answering many clients at once is bound by how many `encode` calls it makes, not by
how many texts. Every `submit` puts its item on a queue; one task takes everything queued
*right now* (up to `max_batch`), splits it — by size, so each part pads little — into one
part per worker thread, and runs `process` on the parts in parallel. A lone request waits
for nothing; while one batch is processed the next one accumulates.

Why parallel single-threaded workers (for a process where the model runs one thread per
forward pass): measured on this 2-core machine behind the HTTP API with 50 clients, when the
model still ran on PyTorch, torch's own
two threads per operation reached 101 answers/s (its threads wait for each other at every
operation, and stall whenever the event loop takes a core); one torch thread 137/s; two
single-threaded workers 180/s.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")

RELEASE_SLICE = 4
"""Callers of a finished batch woken per pass of the event loop. Measured in `serve` on a
50,000-chunk index under 50 clients, where a caller's ranking and turn take a millisecond or
two of Python after the await: all of a batch at once, the loop's lag p99 was 66 ms; four at
a time, 23 ms — timers, sockets and the next batch's callers get their turn between slices."""


@dataclass
class _LoopState(Generic[T, R]):
    """The queue and task of one event loop (tests run many loops in one process)."""

    loop: asyncio.AbstractEventLoop
    queue: asyncio.Queue[tuple[T, asyncio.Future[R]]] = field(default_factory=asyncio.Queue)
    task: asyncio.Task[None] | None = None


class MicroBatcher(Generic[T, R]):
    def __init__(
        self,
        process: Callable[[list[T]], list[R]],
        *,
        size: Callable[[T], int],
        max_batch: int = 64,
        workers: int = 1,
    ) -> None:
        self._process = process
        self._size = size
        self.max_batch = max_batch
        self.workers = workers
        self._executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="batch")
        self._state: _LoopState[T, R] | None = None
        self.batches = 0
        """How many batches were processed (observability and tests)."""

    async def submit(self, item: T) -> R:
        """`process([item])[0]`, computed together with whatever else is waiting."""
        state = self._loop_state()
        future: asyncio.Future[R] = state.loop.create_future()
        state.queue.put_nowait((item, future))
        return await future

    async def submit_all(self, items: Sequence[T]) -> list[R]:
        """`submit` for each of `items`, all queued at once: they go in one batch when the
        batch has room."""
        state = self._loop_state()
        futures: list[asyncio.Future[R]] = []
        for item in items:
            futures.append(state.loop.create_future())
            state.queue.put_nowait((item, futures[-1]))
        return list(await asyncio.gather(*futures))

    def _loop_state(self) -> _LoopState[T, R]:
        loop = asyncio.get_running_loop()
        state = self._state
        if state is None or state.loop is not loop or state.task is None or state.task.done():
            state = _LoopState(loop=loop)
            state.task = loop.create_task(self._work(state), name="micro-batcher")
            self._state = state
        return state

    async def _work(self, state: _LoopState[T, R]) -> None:
        live: list[tuple[T, asyncio.Future[R]]] = []
        try:
            while True:
                items = [await state.queue.get()]
                while len(items) < self.max_batch and not state.queue.empty():
                    items.append(state.queue.get_nowait())
                live = [(item, future) for item, future in items if not future.cancelled()]
                if not live:
                    continue
                try:
                    results = await self._in_parallel(state.loop, [item for item, _ in live])
                except Exception as exc:  # noqa: BLE001 — hand the failure to every waiting caller
                    for _, future in live:
                        if not future.done():
                            future.set_exception(exc)
                    continue
                self.batches += 1
                _release(state.loop, [(future, result) for (_, future), result in zip(live, results, strict=True)])
                live = []
        finally:  # stopped (`aclose`): nobody will answer the callers still waiting
            for _, future in live:
                future.cancel()
            while not state.queue.empty():
                state.queue.get_nowait()[1].cancel()

    async def _in_parallel(self, loop: asyncio.AbstractEventLoop, items: Sequence[T]) -> list[R]:
        order = sorted(range(len(items)), key=lambda i: self._size(items[i]))
        step = -(-len(items) // self.workers)
        parts = [order[start : start + step] for start in range(0, len(order), step)]
        done = await asyncio.gather(
            *(loop.run_in_executor(self._executor, self._process, [items[i] for i in part]) for part in parts)
        )
        results: list[R | None] = [None] * len(items)
        for part, part_results in zip(parts, done, strict=True):
            for i, result in zip(part, part_results, strict=True):
                results[i] = result
        return results  # type: ignore[return-value]  # every slot was filled above

    async def aclose(self) -> None:
        """Stop the task of the current loop and the worker threads."""
        state, self._state = self._state, None
        if state is not None and state.task is not None and not state.task.done():
            state.task.cancel()
            try:
                if state.loop is asyncio.get_running_loop():
                    await state.task
            except (asyncio.CancelledError, RuntimeError):
                pass
        self._executor.shutdown(wait=False, cancel_futures=True)


def _release(loop: asyncio.AbstractEventLoop, done: Sequence[tuple[asyncio.Future[R], R]], start: int = 0) -> None:
    """Hand `done[start:]` their results, `RELEASE_SLICE` per pass of the loop: the callers
    woken now run in the next pass, and this schedules the next slice after them."""
    for future, result in done[start : start + RELEASE_SLICE]:
        if not future.done():
            future.set_result(result)
    if start + RELEASE_SLICE < len(done):
        loop.call_soon(_release, loop, done, start + RELEASE_SLICE)
