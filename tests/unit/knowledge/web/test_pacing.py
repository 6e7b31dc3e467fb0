"""The polite rate, counted on a clock the test turns: request starts come one interval apart
whoever asks, and a robots.txt Crawl-delay read after the first request already spaces the next."""

from __future__ import annotations

import asyncio

from knowledge.web.pacing import Pacer


class FakeTime:
    """A clock that moves only when a caller sleeps, and the sleeps it was asked for."""

    def __init__(self) -> None:
        self.now = 100.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)


async def test_callers_asking_at_once_start_one_interval_apart_in_the_order_they_asked() -> None:
    time = FakeTime()
    pacer = Pacer(2.0, clock=time.clock, sleep=time.sleep)

    await asyncio.gather(*(pacer.wait() for _ in range(5)))

    assert time.sleeps == [0.5, 1.0, 1.5, 2.0]  # the first went at once


async def test_a_caller_after_a_quiet_spell_goes_at_once() -> None:
    time = FakeTime()
    pacer = Pacer(2.0, clock=time.clock, sleep=time.sleep)
    await pacer.wait()
    time.now += 10

    await pacer.wait()

    assert time.sleeps == []


async def test_a_crawl_delay_spaces_the_very_next_request_and_a_faster_one_changes_nothing() -> None:
    time = FakeTime()
    pacer = Pacer(10.0, clock=time.clock, sleep=time.sleep)
    await pacer.wait()  # robots.txt

    pacer.slow_to(3.0)
    pacer.slow_to(0.01)
    await pacer.wait()
    await pacer.wait()

    assert pacer.interval_s == 3.0
    assert time.sleeps == [3.0, 6.0]
