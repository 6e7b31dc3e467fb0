"""Persistence of contacts, conversations, messages and the outbox.

Every method is one short transaction. Idempotency and at-most-once answering are enforced
by the database (a unique key on (channel, external_id); a conditional status update), so
they hold across several hub processes, not just inside one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import insert, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.db import Contact, Conversation, Identity, Message, OutboxItem, new_id, utcnow
from core.messages import (
    Address,
    Author,
    Citation,
    InboundMessage,
    Reply,
    StoredMessage,
)


@dataclass(frozen=True, slots=True)
class Receipt:
    message_id: int
    conversation_id: str
    duplicate: bool


@dataclass(frozen=True, slots=True)
class PendingMessage:
    """An inbound message claimed for answering."""

    id: int
    conversation_id: str
    text: str
    address: Address


@dataclass(frozen=True, slots=True)
class DueDelivery:
    outbox_id: int
    attempts: int
    address: Address
    message: StoredMessage


def to_stored(row: Message) -> StoredMessage:
    return StoredMessage(
        id=row.id,
        conversation_id=row.conversation_id,
        author=Author(row.author),
        text=row.text,
        citations=tuple(Citation(**c) for c in row.citations or ()),
        handoff=row.handoff,
        created_at=row.created_at,
    )


def _address(conversation: Conversation) -> Address:
    return Address(conversation.channel, conversation.chat_id, conversation.thread_id or None)


class Store:
    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
        self._sessionmaker = sessionmaker

    # -- inbound -----------------------------------------------------------------------

    async def save_inbound(self, message: InboundMessage, *, lease: timedelta) -> Receipt:
        """Persist a customer message once, claimed by the caller for `lease` so that it
        can answer without another round trip; a repeat of (channel, external_id) is
        reported as a duplicate instead."""
        channel = message.address.channel
        async with self._sessionmaker() as session:
            conversation_id = await self._conversation_for(session, message)
            now = utcnow()
            try:
                message_id = (
                    await session.execute(
                        insert(Message)
                        .values(
                            conversation_id=conversation_id,
                            channel=channel,
                            external_id=message.external_id,
                            author=Author.CUSTOMER.value,
                            text=message.text,
                            citations=[],
                            handoff=False,
                            status="pending",
                            claimed_until=now + lease,
                            created_at=now,
                        )
                        .returning(Message.id)
                    )
                ).scalar_one()
                await session.commit()
            except IntegrityError:
                await session.rollback()
                found = await self._find_external(session, channel, message.external_id)
                if found is None:
                    raise
                return found
            return Receipt(message_id, conversation_id, duplicate=False)

    @staticmethod
    async def _find_external(session: AsyncSession, channel: str, external_id: str) -> Receipt | None:
        found = (
            await session.execute(
                select(Message.id, Message.conversation_id).where(
                    Message.channel == channel, Message.external_id == external_id
                )
            )
        ).first()
        return Receipt(found.id, found.conversation_id, duplicate=True) if found else None

    async def _conversation_for(self, session: AsyncSession, message: InboundMessage) -> str:
        address = message.address
        thread = address.thread_id or ""
        query = select(Conversation.id).where(
            Conversation.channel == address.channel,
            Conversation.chat_id == address.chat_id,
            Conversation.thread_id == thread,
        )
        conversation_id = (await session.execute(query)).scalar_one_or_none()
        if conversation_id is not None:
            return conversation_id
        contact_id = await self._contact_for(session, message)
        dialect_insert = _insert_for(session)
        await session.execute(
            dialect_insert(Conversation)
            .values(
                id=new_id(),
                contact_id=contact_id,
                channel=address.channel,
                chat_id=address.chat_id,
                thread_id=thread,
                state="bot",
                created_at=utcnow(),
                updated_at=utcnow(),
            )
            .on_conflict_do_nothing()
        )
        return (await session.execute(query)).scalar_one()

    @staticmethod
    async def _contact_for(session: AsyncSession, message: InboundMessage) -> str:
        channel = message.address.channel
        query = select(Identity.contact_id).where(
            Identity.channel == channel, Identity.external_user_id == message.sender_id
        )
        contact_id = (await session.execute(query)).scalar_one_or_none()
        if contact_id is not None:
            return contact_id
        contact = Contact(display_name=message.sender_name, created_at=utcnow())
        session.add(contact)
        await session.flush()
        dialect_insert = _insert_for(session)
        await session.execute(
            dialect_insert(Identity)
            .values(channel=channel, external_user_id=message.sender_id, contact_id=contact.id)
            .on_conflict_do_nothing()
        )
        return (await session.execute(query)).scalar_one()

    # -- answering -----------------------------------------------------------------------

    async def claim_pending(self, conversation_id: str, *, lease: timedelta) -> list[PendingMessage]:
        """Claim the conversation's unanswered messages, oldest first, for `lease`."""
        now = utcnow()
        async with self._sessionmaker() as session:
            conversation = await session.get(Conversation, conversation_id)
            if conversation is None:
                return []
            rows = (
                await session.execute(
                    update(Message)
                    .where(
                        Message.conversation_id == conversation_id,
                        Message.status == "pending",
                        or_(Message.claimed_until.is_(None), Message.claimed_until < now),
                    )
                    .values(claimed_until=now + lease)
                    .returning(Message.id, Message.text)
                )
            ).all()
            await session.commit()
        address = _address(conversation)
        return sorted(
            (PendingMessage(r.id, conversation_id, r.text, address) for r in rows), key=lambda p: p.id
        )

    async def conversations_with_pending(self) -> list[str]:
        """Conversations holding unanswered messages nobody holds a live claim on."""
        now = utcnow()
        async with self._sessionmaker() as session:
            rows = await session.execute(
                select(Message.conversation_id)
                .where(
                    Message.status == "pending",
                    or_(Message.claimed_until.is_(None), Message.claimed_until < now),
                )
                .distinct()
            )
            return list(rows.scalars())

    async def save_reply(self, pending: PendingMessage, reply: Reply, *, push: bool) -> StoredMessage | None:
        """Store the answer, mark the question answered and, for push channels, queue the
        delivery — all in one transaction. None when another worker answered it first."""
        citations = [{"source": c.source, "title": c.title, "section": c.section, "score": c.score} for c in reply.citations]
        now = utcnow()
        async with self._sessionmaker() as session:
            answered = await session.execute(
                update(Message)
                .where(Message.id == pending.id, Message.status == "pending")
                .values(status="answered", claimed_until=None)
            )
            if answered.rowcount != 1:  # type: ignore[attr-defined]
                await session.rollback()
                return None
            reply_id = (
                await session.execute(
                    insert(Message)
                    .values(
                        conversation_id=pending.conversation_id,
                        channel=pending.address.channel,
                        author=Author.BOT.value,
                        text=reply.text,
                        citations=citations,
                        handoff=reply.handoff,
                        reply_to=pending.id,
                        created_at=now,
                    )
                    .returning(Message.id)
                )
            ).scalar_one()
            if push:
                await session.execute(
                    insert(OutboxItem).values(
                        message_id=reply_id,
                        conversation_id=pending.conversation_id,
                        channel=pending.address.channel,
                        chat_id=pending.address.chat_id,
                        thread_id=pending.address.thread_id or "",
                        status="pending",
                        attempts=0,
                        next_attempt_at=now,
                        created_at=now,
                    )
                )
            await session.commit()
        return StoredMessage(
            id=reply_id,
            conversation_id=pending.conversation_id,
            author=Author.BOT,
            text=reply.text,
            citations=reply.citations,
            handoff=reply.handoff,
            created_at=now,
        )

    async def reply_to(self, message_id: int) -> StoredMessage | None:
        async with self._sessionmaker() as session:
            row = (
                await session.execute(select(Message).where(Message.reply_to == message_id).order_by(Message.id))
            ).scalars().first()
            return to_stored(row) if row else None

    # -- reading -------------------------------------------------------------------------

    async def history(self, address: Address, *, after: int = 0, limit: int = 200) -> list[StoredMessage]:
        async with self._sessionmaker() as session:
            conversation_id = (
                await session.execute(
                    select(Conversation.id).where(
                        Conversation.channel == address.channel,
                        Conversation.chat_id == address.chat_id,
                        Conversation.thread_id == (address.thread_id or ""),
                    )
                )
            ).scalar_one_or_none()
            if conversation_id is None:
                return []
            return await self._messages(session, conversation_id, after=after, limit=limit)

    async def conversation_messages(
        self, conversation_id: str, *, after: int = 0, limit: int = 200
    ) -> list[StoredMessage] | None:
        async with self._sessionmaker() as session:
            if await session.get(Conversation, conversation_id) is None:
                return None
            return await self._messages(session, conversation_id, after=after, limit=limit)

    @staticmethod
    async def _messages(session: AsyncSession, conversation_id: str, *, after: int, limit: int) -> list[StoredMessage]:
        rows = await session.execute(
            select(Message)
            .where(Message.conversation_id == conversation_id, Message.id > after)
            .order_by(Message.id)
            .limit(limit)
        )
        return [to_stored(row) for row in rows.scalars()]

    # -- outbox --------------------------------------------------------------------------

    async def conversations_with_due_deliveries(self) -> list[str]:
        now = utcnow()
        async with self._sessionmaker() as session:
            rows = await session.execute(
                select(OutboxItem.conversation_id)
                .where(OutboxItem.status == "pending", OutboxItem.next_attempt_at <= now)
                .distinct()
            )
            return list(rows.scalars())

    async def claim_next_delivery(self, conversation_id: str, *, lease: timedelta) -> DueDelivery | None:
        """The conversation's oldest undelivered reply, claimed — or None when there is none,
        when it is not yet due, or when another worker holds it. Later replies never overtake it."""
        now = utcnow()
        async with self._sessionmaker() as session:
            head = (
                await session.execute(
                    select(OutboxItem)
                    .where(OutboxItem.conversation_id == conversation_id, OutboxItem.status == "pending")
                    .order_by(OutboxItem.id)
                    .limit(1)
                )
            ).scalar_one_or_none()
            if head is None or head.next_attempt_at > now:
                return None
            claimed = await session.execute(
                update(OutboxItem)
                .where(
                    OutboxItem.id == head.id,
                    OutboxItem.status == "pending",
                    or_(OutboxItem.claimed_until.is_(None), OutboxItem.claimed_until < now),
                )
                .values(claimed_until=now + lease)
            )
            if claimed.rowcount != 1:  # type: ignore[attr-defined]
                await session.rollback()
                return None
            message = await session.get(Message, head.message_id)
            await session.commit()
            assert message is not None  # the foreign key guarantees it
            address = Address(head.channel, head.chat_id, head.thread_id or None)
            return DueDelivery(head.id, head.attempts, address, to_stored(message))

    async def mark_sent(self, outbox_id: int, external_id: str | None) -> None:
        async with self._sessionmaker() as session:
            await session.execute(
                update(OutboxItem)
                .where(OutboxItem.id == outbox_id)
                .values(status="sent", external_id=external_id, sent_at=utcnow(), claimed_until=None, last_error=None)
            )
            await session.commit()

    async def mark_failed(self, outbox_id: int, *, error: str, retry_at: datetime | None) -> None:
        """Record a failed attempt: retry at `retry_at`, or dead-letter when it is None."""
        values: dict[str, object] = {
            "attempts": OutboxItem.attempts + 1,
            "last_error": error[:2000],
            "claimed_until": None,
        }
        if retry_at is None:
            values["status"] = "dead"
        else:
            values["next_attempt_at"] = retry_at
        async with self._sessionmaker() as session:
            await session.execute(update(OutboxItem).where(OutboxItem.id == outbox_id).values(**values))
            await session.commit()


def _insert_for(session: AsyncSession):  # type: ignore[no-untyped-def]
    """The dialect's INSERT, which knows ON CONFLICT DO NOTHING on both of our backends."""
    name = session.get_bind().dialect.name
    return postgresql.insert if name == "postgresql" else sqlite.insert
