"""Received customer messages: stored once, claimed for answering, answered once.

A message is stored already claimed by the receiving process for a short lease, so it can be
answered without another round trip. If that process dies, the lease runs out and any hub
process claims it again. Idempotency and at-most-once answering are enforced by the database
(a unique key on (channel, external_id); a conditional status update), so they hold across
processes, not just inside one.

The hot path (a message in, its answer out) runs prebuilt Core statements with bound
parameters on the session's connection: building and coercing a statement per call, and the
ORM's bulk-insert machinery, cost more CPU than SQLite itself (measured: a message in and its
answer out took 1.9 ms of CPU that way and 0.8 ms this way).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import timedelta
from functools import partial

from sqlalchemy import bindparam, exists, insert, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core.channel import Receipt
from core.messages import Address, Author, InboundMessage, StoredMessage
from core.store.contacts import conversation_for
from core.store.conversation_views import to_stored
from core.store.db import AttachmentRow, Conversation, Message, MessageStatus, utcnow
from core.store.held_replies import RELEASE_HELD
from core.store.transactions import Transactions

INSERT_MESSAGE = insert(Message).returning(Message.id)
REACHABLE_AGAIN = (
    update(Conversation)
    .where(Conversation.id == bindparam("conversation"), Conversation.unreachable_reason.is_not(None))
    .values(unreachable_reason=None)
)
"""A customer who writes can be written to again (they unblocked the bot)."""
_HINTED = (
    update(Conversation)
    .where(Conversation.id == bindparam("conversation"), Conversation.language.is_(None))
    .values(language=bindparam("language"))
)
"""A conversation that knows no language takes the one the customer's app says (`language_hint`)."""
_IN_TURN = select(Conversation.id).where(Conversation.id == bindparam("conversation")).with_for_update()
"""Messages into one conversation are stored one transaction at a time (PostgreSQL: a row
lock until commit; SQLite writes one at a time anyway), so their ids are handed out in the
order they commit and `_EARLIER_WAITING` sees every older one: without it, a message stored
while an older one's transaction was still open (two processes, milliseconds apart) missed it
and was answered first."""
_EARLIER_WAITING = select(
    exists().where(
        Message.conversation_id == bindparam("conversation_id"),
        Message.status == MessageStatus.PENDING,
        Message.id < bindparam("before"),
    )
)


@dataclass(frozen=True, slots=True)
class PendingMessage:
    """A received message claimed for answering."""

    id: int
    conversation_id: str
    text: str
    address: Address
    first_in_line: bool = False
    """No older message of its conversation was unanswered when this one was stored: its
    answer waits for none (what processes sharing a database otherwise ask first)."""


class Inbox:
    def __init__(self, transactions: Transactions) -> None:
        self._run = transactions.run

    async def save(self, message: InboundMessage, *, lease: timedelta) -> Receipt:
        """Persist a customer message once, claimed by the caller for `lease`; a repeat of
        (channel, external_id) is reported as a duplicate instead."""
        receipt, _ = await self._save(message, lease=lease, ask_earlier=False)
        return receipt

    async def save_in_line(self, message: InboundMessage, *, lease: timedelta) -> tuple[Receipt, bool]:
        """`save`, and whether the message is first in line: no older message of its
        conversation is unanswered (asked in the same transaction; False for a duplicate)."""
        return await self._save(message, lease=lease, ask_earlier=True)

    async def _save(self, message: InboundMessage, *, lease: timedelta, ask_earlier: bool) -> tuple[Receipt, bool]:
        try:
            return await self._run(partial(_insert, message=message, lease=lease, ask_earlier=ask_earlier))
        except IntegrityError:
            found = await self._run(
                partial(_find_external, channel=message.address.channel, external_id=message.external_id)
            )
            if found is None:
                raise
            return found, False

    async def claim(self, conversation_id: str, *, lease: timedelta) -> list[PendingMessage]:
        """Claim the conversation's unanswered messages whose claim has lapsed, oldest first."""
        return await self._run(partial(_claim, conversation_id=conversation_id, lease=lease))

    async def claim_earlier(
        self, conversation_id: str, *, before: int, lease: timedelta
    ) -> tuple[list[PendingMessage], list[int]]:
        """Claim the conversation's unanswered messages older than `before` whose claim has
        lapsed; with the ids of all its unanswered messages older than `before` (claimed now,
        or held by someone). A conversation is answered in order: these come first."""
        return await self._run(partial(_claim_earlier, conversation_id=conversation_id, before=before, lease=lease))

    async def conversations_with_pending(self, channels: Collection[str]) -> list[str]:
        """Conversations on `channels` holding unanswered messages nobody holds a live claim on."""
        return await self._run(partial(_conversations_with_pending, channels=list(channels)))

    async def extend_claim(self, message_id: int, *, lease: timedelta) -> None:
        """Keep holding an unanswered message for another `lease` from now."""
        await self._run(partial(_extend_claim, message_id=message_id, lease=lease))

    async def is_answered(self, message_id: int) -> bool:
        """Whether a customer message's turn is over (with a reply, or silently for a person)."""
        return await self._run(partial(_is_answered, message_id=message_id))

    async def reply_to(self, message_id: int) -> StoredMessage | None:
        return await self._run(partial(_reply_to, message_id=message_id))


