"""Work started before it is asked for: a query's encode begun when its message arrives.

A lone message waits for each of its steps in turn: stored, its conversation read, its
language and mood read, and only then searched — the question's encode, the longest step,
started last. The encoder runs with the GIL released, so begun as the message arrives it runs
on the other core while the rest is Python on the event loop (`KnowledgeBase.prepare`), and the
search picks it up (`take`) instead of encoding again.

Started work nobody takes (a message a person answers, or one whose turn searches something
else) is dropped, oldest first, past `MAX_PREPARED`; dropping cancels it if it has not run.
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


class Prepared(Generic[K, R]):
    def __init__(self, limit: int = MAX_PREPARED) -> None:
        self._limit = limit
        self._started: OrderedDict[K, asyncio.Task[R]] = OrderedDict()

    def start(self, key: K, work: Coroutine[Any, Any, R]) -> None:
        """Run `work` now, for the first `take(key)`; a key started already is left running."""
        if key in self._started:
            work.close()
            return
        task = asyncio.get_running_loop().create_task(work)
        task.add_done_callback(_retrieved)
        self._started[key] = task
        while len(self._started) > self._limit:
            _, dropped = self._started.popitem(last=False)
            dropped.cancel()

    def take(self, key: K) -> asyncio.Task[R] | None:
        """The work started for `key`, once (a second search of it encodes again), or None."""
        return self._started.pop(key, None)

    def __len__(self) -> int:
        return len(self._started)


def _retrieved(task: asyncio.Task[Any]) -> None:
    """A failure of work nobody takes is the search's to report, if it comes: not asyncio's."""
    if not task.cancelled():
        task.exception()
