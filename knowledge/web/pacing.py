"""The polite rate: request starts spaced evenly, whichever worker asks.

Hand-written because no installed library paces: `limits` (installed for the hub's own rate
limits) answers yes or no to a hit and counts whole requests in whole-second windows, so it
would let a window's requests go in one burst and could not say 0.4 requests per second or a
Crawl-delay of 1.5 s; `aiolimiter` is not a dependency. A start slot per request is the whole
algorithm: each caller takes the next slot and sleeps until it comes.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable


class Pacer:
    """Lets one request start every `interval_s` seconds at most, across every caller; the
    first goes at once. Callers are served in the order they asked."""

    def __init__(
        self,
        per_second: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.interval_s = 1.0 / per_second
        self._clock = clock
        self._sleep = sleep
        self._last_slot = float("-inf")
        self._next_slot = float("-inf")

    def slow_to(self, interval_s: float) -> None:
        """Space requests at least `interval_s` apart from now on, counting from the last one
        (a robots.txt Crawl-delay); a shorter interval than the current one changes nothing."""
        self.interval_s = max(self.interval_s, interval_s)
        self._next_slot = max(self._next_slot, self._last_slot + self.interval_s)

    async def wait(self) -> None:
        """Return when this caller's request may start."""
        now = self._clock()
        slot = max(now, self._next_slot)
        self._last_slot = slot
        self._next_slot = slot + self.interval_s  # taken before sleeping: the next caller queues behind
        if slot > now:
            await self._sleep(slot - now)