def _insert(session: Session, *, message: InboundMessage, lease: timedelta, ask_earlier: bool) -> tuple[Receipt, bool]:
    conversation_id, writer, with_person, language, unreachable, holds_replies = conversation_for(session, message)
    if ask_earlier:
        session.connection().execute(_IN_TURN, {"conversation": conversation_id})
    if unreachable:
        session.connection().execute(REACHABLE_AGAIN, {"conversation": conversation_id})
    now = utcnow()
    if holds_replies:
        session.connection().execute(RELEASE_HELD, {"conversation": conversation_id, "now": now})
    if language is None and message.language_hint is not None:  # a known conversation: no round trip
        session.connection().execute(_HINTED, {"conversation": conversation_id, "language": message.language_hint})
    message_id = (
        session.connection()
        .execute(
            INSERT_MESSAGE,
            {
                "conversation_id": conversation_id,
                "contact_id": writer,
                "channel": message.address.channel,
                "external_id": message.external_id,
                "author": Author.CUSTOMER.value,
                "text": message.text,
                "citations": [],
                "handoff": False,
                "status": MessageStatus.PENDING,
                "claimed_until": now + lease,
                "created_at": now,
            },
        )
        .scalar_one()
    )
    for attachment in message.attachments:
        session.add(
            AttachmentRow(
                message_id=message_id,
                filename=attachment.filename[:255],
                content_type=attachment.content_type[:120],
                size=attachment.size,
                data=attachment.data if attachment.problem is None else None,
                problem=attachment.problem,
            )
        )
    first_in_line = (
        ask_earlier
        and not session.connection()
        .execute(_EARLIER_WAITING, {"conversation_id": conversation_id, "before": message_id})
        .scalar_one()
    )
    return Receipt(message_id, conversation_id, duplicate=False, with_person=with_person), first_in_line


def _find_external(session: Session, *, channel: str, external_id: str) -> Receipt | None:
    found = session.execute(
        select(Message.id, Message.conversation_id).where(
            Message.channel == channel, Message.external_id == external_id
        )
    ).first()
    return Receipt(found.id, found.conversation_id, duplicate=True) if found else None


def _claim(
    session: Session, *, conversation_id: str, lease: timedelta, before: int | None = None
) -> list[PendingMessage]:
    conversation = session.get(Conversation, conversation_id)
    if conversation is None:
        return []
    now = utcnow()
    rows = session.execute(
        update(Message)
        .where(
            Message.conversation_id == conversation_id,
            Message.status == MessageStatus.PENDING,
            or_(Message.claimed_until.is_(None), Message.claimed_until < now),
            *([Message.id < before] if before is not None else []),
        )
        .values(claimed_until=now + lease)
        .returning(Message.id, Message.text)
    ).all()
    address = Address(conversation.channel, conversation.chat_id, conversation.thread_id or None)
    return sorted((PendingMessage(r.id, conversation_id, r.text, address) for r in rows), key=lambda p: p.id)


def _claim_earlier(
    session: Session, *, conversation_id: str, before: int, lease: timedelta
) -> tuple[list[PendingMessage], list[int]]:
    waiting = list(
        session.execute(
            select(Message.id).where(
                Message.conversation_id == conversation_id, Message.status == MessageStatus.PENDING, Message.id < before
            )
        ).scalars()
    )
    if not waiting:
        return [], []
    return _claim(session, conversation_id=conversation_id, lease=lease, before=before), waiting


def _extend_claim(session: Session, *, message_id: int, lease: timedelta) -> None:
    session.execute(
        update(Message)
        .where(Message.id == message_id, Message.status == MessageStatus.PENDING)
        .values(claimed_until=utcnow() + lease)
    )


def _conversations_with_pending(session: Session, *, channels: list[str]) -> list[str]:
    now = utcnow()
    rows = session.execute(
        select(Message.conversation_id)
        .where(
            Message.status == MessageStatus.PENDING,
            Message.channel.in_(channels),
            or_(Message.claimed_until.is_(None), Message.claimed_until < now),
        )
        .distinct()
    )
    return list(rows.scalars())


def _is_answered(session: Session, *, message_id: int) -> bool:
    status = session.execute(select(Message.status).where(Message.id == message_id)).scalar_one_or_none()
    return status == MessageStatus.ANSWERED


def _reply_to(session: Session, *, message_id: int) -> StoredMessage | None:
    row = session.execute(
        select(Message).where(Message.reply_to == message_id).order_by(Message.id).limit(1)
    ).scalar_one_or_none()
    return to_stored(row) if row else None
