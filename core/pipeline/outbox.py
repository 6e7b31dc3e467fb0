"""The durable outbox: replies for push channels, and the staff desk's cards and thread lines,
are persisted before any send, then delivered in conversation order (each lane on its own)
with retries, backoff and dead-lettering. One machine for both: the desk has no leases,
sweep or retry loop of its own. A reply the platform takes only after the customer writes again
is held instead, and staff told (`core.store.held_replies`).

A reply is rendered by its channel here, outside the turn that wrote it, so the send runs
`speaking` the reply's language (the conversation's when the reply has none): the channel's
own words around it — "Sources", SMS's "More:" — are the customer's language too. The
language comes with the claim's query, one column more, not a read of its own.

The retry schedule lives in the database (`next_attempt_at`), not in a retry loop in
memory, so a restart or another process picks up exactly where a failed attempt left off;
that is why this is a few lines of arithmetic rather than a retry library.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Mapping
from datetime import timedelta
from functools import partial
from typing import Protocol
from weakref import WeakValueDictionary

from core.channel import (
    Channel,
    CustomerUnreachable,
    DeliveryDropped,
    DeliveryError,
    DeliveryHeld,
    DeliveryRefused,
    SentParts,
    SplittingChannel,
)
from core.invariants import InvariantError
from core.languages import speaking
from core.log_context import bound_ids
from core.metrics import OUTBOX_DEAD_LETTERED, OUTBOX_HELD, OUTBOX_RETRIES, OUTBOX_SENT
from core.settings import OutboxSettings
from core.store.db import utcnow
from core.store.outbox_queue import DueDelivery, Lane, OutboxQueue

log = logging.getLogger(__name__)

SEND_LEASE = timedelta(seconds=60)


def backoff_seconds(attempt: int, settings: OutboxSettings, *, retry_after: float | None = None) -> float:
    """Delay before retry number `attempt` (1-based): the platform's Retry-After when given,
    else exponential with full jitter in its upper half, capped."""
    if retry_after is not None:
        return min(max(retry_after, 0.0), settings.backoff_max_s)
    ceiling = min(settings.backoff_max_s, settings.backoff_base_s * 2.0 ** (attempt - 1))
    return ceiling * random.uniform(0.5, 1.0)


class DeskSender(Protocol):
    """What delivers the staff desk's rows (`core.handoff.desk.StaffDesk`)."""

    async def deliver(self, due: DueDelivery) -> str | None:
        """Post the row's card or line; the desk's reference for it, None when it is no longer
        wanted. Raises as a channel's `send` does."""
        ...


