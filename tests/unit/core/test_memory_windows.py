"""The rate limits' in-memory store: `limits`' moving window, at a cost that does not grow with
the senders it holds."""

from __future__ import annotations

import pytest
from limits import parse
from limits.aio.storage import MemoryStorage
from limits.aio.strategies import MovingWindowRateLimiter

from core.memory_windows import SWEEP_S, MemoryWindows


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


async def test_a_sender_gets_its_amount_per_moving_window_then_more_as_old_hits_leave_it() -> None:
    clock = Clock()
    windows = MemoryWindows(clock)
    item = parse("3/minute")
    for _ in range(3):
        assert await windows.hit(item, "contact", "api", "alice")
        clock.now += 10
    assert not await windows.hit(item, "contact", "api", "alice")
    assert await windows.hit(item, "contact", "api", "bob")  # each sender counts alone
    stats = await windows.get_window_stats(item, "contact", "api", "alice")
    assert (stats.remaining, stats.reset_time) == (0, 1_000_000.0 + 60)
    clock.now = 1_000_000.0 + 60  # the first hit is one window old: it still counts, as in `limits`
    assert not await windows.test(item, "contact", "api", "alice")
    clock.now += 0.5  # now it has left the window
    assert await windows.test(item, "contact", "api", "alice")
    assert await windows.hit(item, "contact", "api", "alice")
    assert not await windows.hit(item, "contact", "api", "alice")


async def test_a_cleared_sender_starts_afresh() -> None:
    windows = MemoryWindows()
    item = parse("1/hour")
    assert await windows.hit(item, "ip", "10.0.0.1")
    assert not await windows.test(item, "ip", "10.0.0.1")
    await windows.clear(item, "ip", "10.0.0.1")
    assert await windows.hit(item, "ip", "10.0.0.1")


async def test_senders_whose_window_passed_are_dropped_and_recent_ones_kept() -> None:
    """At most once a minute, on a hit: a hub with thousands of senders an hour holds only those
    still inside their window."""
    clock = Clock()
    windows = MemoryWindows(clock)
    minute, hour = parse("30/minute"), parse("5/hour")
    for n in range(1000):
        await windows.hit(minute, "contact", "api", f"c{n}")
    await windows.hit(hour, "session", "10.0.0.1")
    clock.now += SWEEP_S + 1
    await windows.hit(minute, "contact", "api", "newcomer")
    assert len(windows) == 2  # the newcomer, and the hour's sender still inside its window
    clock.now -= 10 * SWEEP_S  # a clock set back: sweeps go on from the new time
    await windows.hit(minute, "contact", "api", "early")
    clock.now += SWEEP_S + 1
    await windows.hit(minute, "contact", "api", "later")
    assert len(windows) == 3  # "early" is gone; the two hits "ahead" of the clock stay
    stats = await windows.get_window_stats(hour, "session", "10.0.0.1")
    assert stats.remaining == 4


@pytest.mark.parametrize("limit", ["2/second", "3/minute", "1/hour"])
async def test_it_answers_as_limits_own_memory_store_does(limit: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The same hits at the same times, across the window's edge, get the same answers from
    both stores (`limits`' store reads `time.time`, which follows the test's clock here)."""
    clock = Clock()
    monkeypatch.setattr("limits.aio.storage.memory.time.time", clock)
    item = parse(limit)
    ours, theirs = MemoryWindows(clock), MovingWindowRateLimiter(MemoryStorage())
    for n in range(12):
        key = ("contact", "api", f"c{n % 2}")
        assert await ours.hit(item, *key) == await theirs.hit(item, *key)
        mine, its = await ours.get_window_stats(item, *key), await theirs.get_window_stats(item, *key)
        assert mine.remaining == its.remaining
        if its.remaining < item.amount:  # a hit in the window: it names when the window resets
            assert mine.reset_time == its.reset_time
        clock.now += item.get_expiry() * 0.3
