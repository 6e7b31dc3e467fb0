"""The outbox's rows: replies for push channels, persisted before any send, claimed one at a
time per conversation (in order), marked sent or failed with the next attempt's time, or
dead-lettered. `core.pipeline.outbox` is the dispatcher that works this queue."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial

from sqlalchemy import insert, or_, select, update
from sqlalchemy.orm import Session

from core.messages import Address, StoredMessage
from core.store.conversation_views import to_stored
from core.store.db import Conversation, DeliveryStatus, Message, OptOut, OutboxItem, utcnow
from core.store.transactions import Transactions

_INSERT = insert(OutboxItem)


@dataclass(frozen=True, slots=True)
class DueDelivery:
    outbox_id: int
    attempts: int
    address: Address
    message: StoredMessage
    unreachable_reason: str | None = None
    """Why the customer cannot be written to any more: the platform said so earlier, or the
    customer opted out (an SMS STOP)."""


def queue_delivery(session: Session, *, message_id: int, conversation_id: str, address: Address,
                   now: datetime) -> None:
    """Queue a stored outgoing message for delivery, in the transaction that stored it."""
    session.connection().execute(
        _INSERT,
        {
            "message_id": message_id,
            "conversation_id": conversation_id,
            "channel": address.channel,
            "chat_id": address.chat_id,
            "thread_id": address.thread_id or "",
            "status": DeliveryStatus.PENDING,
            "attempts": 0,
            "next_attempt_at": now,
            "created_at": now,
        },
    )


class OutboxQueue:
    def __init__(self, transactions: Transactions) -> None:
        self._run = transactions.run

    async def conversations_with_due_deliveries(self, channels: Collection[str]) -> list[str]:
        return await self._run(partial(_conversations_with_due_deliveries, channels=list(channels)))

    async def claim_next(self, conversation_id: str, *, lease: timedelta) -> DueDelivery | None:
        """The conversation's oldest undelivered reply, claimed — or None when there is none,
        when it is not yet due, or when another worker holds it. Later replies never overtake it."""
        return await self._run(partial(_claim_next, conversation_id=conversation_id, lease=lease))

    async def mark_sent(self, outbox_id: int, external_id: str | None) -> None:
        await self._run(partial(_mark_sent, outbox_id=outbox_id, external_id=external_id))

    async def mark_failed(self, outbox_id: int, *, error: str, retry_at: datetime | None) -> None:
        """Record a failed attempt: retry at `retry_at`, or dead-letter when it is None."""
        await self._run(partial(_mark_failed, outbox_id=outbox_id, error=error, retry_at=retry_at))

    async def mark_unreachable(self, outbox_id: int, *, conversation_id: str, error: str) -> None:
        """Dead-letter the delivery and mark its conversation unreachable (see `DeliveryError`)."""
        await self._run(partial(_mark_unreachable, outbox_id=outbox_id, conversation_id=conversation_id, error=error))


def _conversations_with_due_deliveries(session: Session, *, channels: list[str]) -> list[str]:
    rows = session.execute(
        select(OutboxItem.conversation_id)
        .where(
            OutboxItem.status == DeliveryStatus.PENDING,
            OutboxItem.channel.in_(channels),
            OutboxItem.next_attempt_at <= utcnow(),
        )
        .distinct()
    )
    return list(rows.scalars())


def _claim_next(session: Session, *, conversation_id: str, lease: timedelta) -> DueDelivery | None:
    now = utcnow()
    head = session.execute(
        select(OutboxItem)
        .where(OutboxItem.conversation_id == conversation_id, OutboxItem.status == DeliveryStatus.PENDING)
        .order_by(OutboxItem.id)
        .limit(1)
    ).scalar_one_or_none()
    if head is None or head.next_attempt_at > now:
        return None
    claimed = session.execute(
        update(OutboxItem)
        .where(
            OutboxItem.id == head.id,
            OutboxItem.status == DeliveryStatus.PENDING,
            or_(OutboxItem.claimed_until.is_(None), OutboxItem.claimed_until < now),
        )
        .values(claimed_until=now + lease)
    )
    if claimed.rowcount != 1:  # type: ignore[attr-defined]
        return None
    message = session.get(Message, head.message_id)
    assert message is not None  # the foreign key guarantees it
    address = Address(head.channel, head.chat_id, head.thread_id or None)
    unreachable = session.execute(
        select(Conversation.unreachable_reason).where(Conversation.id == conversation_id)
    ).scalar_one_or_none()
    opted_out = session.execute(
        select(OptOut.opted_out_at).where(OptOut.channel == head.channel, OptOut.chat_id == head.chat_id)
    ).scalar_one_or_none()
    if opted_out is not None:
        unreachable = "the customer opted out (STOP)"
    return DueDelivery(head.id, head.attempts, address, to_stored(message), unreachable)


def _mark_sent(session: Session, *, outbox_id: int, external_id: str | None) -> None:
    session.execute(
        update(OutboxItem)
        .where(OutboxItem.id == outbox_id)
        .values(status=DeliveryStatus.SENT, external_id=external_id, sent_at=utcnow(), claimed_until=None,
                last_error=None)
    )


def _mark_failed(session: Session, *, outbox_id: int, error: str, retry_at: datetime | None) -> None:
    values: dict[str, object] = {"attempts": OutboxItem.attempts + 1, "last_error": error[:2000], "claimed_until": None}
    if retry_at is None:
        values["status"] = DeliveryStatus.DEAD
    else:
        values["next_attempt_at"] = retry_at
    session.execute(update(OutboxItem).where(OutboxItem.id == outbox_id).values(**values))


def _mark_unreachable(session: Session, *, outbox_id: int, conversation_id: str, error: str) -> None:
    _mark_failed(session, outbox_id=outbox_id, error=error, retry_at=None)
    session.execute(update(Conversation).where(Conversation.id == conversation_id).values(unreachable_reason=error[:2000]))
