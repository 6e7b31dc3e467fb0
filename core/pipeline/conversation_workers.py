"""Answers in conversation order: one worker per conversation drains its queue, oldest message
first, and across hub processes (PostgreSQL) a message waits while another process holds an
older one of its conversation, so replies never overtake each other.

A message is claimed in the database for a short lease before it is queued here (by `receive`
or by the sweep); its claim is renewed while its turn runs (`claim_kept`), so another process
takes it over only when this one died.
"""

from __future__ import annotations

import asyncio
import bisect
import contextvars
import logging
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import timedelta

from core.log_context import bound_ids
from core.store.inbox import Inbox, PendingMessage

log = logging.getLogger(__name__)

ANSWER_LEASE = timedelta(seconds=15)
ORDER_POLL_S = 0.25
"""How often a message waits for an older one of its conversation held by another process."""


class ConversationWorkers:
    """The queues and their workers; `answer` takes one message's turn."""

    def __init__(
        self,
        inbox: Inbox,
        *,
        answer: Callable[[PendingMessage], Awaitable[None]],
        finished: Callable[[int], None],
        shared: bool,
    ) -> None:
        """`finished` is called with each message's id once its turn here is over, answered or
        not; `shared`: other hub processes may answer the same conversations (PostgreSQL)."""
        self._inbox = inbox
        self._answer = answer
        self._finished = finished
        self._shared = shared
        self._queues: dict[str, deque[PendingMessage]] = {}
        self._workers: dict[str, asyncio.Task[None]] = {}
        self.in_hand: set[int] = set()
        """Messages queued or being answered here."""

    def enqueue(self, pending: PendingMessage) -> None:
        """Queue a claimed message in its conversation's order (a message the sweep takes over
        from a dead process may be older than the queue's), starting the worker if none runs."""
        self.in_hand.add(pending.id)
        queue = self._queues.setdefault(pending.conversation_id, deque())
        queue.insert(bisect.bisect([p.id for p in queue], pending.id), pending)
        if pending.conversation_id not in self._workers:
            # A fresh context: the worker outlives the request that started it, and must not
            # log that request's id against later messages.
            self._workers[pending.conversation_id] = asyncio.create_task(
                self._work(pending.conversation_id),
                name=f"conversation-{pending.conversation_id}",
                context=contextvars.Context(),
            )

    async def stop(self) -> None:
        tasks = list(self._workers.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._workers.clear()
        self._queues.clear()

    @asynccontextmanager
    async def claim_kept(self, pending: PendingMessage) -> AsyncIterator[None]:
        """Renew the message's claim meanwhile: a model or a file may take longer than the
        lease, and another process must not take the message over."""

        async def renew() -> None:
            while True:
                await asyncio.sleep(ANSWER_LEASE.total_seconds() / 3)
                try:
                    await self._inbox.extend_claim(pending.id, lease=ANSWER_LEASE)
                except Exception:
                    log.warning("hub: could not renew the claim on message %s", pending.id, exc_info=True)

        renewal = asyncio.create_task(renew(), name=f"claim-{pending.id}")
        try:
            yield
        finally:
            renewal.cancel()
            await asyncio.gather(renewal, return_exceptions=True)

    async def _work(self, conversation_id: str) -> None:
        queue = self._queues[conversation_id]
        try:
            while queue:
                pending = queue[0]
                if not await self._earlier_answered(pending) or queue[0] is not pending:
                    continue  # older messages were queued first
                queue.popleft()
                try:
                    with bound_ids(
                        conversation_id=conversation_id, message_id=pending.id, channel=pending.address.channel
                    ):
                        await self._answer(pending)
                finally:
                    self.in_hand.discard(pending.id)
                    self._finished(pending.id)
        finally:
            self._workers.pop(conversation_id, None)
            if not queue:
                self._queues.pop(conversation_id, None)

    async def _earlier_answered(self, pending: PendingMessage) -> bool:
        """Whether the conversation's older messages are answered. Older ones nobody holds
        are claimed and queued here (False); while another process holds one, wait for it —
        keeping the claim on `pending` — so replies never overtake each other across processes.
        One process alone keeps the order with its sorted queue, and a message stored first in
        line has none to wait for: nothing to ask then."""
        if not self._shared or pending.first_in_line:
            return True
        if (ready := await self._older_ones_settled(pending)) is not None:
            return ready
        async with self.claim_kept(pending):
            while (ready := await self._older_ones_settled(pending)) is None:
                await asyncio.sleep(ORDER_POLL_S)
            return ready

    async def _older_ones_settled(self, pending: PendingMessage) -> bool | None:
        """True: none is left; False: some were queued here first; None: another process holds one."""
        claimed, waiting = await self._inbox.claim_earlier(
            pending.conversation_id, before=pending.id, lease=ANSWER_LEASE
        )
        taken = [p for p in claimed if p.id not in self.in_hand]
        for earlier in taken:
            self.enqueue(earlier)
        if taken:
            return False
        held = {p.id for p in claimed} | self.in_hand
        return True if all(message_id in held for message_id in waiting) else None
