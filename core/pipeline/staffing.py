"""Whether a person can come: a chat-platform desk is set up (Slack's staff channel), or the
browser inbox is (the dashboard on, and someone on the staff who has joined). Without either,
nobody is handed over: the bot keeps the conversation, offers nobody and says where to reach
the team instead (`core.handoff.reach`).

The inbox's part changes while the hub runs (an invitation accepted, the last person removed).
Someone there is remembered for `REFRESH_S`; nobody there is asked again the next time, so the
first customer after the first person joined can be handed over. Every turn asks (its replies
are written knowing the answer): with a desk, or someone in the inbox, that costs nothing; an
inbox with nobody in it costs one small query a turn."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

REFRESH_S = 30.0


class Staffing:
    def __init__(self, *, desk: bool, inbox: Callable[[], Awaitable[bool]] | None) -> None:
        """`desk`: a chat-platform desk is ready; `inbox`: whether the inbox has people now
        (None: the dashboard is off, so there is no inbox)."""
        self._desk = desk
        self._inbox = inbox
        self._known = False
        self._read_at = 0.0

    async def staffed(self) -> bool:
        if self._desk:
            return True
        if self._inbox is None:
            return False
        now = time.monotonic()
        if not self._known or now - self._read_at >= REFRESH_S:
            self._known = await self._inbox()
            self._read_at = now
        return self._known
