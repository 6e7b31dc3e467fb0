"""Replies a platform takes only after the customer writes again (WhatsApp's 24-hour rule):
held, never lost and never sent against the rule.

A channel says so by raising `DeliveryHeld` from `send`, or, when the platform
accepted the message and refused it afterwards, by reporting `delivery_status(held=...)`. The
reply's outbox row is then `HELD`: out of its lane (later replies are not held up behind it), and
the conversation's case tells staff why, as a note the inbox shows and a line in its Slack
thread, once per reply. The customer's next message puts every held reply back in its lane in
the transaction that stores the message (`RELEASE_HELD`), oldest first, ahead of the answer to it.
"""

from __future__ import annotations

from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session

from core.store.db import DeliveryKind, DeliveryStatus, OutboxItem, utcnow
from core.store.outbox_queue import hold

RELEASE_HELD = (
    update(OutboxItem)
    .where(OutboxItem.conversation_id == bindparam("conversation"), OutboxItem.status == DeliveryStatus.HELD)
    .values(status=DeliveryStatus.PENDING, next_attempt_at=bindparam("now"), claimed_until=None)
)
"""The customer wrote: what was held goes (the channel asks its rule again when it sends)."""


def hold_reported(session: Session, *, channel: str, external_id: str, reason: str) -> bool:
    """Hold the reply the platform accepted as `external_id` and refused afterwards; False when
    no reply was sent with that id."""
    row = session.execute(
        select(OutboxItem.id, OutboxItem.conversation_id, OutboxItem.message_id, OutboxItem.sent_at).where(
            OutboxItem.channel == channel,
            OutboxItem.external_id == external_id,
            OutboxItem.kind == DeliveryKind.REPLY,
            OutboxItem.status == DeliveryStatus.SENT,
        )
    ).first()
    if row is None:
        return False
    hold(
        session,
        outbox_id=row.id,
        conversation_id=row.conversation_id,
        message_id=row.message_id,
        reason=reason,
        since=row.sent_at or utcnow(),
    )
    return True


def held_reason(session: Session, *, message_id: int) -> str | None:
    """Why the reply `message_id` is held; None when it is not held (any more: the customer
    wrote, and it goes)."""
    return session.execute(
        select(OutboxItem.last_error).where(
            OutboxItem.message_id == message_id,
            OutboxItem.kind == DeliveryKind.REPLY,
            OutboxItem.status == DeliveryStatus.HELD,
        )
    ).scalar_one_or_none()