class Outbox:
    def __init__(
        self,
        queue: OutboxQueue,
        channels: Mapping[str, Channel],
        settings: OutboxSettings,
        desk: DeskSender | None = None,
    ) -> None:
        self._queue = queue
        self._channels = channels
        self._settings = settings
        self._desk = desk
        # Weak values: a lane's lock lives only while someone holds or awaits it.
        self._locks: WeakValueDictionary[tuple[str, Lane], asyncio.Lock] = WeakValueDictionary()

    async def deliver_conversation(self, conversation_id: str, lane: Lane = Lane.CUSTOMER) -> None:
        """Send the lane's due deliveries in order; stop at the first that fails. The desk's
        lane waits for a process with a desk."""
        if lane is Lane.DESK and self._desk is None:
            return
        lock = self._locks.setdefault((conversation_id, lane), asyncio.Lock())
        async with lock:
            due = await self._queue.claim_next(conversation_id, lane=lane, lease=SEND_LEASE)
            while due is not None:
                with bound_ids(conversation_id=conversation_id, message_id=due.message.id, channel=due.address.channel):
                    due = await self._send(due)

    async def _send(self, due: DueDelivery) -> DueDelivery | None:
        """Send `due`; the lane's next delivery, claimed, when this one is done with (delivered
        or dead-lettered), or None when there is none or this one waits for a retry."""
        channel = self._channels.get(due.address.channel)
        parts = SentParts(due.sent_parts, partial(self._queue.record_part, due.message.id))
        attempt = due.attempts + 1
        retry_after: float | None = None
        tried_at = utcnow()
        if due.unreachable_reason is not None:
            log.warning(
                "outbox: not sending message %s to %s: the customer is unreachable (%s)",
                due.message.id,
                due.address.channel,
                due.unreachable_reason,
            )
            await self._queue.mark_failed(due.outbox_id, error=f"unreachable: {due.unreachable_reason}", retry_at=None)
            OUTBOX_DEAD_LETTERED.labels(channel=due.address.channel).inc()
            return await self._next(due)
        try:
            if due.lane is Lane.DESK:
                if self._desk is None:
                    raise InvariantError(
                        "the desk is missing for a desk lane's delivery (a desk lane is claimed only with a desk)"
                    )
                external_id = await self._desk.deliver(due)
            elif channel is None:
                raise DeliveryError(f"channel {due.address.channel!r} is not enabled")
            else:
                with speaking(due.language):  # the channel's own words, in the customer's language
                    if isinstance(channel, SplittingChannel):
                        external_id = await channel.send_split(due.address, due.message, parts)
                    else:
                        external_id = await channel.send(due.address, due.message)
        except Exception as exc:  # noqa: BLE001 — any failure is retried, then dead-lettered
            reason = f"{type(exc).__name__}: {exc}"
            if isinstance(exc, DeliveryError):
                retry_after = exc.retry_after
            if isinstance(exc, DeliveryDropped) and due.lane is Lane.CUSTOMER:
                log.info("outbox: %s drops message %s: %s", due.address.channel, due.message.id, exc)
                await self._queue.mark_dropped(due.outbox_id, reason=str(exc))
                return await self._next(due)
            if isinstance(exc, DeliveryHeld) and due.lane is Lane.CUSTOMER:
                log.info("outbox: %s holds message %s: %s", due.address.channel, due.message.id, exc)
                await self._queue.mark_held(due, reason=str(exc), since=tried_at)
                OUTBOX_HELD.labels(channel=due.address.channel).inc()
                return await self._next(due)  # held: later replies may go
            if isinstance(exc, DeliveryRefused):
                log.warning("outbox: %s refused message %s for good: %s", due.address.channel, due.message.id, reason)
                if isinstance(exc, CustomerUnreachable) and due.lane is Lane.CUSTOMER:
                    await self._queue.mark_unreachable(
                        due.outbox_id, conversation_id=due.message.conversation_id, error=str(exc)
                    )
                else:
                    await self._queue.mark_failed(due.outbox_id, error=reason, retry_at=None)
                OUTBOX_DEAD_LETTERED.labels(channel=due.address.channel).inc()
                return await self._next(due)  # dead-lettered: later replies may go
            if attempt >= self._settings.max_attempts:
                log.error(
                    "outbox: giving up on message %s to %s after %d attempts: %s",
                    due.message.id,
                    due.address.channel,
                    attempt,
                    reason,
                )
                await self._queue.mark_failed(due.outbox_id, error=reason, retry_at=None)
                OUTBOX_DEAD_LETTERED.labels(channel=due.address.channel).inc()
                return await self._next(due)  # dead-lettered: later replies may go
            delay = backoff_seconds(attempt, self._settings, retry_after=retry_after)
            log.warning(
                "outbox: sending message %s to %s failed (attempt %d), retrying in %.1f s: %s",
                due.message.id,
                due.address.channel,
                attempt,
                delay,
                reason,
            )
            await self._queue.mark_failed(due.outbox_id, error=reason, retry_at=utcnow() + timedelta(seconds=delay))
            OUTBOX_RETRIES.labels(channel=due.address.channel).inc()
            return None
        OUTBOX_SENT.labels(channel=due.address.channel).inc()
        return await self._queue.mark_sent(due, external_id, last_part=parts.last, lease=SEND_LEASE)

    async def _next(self, due: DueDelivery) -> DueDelivery | None:
        return await self._queue.claim_next(due.message.conversation_id, lane=due.lane, lease=SEND_LEASE)
