"""The pulse: a beat that came while its waiter was busy elsewhere is not lost."""

from __future__ import annotations

from core.pipeline.pulse import Pulse


async def test_a_beat_while_the_waiter_was_busy_wakes_it_at_once() -> None:
    pulse = Pulse()
    seen = pulse.beats
    pulse.beat()  # while the waiter was reading the database
    assert await pulse.wait(3600, seen=seen) is True
