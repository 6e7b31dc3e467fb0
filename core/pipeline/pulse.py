"""A process-wide beat on every change to conversations and cases: a message stored here or
in another process (through `core.pipeline.notifications`), a case moved from a desk. What
shows conversations live to staff (the inbox's event stream) waits for the next beat, then
reads what changed from the database, so a beat carries nothing and a missed one costs only
the waiter's own timeout."""

from __future__ import annotations

import asyncio


class Pulse:
    def __init__(self) -> None:
        self._next = asyncio.Event()

    def beat(self) -> None:
        """Wake everyone waiting now; later waiters wait for the next beat."""
        self._next.set()
        self._next = asyncio.Event()

    async def wait(self, timeout: float) -> bool:
        """Until the next beat (True) or `timeout` seconds (False)."""
        try:
            async with asyncio.timeout(timeout):
                await self._next.wait()
        except TimeoutError:
            return False
        return True
