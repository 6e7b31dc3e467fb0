"""Work started before it is asked for: a query's encode begun when its message arrives.

A lone message waits for each of its steps in turn: stored, its conversation read, its
language and mood read, and only then searched — the question's encode, the longest step,
started last. The encoder runs with the GIL released, so begun as the message arrives it runs
on the other core while the rest is Python on the event loop (`KnowledgeBase.prepare`), and the
search picks it up (`take`) instead of encoding again.

Started work is for the turn of the message that started it, which comes within seconds: work
nobody took within `FRESH_S` (a message a person answers, a retried webhook, a turn that
searched something else) is dropped, and never handed to a later search of the same words — it
was ranked against the index of its time, which a re-index may have replaced. At most
`MAX_PREPARED` are kept, the oldest dropped first; dropping cancels work that has not run.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Coroutine, Hashable
from typing import Any, Generic, TypeVar

K = TypeVar("K", bound=Hashable)
R = TypeVar("R")

MAX_PREPARED = 256
"""Started encodes kept for their search: more than a busy server's queue of waiting turns (50
clients' questions in `bench_traffic`), so a turn does not find its question's dropped."""
FRESH_S = 60.0
"""How long started work waits for its turn. A turn starts within milliseconds of its message
on a quiet server and within a few seconds under load (p95 2 s at 50 clients on a slow
2-core machine); a message queued behind its conversation's earlier ones waits for theirs."""


class Prepared(Generic[K, R]):
    def __init__(self, limit: int = MAX_PREPARED, fresh_s: float = FRESH_S) -> None:
        self._limit = limit
        self._fresh_s = fresh_s
        self._started: OrderedDict[K, tuple[float, asyncio.Task[R]]] = OrderedDict()

    def start(self, key: K, work: Coroutine[Any, Any, R]) -> None:
        """Run `work` now, for the first `take(key)`. Work for the same key still under way is
        shared (two messages of the same words at once); finished work is replaced."""
        loop = asyncio.get_running_loop()
        self._drop_stale(loop.time())
        if (kept := self._started.get(key)) is not None and not kept[1].done():
            work.close()
            return
        self._drop(key)
        task = loop.create_task(work)
        task.add_done_callback(_retrieved)
        self._started[key] = (loop.time(), task)
        while len(self._started) > self._limit:
            self._drop(next(iter(self._started)))

    def take(self, key: K) -> asyncio.Task[R] | None:
        """The work started for `key` within `FRESH_S`, once (a second search of it encodes
        again), or None."""
        kept = self._started.pop(key, None)
        if kept is None:
            return None
        started, task = kept
        if asyncio.get_running_loop().time() - started > self._fresh_s:
            task.cancel()
            return None
        if task.done() and (task.cancelled() or task.exception() is not None):
            return None  # the search tries for itself
        return task

    def __len__(self) -> int:
        return len(self._started)

    def _drop_stale(self, now: float) -> None:
        while self._started:
            key, (started, _) = next(iter(self._started.items()))
            if now - started <= self._fresh_s:
                return
            self._drop(key)

    def _drop(self, key: K) -> None:
        kept = self._started.pop(key, None)
        if kept is not None:
            kept[1].cancel()


def _retrieved(task: asyncio.Task[Any]) -> None:
    """A failure of work nobody takes is the search's to report, if it comes: not asyncio's."""
    if not task.cancelled():
        task.exception()
