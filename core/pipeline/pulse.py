"""A process-wide beat on every change to conversations and cases: a message stored here or
in another process (through `core.pipeline.notifications`), a case moved from a desk. What
shows conversations live to staff (the inbox's one watcher, `core.admin.inbox.live`) waits for
the next beat, then reads what changed from the database, so a beat carries nothing and a
missed one costs only the waiter's own timeout. Beats are counted, so a waiter busy reading
when more came knows to read again at once rather than wait for the next."""

from __future__ import annotations

import asyncio


class Pulse:
    def __init__(self) -> None:
        self.beats = 0
        """How many beats so far."""
        self._next = asyncio.Event()

    def beat(self) -> None:
        """Wake everyone waiting now; later waiters wait for the next beat."""
        self.beats += 1
        self._next.set()
        self._next = asyncio.Event()

    async def wait(self, timeout: float, *, seen: int) -> bool:
        """Until there are more than `seen` beats (True, at once when there are already) or
        `timeout` seconds (False)."""
        if self.beats != seen:
            return True
        try:
            async with asyncio.timeout(timeout):
                await self._next.wait()
        except TimeoutError:
            return False
        return True
