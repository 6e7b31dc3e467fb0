"""What a channel adapter keeps in the hub's database about its platform: a chat that moved to a new id (a Telegram group upgraded to a supergroup), customers who opted out (an
SMS STOP), and what the platform reported about a sent reply (Twilio's status callbacks)."""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial

from sqlalchemy import delete, or_, select, union_all, update
from sqlalchemy.orm import Session

from core.messages import Address
from core.store.contacts import insert_ignoring_conflicts
from core.store.db import Conversation, DeliveryStatus, Message, OptOut, OutboxItem, utcnow
from core.store.held_replies import hold_reported
from core.store.transactions import Transactions


class ChannelState:
    def __init__(self, transactions: Transactions) -> None:
        self._run = transactions.run

    async def move_chat(self, channel: str, old_chat_id: str, new_chat_id: str) -> int:
        """Move the conversations (and their undelivered replies) at a chat to its new id;
        a conversation already living at the new id keeps it. How many moved."""
        return await self._run(partial(_move_chat, channel=channel, old=old_chat_id, new=new_chat_id))

    async def address_of_message(self, channel: str, external_ids: Sequence[str]) -> Address | None:
        """Where the conversation lives that holds a message (received, or sent by us) with one
        of these platform ids, the newest first; None when none does."""
        if not external_ids:
            return None
        return await self._run(partial(_address_of_message, channel=channel, external_ids=list(external_ids)))

    async def set_opted_out(self, address: Address, opted_out: bool) -> bool:
        """Whether it changed anything (False: the address was already so)."""
        return await self._run(partial(_set_opted_out, address=address, opted_out=opted_out))

    async def delivery_status(
        self,
        channel: str,
        external_id: str,
        status: str,
        rank: int,
        *,
        unreachable: str | None = None,
        held: str | None = None,
    ) -> bool:
        """Record what the platform says about a sent reply, unless it already said something
        later in its order (`rank`); with `unreachable`, the conversation is marked so too; with
        `held`, the reply is held until the customer writes again (`core.store.held_replies`).
        Whether the status was recorded (False: unknown id, or a late report)."""
        return await self._run(
            partial(
                _delivery_status,
                channel=channel,
                external_id=external_id,
                status=status,
                rank=rank,
                unreachable=unreachable,
                held=held,
            )
        )


def _move_chat(session: Session, *, channel: str, old: str, new: str) -> int:
    taken = set(
        session.execute(
            select(Conversation.thread_id).where(Conversation.channel == channel, Conversation.chat_id == new)
        ).scalars()
    )
    moving = [
        row
        for row in session.execute(
            select(Conversation.id, Conversation.thread_id).where(
                Conversation.channel == channel, Conversation.chat_id == old
            )
        )
        if row.thread_id not in taken
    ]
    ids = [row.id for row in moving]
    if ids:
        session.execute(update(Conversation).where(Conversation.id.in_(ids)).values(chat_id=new))
        session.execute(
            update(OutboxItem)
            .where(
                OutboxItem.conversation_id.in_(ids),
                OutboxItem.channel == channel,
                OutboxItem.status == DeliveryStatus.PENDING,
            )
            .values(chat_id=new)
        )
    return len(ids)


def _address_of_message(session: Session, *, channel: str, external_ids: list[str]) -> Address | None:
    received = select(Message.conversation_id, Message.id).where(
        Message.channel == channel, Message.external_id.in_(external_ids)
    )
    sent = select(OutboxItem.conversation_id, OutboxItem.message_id).where(
        OutboxItem.channel == channel, OutboxItem.external_id.in_(external_ids)
    )
    found = union_all(received, sent).subquery()
    row = session.execute(
        select(Conversation.channel, Conversation.chat_id, Conversation.thread_id)
        .join(found, found.c.conversation_id == Conversation.id)
        .order_by(found.c.id.desc())
        .limit(1)
    ).first()
    return Address(row.channel, row.chat_id, row.thread_id or None) if row is not None else None


def _set_opted_out(session: Session, *, address: Address, opted_out: bool) -> bool:
    if opted_out:
        changed = session.execute(
            insert_ignoring_conflicts(session, OptOut).values(
                channel=address.channel, chat_id=address.chat_id, opted_out_at=utcnow()
            )
        )
    else:
        changed = session.execute(
            delete(OptOut).where(OptOut.channel == address.channel, OptOut.chat_id == address.chat_id)
        )
    return bool(changed.rowcount)  # type: ignore[attr-defined]


def _delivery_status(
    session: Session,
    *,
    channel: str,
    external_id: str,
    status: str,
    rank: int,
    unreachable: str | None,
    held: str | None,
) -> bool:
    updated = (
        session.execute(
            update(OutboxItem)
            .where(
                OutboxItem.channel == channel,
                OutboxItem.external_id == external_id,
                or_(OutboxItem.platform_status_rank.is_(None), OutboxItem.platform_status_rank < rank),
            )
            .values(platform_status=status, platform_status_rank=rank)
            .returning(OutboxItem.conversation_id)
        )
        .scalars()
        .all()
    )
    if updated and unreachable is not None:
        session.execute(update(Conversation).where(Conversation.id.in_(updated)).values(unreachable_reason=unreachable))
    if updated and held is not None:
        hold_reported(session, channel=channel, external_id=external_id, reason=held)
    return bool(updated)
