"""The sweep: what a previous run, or another process that died, left behind — messages nobody
answers any more, replies nobody delivered — is claimed and taken up, at start and then every
`outbox.poll_interval_s`. The database's conditional updates make every answer and every
delivery happen once, whichever process sweeps."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Collection

from core.channel import StorageUnavailable
from core.pipeline.conversation_workers import ANSWER_LEASE
from core.pipeline.outbox import Outbox
from core.pipeline.storage import Storage
from core.store.db import DESK
from core.store.inbox import PendingMessage

log = logging.getLogger(__name__)


class Sweeper:
    def __init__(
        self,
        storage: Storage,
        outbox: Outbox,
        *,
        channels: Collection[str],
        desk: bool,
        in_hand: Collection[int],
        take: Callable[[PendingMessage], None],
        interval_s: float,
    ) -> None:
        """`channels`: only this hub's channels (a `supporthub ask` beside a running server must
        not take the server's work, nor fail to deliver it); `desk`: whether this hub delivers
        to a staff desk; `take` queues a claimed message unless it is `in_hand` already."""
        self._storage = storage
        self._outbox = outbox
        self._channels = channels
        self._lanes = [*channels, *([DESK] if desk else [])]
        self._in_hand = in_hand
        self._take = take
        self._interval_s = interval_s
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Sweep once now, then keep sweeping."""
        await self.sweep()
        self._task = asyncio.create_task(self._sweep_forever(), name="hub-sweeper")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    async def sweep(self) -> None:
        inbox = self._storage.inbox
        for conversation_id in await inbox.conversations_with_pending(self._channels):
            for pending in await inbox.claim(conversation_id, lease=ANSWER_LEASE):
                if pending.id not in self._in_hand:
                    self._take(pending)
        for conversation_id, lane in await self._storage.outbox.due_lanes(self._lanes):
            await self._outbox.deliver_conversation(conversation_id, lane)

    async def _sweep_forever(self) -> None:
        """A database out of reach is said once, and once more when it answers again: a
        traceback on every pass would bury the log."""
        failed = 0
        while True:
            await asyncio.sleep(self._interval_s)
            try:
                await self.sweep()
            except asyncio.CancelledError:
                raise
            except StorageUnavailable as exc:
                if not failed:
                    log.warning(
                        "hub: the sweep cannot reach the database (%s); trying again every %g s", exc, self._interval_s
                    )
                failed += 1
                continue
            except Exception:
                log.exception("hub: sweep failed; trying again")
                continue
            if failed:
                log.info("hub: the database answers the sweep again (after %d failed passes)", failed)
                failed = 0
