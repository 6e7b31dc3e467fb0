"""Moving-window counts in this process's memory: the rate limits' store when no Redis is set.

It answers as `limits`' MovingWindowRateLimiter on its in-memory storage does: a hit counts
when fewer than the limit's amount fell in the last window, a hit exactly one window old
included; the window resets at its oldest hit's time plus the window. (A sender with no hit in
the window is told now plus the window, where `limits` names a time already past.) What
differs is the cost. `limits`' async MemoryStorage expires its entries by walking every key on
every hit, with a thread hop per key (its threaded one walks them every 10 ms): measured here
with 2,000 senders in the last minute and 130 hits a second, it took 90 % of a core, in a hub
answering about that many messages a second. Here a key's old hits go when the key is next
counted, and a sweep on a hit, at most once per `SWEEP_S`, drops the keys whose window has
passed.

All of it runs on the event loop without awaiting, so no two callers interleave.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable

from limits import RateLimitItem, WindowStats

SWEEP_S = 60.0
"""How often, at most, the keys whose window has passed are dropped (on a hit)."""


class MemoryWindows:
    """`hit`, `test`, `clear` and `get_window_stats` of one hit at a time, as
    `core.rate_limits.CounterStore` calls them on `limits.aio.strategies.MovingWindowRateLimiter`."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._hits: dict[str, tuple[float, deque[float]]] = {}
        """Per key: its window in seconds, and its latest hits (at most the limit's amount), oldest first."""
        self._next_sweep = clock() + SWEEP_S

    def __len__(self) -> int:
        """How many keys are held."""
        return len(self._hits)

    async def hit(self, item: RateLimitItem, *identifiers: str) -> bool:
        now = self._clock()
        self._sweep(now)
        hits = self._recent(item, identifiers, now)
        if len(hits) >= item.amount:
            return False
        hits.append(now)
        return True

    async def test(self, item: RateLimitItem, *identifiers: str) -> bool:
        return len(self._recent(item, identifiers, self._clock())) < item.amount

    async def clear(self, item: RateLimitItem, *identifiers: str) -> None:
        self._hits.pop(item.key_for(*identifiers), None)

    async def get_window_stats(self, item: RateLimitItem, *identifiers: str) -> WindowStats:
        now = self._clock()
        hits = self._recent(item, identifiers, now)
        return WindowStats((hits[0] if hits else now) + item.get_expiry(), item.amount - len(hits))

    def _recent(self, item: RateLimitItem, identifiers: tuple[str, ...], now: float) -> deque[float]:
        """The key's hits within its window (the key is made when it has none)."""
        key = item.key_for(*identifiers)
        found = self._hits.get(key)
        if found is None:
            found = self._hits[key] = (float(item.get_expiry()), deque(maxlen=item.amount))
        window, hits = found
        while hits and hits[0] < now - window:
            hits.popleft()
        return hits

    def _sweep(self, now: float) -> None:
        if self._next_sweep - SWEEP_S <= now < self._next_sweep:  # (a clock set back sweeps too)
            return
        self._next_sweep = now + SWEEP_S
        for key in [key for key, (window, hits) in self._hits.items() if not hits or hits[-1] < now - window]:
            del self._hits[key]
