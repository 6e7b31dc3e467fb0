"""The outbox as an operator sees it: what is still undelivered (waiting for its next attempt,
or dead-lettered), and re-queuing dead letters once the cause is fixed.

Re-queuing only resets the row (pending, attempts 0, due now); the delivery itself is the
outbox's, done by whichever `supporthub serve` sweeps next, so it keeps its order, lease and
retry schedule. The last error is kept: until the next attempt it is the only record of why
the reply died, and the next attempt overwrites it (a failure) or clears it (a send).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, func, select, update
from sqlalchemy.orm import Session

from core.store.db import Conversation, DeliveryKind, DeliveryStatus, OptOut, OutboxItem, utcnow

OPTED_OUT = "the customer opted out (STOP); they must opt in again (START)"


@dataclass(frozen=True, slots=True)
class UndeliveredReply:
    id: int
    status: DeliveryStatus
    channel: str
    conversation_id: str
    attempts: int
    created_at: datetime
    next_attempt_at: datetime
    last_error: str | None


@dataclass(frozen=True, slots=True)
class OutboxListing:
    replies: list[UndeliveredReply]
    """The oldest first, at most the limit asked for."""
    pending: int
    dead: int


@dataclass(frozen=True, slots=True)
class Requeued:
    id: int
    channel: str
    conversation_id: str
    unreachable: str | None
    """Why the reply will be dead-lettered again unsent (the customer blocked us, or opted
    out) unless the customer writes first; None when nothing stands in its way."""


class NotRequeueable(Exception):
    """Only a dead letter can be re-queued; the message says what the row is instead."""


class NoSuchOutboxItem(NotRequeueable):
    """There is no outbox item with that id."""


def held(session: Session, *, limit: int) -> list[UndeliveredReply]:
    """Replies held until their customer writes again (`core.store.held_replies`), oldest first."""
    rows = session.execute(
        select(OutboxItem).where(OutboxItem.status == DeliveryStatus.HELD).order_by(OutboxItem.id).limit(limit)
    ).scalars()
    return [_listed(row) for row in rows]


def undelivered(session: Session, *, dead_only: bool, limit: int) -> OutboxListing:
    statuses = [DeliveryStatus.DEAD] if dead_only else [DeliveryStatus.PENDING, DeliveryStatus.DEAD]
    rows = session.execute(
        select(OutboxItem).where(OutboxItem.status.in_(statuses)).order_by(OutboxItem.id).limit(limit)
    ).scalars()
    counts = {
        status: count
        for status, count in session.execute(
            select(OutboxItem.status, func.count()).where(OutboxItem.status.in_(statuses)).group_by(OutboxItem.status)
        )
    }
    replies = [_listed(row) for row in rows]
    return OutboxListing(replies, counts.get(DeliveryStatus.PENDING, 0), counts.get(DeliveryStatus.DEAD, 0))


def _listed(row: OutboxItem) -> UndeliveredReply:
    return UndeliveredReply(
        row.id,
        DeliveryStatus(row.status),
        row.channel,
        row.conversation_id,
        row.attempts,
        row.created_at,
        row.next_attempt_at,
        row.last_error,
    )


def requeue(session: Session, *, outbox_id: int) -> Requeued:
    """Re-queue the dead letter `outbox_id`; `NotRequeueable` when there is no such row or it
    is not dead."""
    requeued = _requeue(session, OutboxItem.id == outbox_id)
    if requeued:
        return requeued[0]
    row = session.get(OutboxItem, outbox_id)
    if row is None:
        raise NoSuchOutboxItem(f"there is no outbox item {outbox_id}")
    if row.status == DeliveryStatus.SENT:
        raise NotRequeueable(f"outbox item {outbox_id} was delivered already; only dead letters can be re-queued")
    if row.status == DeliveryStatus.HELD:
        raise NotRequeueable(
            f"outbox item {outbox_id} is held until the customer writes again ({row.last_error}): "
            "it goes by itself then"
        )
    if row.status == DeliveryStatus.DROPPED:
        raise NotRequeueable(f"outbox item {outbox_id} was staff-desk work for a case closed before it was posted")
    failed = f"{row.attempts} failed attempt{'' if row.attempts == 1 else 's'}"
    raise NotRequeueable(
        f"outbox item {outbox_id} is not dead but still pending (after {failed}): the outbox retries it by itself"
    )


def requeue_all(session: Session) -> list[Requeued]:
    return _requeue(session, OutboxItem.status == DeliveryStatus.DEAD)


def _requeue(session: Session, which: ColumnElement[bool]) -> list[Requeued]:
    dead = (which, OutboxItem.status == DeliveryStatus.DEAD)
    blocked = _unreachable(session, *dead)
    rows = session.execute(
        update(OutboxItem)
        .where(*dead)
        .values(status=DeliveryStatus.PENDING, attempts=0, next_attempt_at=utcnow(), claimed_until=None)
        .returning(OutboxItem.id, OutboxItem.channel, OutboxItem.conversation_id)
    ).all()
    return sorted(
        (Requeued(row.id, row.channel, row.conversation_id, blocked.get(row.id)) for row in rows),
        key=lambda requeued: requeued.id,
    )


def _unreachable(session: Session, *which: ColumnElement[bool]) -> dict[int, str]:
    """Why each of these replies cannot reach its customer, the way the outbox will find out
    when it claims them (see `core.store.outbox_queue`); replies that can are left out."""
    rows = session.execute(
        select(OutboxItem.id, Conversation.unreachable_reason, OptOut.opted_out_at)
        .join(Conversation, Conversation.id == OutboxItem.conversation_id)
        .outerjoin(OptOut, (OptOut.channel == OutboxItem.channel) & (OptOut.chat_id == OutboxItem.chat_id))
        .where(
            *which,
            OutboxItem.kind == DeliveryKind.REPLY,
            (Conversation.unreachable_reason.is_not(None)) | (OptOut.opted_out_at.is_not(None)),
        )
    )
    return {
        row.id: OPTED_OUT
        if row.opted_out_at is not None
        else f"the customer cannot be written to ({row.unreachable_reason})"
        for row in rows
    }
