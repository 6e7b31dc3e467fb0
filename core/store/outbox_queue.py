"""The outbox's rows: replies for push channels and the staff desk's work, persisted before
any send, claimed one at a time per conversation and lane (in order), marked sent or failed
with the next attempt's time, or dead-lettered. `core.pipeline.outbox` is the dispatcher that
works this queue.

A conversation has two lanes: its replies to the customer, and its case's desk work (cards,
mirrored customer lines, reminders: rows of channel `DESK` whose `chat_id` is the case). Each
lane keeps its order; a card the staff channel refuses never holds up a reply.

A delivery is claimed by one statement (an UPDATE of the lane's oldest pending row, when it
is due and nobody holds it) and read with what sending it needs in two more: the message
with whether the customer can be reached (one join), and the parts of a split reply already
delivered. Marking a delivery sent claims the lane's next in the same transaction, so a reply
costs two transactions to deliver."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from functools import partial

from sqlalchemy import Update, and_, bindparam, delete, func, insert, literal, or_, select, update
from sqlalchemy.orm import Session

from core.messages import Address, Author, StoredMessage
from core.store.case_tables import Case, CaseEvent, CaseEventKind
from core.store.contacts import insert_ignoring_conflicts
from core.store.conversation_views import to_stored
from core.store.db import (
    DESK,
    Conversation,
    DeliveredPart,
    DeliveryKind,
    DeliveryStatus,
    Message,
    OptOut,
    OutboxItem,
    utcnow,
)
from core.store.transactions import Transactions


class Lane(StrEnum):
    CUSTOMER = "customer"
    """Replies to the customer, on their channel."""
    DESK = "desk"
    """The staff desk's work for the conversation's case."""


def lane_of(kind: DeliveryKind) -> Lane:
    return Lane.CUSTOMER if kind is DeliveryKind.REPLY else Lane.DESK


_INSERT = insert(OutboxItem)


@dataclass(frozen=True, slots=True)
class DueDelivery:
    outbox_id: int
    attempts: int
    address: Address
    """The customer's address for a reply; (`DESK`, the case id) for the desk's work."""
    message: StoredMessage
    unreachable_reason: str | None = None
    """Why the customer cannot be written to any more: the platform said so earlier, or the
    customer opted out (an SMS STOP)."""
    sent_parts: tuple[str, ...] = ()
    """The platform ids of the parts of a split reply an earlier attempt delivered, in order."""
    kind: DeliveryKind = DeliveryKind.REPLY
    created_at: datetime | None = None
    claimed_before: bool = False
    """An earlier attempt was made: it may have delivered (a timeout, a worker that died
    mid-send), so the staff desk looks for its post before posting again."""
    language: str | None = None
    """The language the reply was said in (the message's), else the conversation's; None when
    unknown. The channel says its own words around the reply ("Sources", "More:") in it."""

    @property
    def lane(self) -> Lane:
        return lane_of(self.kind)


def queue_delivery(session: Session, *, message_id: int, conversation_id: str, address: Address, now: datetime) -> None:
    """Queue a stored outgoing message for delivery, in the transaction that stored it."""
    session.connection().execute(
        _INSERT,
        {
            "message_id": message_id,
            "kind": DeliveryKind.REPLY,
            "conversation_id": conversation_id,
            "channel": address.channel,
            "chat_id": address.chat_id,
            "thread_id": address.thread_id or "",
            "status": DeliveryStatus.PENDING,
            "attempts": 0,
            "claims": 0,
            "next_attempt_at": now,
            "created_at": now,
        },
    )


def queue_desk_work(
    session: Session, *, kind: DeliveryKind, case_id: str, conversation_id: str, message_id: int
) -> None:
    """Queue a case's card, a customer line or a reminder for the staff desk, in the
    transaction that made it due; once per case, message and kind, however often asked."""
    now = utcnow()
    row = {
        "message_id": message_id,
        "kind": kind,
        "conversation_id": conversation_id,
        "channel": DESK,
        "chat_id": case_id,
        "thread_id": "",
        "status": DeliveryStatus.PENDING,
        "attempts": 0,
        "claims": 0,
        "next_attempt_at": now,
        "created_at": now,
    }
    session.execute(insert_ignoring_conflicts(session, OutboxItem).values(**row))


def drop_desk_work(session: Session, *, case_id: str) -> None:
    """A closed case's desk work not yet done is no longer wanted (a card, a line, a reminder
    for a case staff already finished)."""
    session.execute(
        update(OutboxItem)
        .where(OutboxItem.channel == DESK, OutboxItem.chat_id == case_id, OutboxItem.status == DeliveryStatus.PENDING)
        .values(status=DeliveryStatus.DROPPED, claimed_until=None)
    )


class OutboxQueue:
    def __init__(self, transactions: Transactions) -> None:
        self._run = transactions.run

    async def due_lanes(self, channels: Collection[str]) -> list[tuple[str, Lane]]:
        """The conversations' lanes with a delivery due on one of `channels` (the desk's work
        when `DESK` is one of them)."""
        return await self._run(partial(_due_lanes, channels=list(channels)))

    async def claim_next(
        self, conversation_id: str, *, lane: Lane = Lane.CUSTOMER, lease: timedelta
    ) -> DueDelivery | None:
        """The lane's oldest undelivered row, claimed — or None when there is none, when it is
        not yet due, or when another worker holds it. Later rows never overtake it."""
        return await self._run(partial(_claim_next, conversation_id=conversation_id, lane=lane, lease=lease))

    async def mark_sent(
        self, due: DueDelivery, external_id: str | None, *, last_part: tuple[int, str] | None = None, lease: timedelta
    ) -> DueDelivery | None:
        """Record the delivery as made (and the last part of a split reply), then claim the
        lane's next as `claim_next` does, in one transaction."""
        return await self._run(
            partial(_mark_sent_and_claim_next, due=due, external_id=external_id, last_part=last_part, lease=lease)
        )

    async def record_part(self, message_id: int, part: int, external_id: str) -> None:
        """Keep one delivered part of a split reply (before its last), so a retry skips it."""
        await self._run(partial(_record_part, message_id=message_id, part=part, external_id=external_id))

    async def mark_failed(self, outbox_id: int, *, error: str, retry_at: datetime | None) -> None:
        """Record a failed attempt: retry at `retry_at`, or dead-letter when it is None."""
        await self._run(partial(_mark_failed, outbox_id=outbox_id, error=error, retry_at=retry_at))

    async def mark_dropped(self, outbox_id: int, *, reason: str) -> None:
        """The reply is no longer worth sending (see `DeliveryError`): dropped, with why."""
        await self._run(partial(_mark_dropped, outbox_id=outbox_id, reason=reason))

    async def mark_held(self, due: DueDelivery, *, reason: str, since: datetime) -> None:
        """Hold the reply until the customer writes again and tell staff why (`hold`)."""
        await self._run(
            partial(
                hold,
                outbox_id=due.outbox_id,
                conversation_id=due.message.conversation_id,
                message_id=due.message.id,
                reason=reason,
                since=since,
            )
        )

    async def mark_unreachable(self, outbox_id: int, *, conversation_id: str, error: str) -> None:
        """Dead-letter the delivery and mark its conversation unreachable (see `DeliveryError`)."""
        await self._run(partial(_mark_unreachable, outbox_id=outbox_id, conversation_id=conversation_id, error=error))


def _due_lanes(session: Session, *, channels: list[str]) -> list[tuple[str, Lane]]:
    rows = session.execute(
        select(OutboxItem.conversation_id, OutboxItem.channel == DESK)
        .where(
            OutboxItem.status == DeliveryStatus.PENDING,
            OutboxItem.channel.in_(channels),
            OutboxItem.next_attempt_at <= utcnow(),
        )
        .distinct()
    )
    return [(conversation_id, Lane.DESK if desk else Lane.CUSTOMER) for conversation_id, desk in rows]


def _claim(lane: Lane) -> Update:
    in_lane = OutboxItem.kind == DeliveryKind.REPLY if lane is Lane.CUSTOMER else OutboxItem.kind != DeliveryKind.REPLY
    head = (
        select(func.min(OutboxItem.id))
        .where(OutboxItem.conversation_id == bindparam("head_of"), in_lane, OutboxItem.status == DeliveryStatus.PENDING)
        .scalar_subquery()
    )
    return (
        update(OutboxItem)
        .where(
            OutboxItem.id == head,
            OutboxItem.next_attempt_at <= bindparam("now"),
            or_(OutboxItem.claimed_until.is_(None), OutboxItem.claimed_until < bindparam("now")),
        )
        .values(claimed_until=bindparam("until"), claims=OutboxItem.claims + literal(1))
        .returning(
            OutboxItem.id,
            OutboxItem.attempts,
            OutboxItem.claims,
            OutboxItem.kind,
            OutboxItem.message_id,
            OutboxItem.channel,
            OutboxItem.chat_id,
            OutboxItem.thread_id,
            OutboxItem.created_at,
        )
    )


_CLAIMS = {lane: _claim(lane) for lane in Lane}
"""A lane's oldest pending row, claimed when it is due and nobody holds it: one statement. A
later row never overtakes it (the head is chosen before due and held are asked)."""


def _claim_next(session: Session, *, conversation_id: str, lane: Lane, lease: timedelta) -> DueDelivery | None:
    now = utcnow()
    head = (
        session.connection()
        .execute(_CLAIMS[lane], {"head_of": conversation_id, "now": now, "until": now + lease})
        .one_or_none()
    )
    if head is None:
        return None
    found = session.execute(
        select(
            Message,
            Conversation.unreachable_reason,
            OptOut.opted_out_at,
            func.coalesce(Message.language, Conversation.language),
        )
        .join(Conversation, Conversation.id == Message.conversation_id)
        .outerjoin(OptOut, and_(OptOut.channel == head.channel, OptOut.chat_id == head.chat_id))
        .where(Message.id == head.message_id)
    ).one()
    message, unreachable, opted_out, language = found
    if opted_out is not None:
        unreachable = "the customer opted out (STOP)"
    kind = DeliveryKind(head.kind)
    parts: tuple[str, ...] = ()
    if kind is DeliveryKind.REPLY:
        parts = tuple(
            session.execute(
                select(DeliveredPart.external_id)
                .where(DeliveredPart.message_id == head.message_id)
                .order_by(DeliveredPart.part)
            ).scalars()
        )
    address = Address(head.channel, head.chat_id, head.thread_id or None)
    return DueDelivery(
        head.id,
        head.attempts,
        address,
        to_stored(message),
        unreachable if kind is DeliveryKind.REPLY else None,
        parts,
        kind=kind,
        created_at=head.created_at,
        claimed_before=head.claims > 1,
        language=language,
    )


def _mark_sent_and_claim_next(
    session: Session, *, due: DueDelivery, external_id: str | None, last_part: tuple[int, str] | None, lease: timedelta
) -> DueDelivery | None:
    if last_part is not None:
        _record_part(session, message_id=due.message.id, part=last_part[0], external_id=last_part[1])
    session.execute(
        update(OutboxItem)
        .where(OutboxItem.id == due.outbox_id)
        .values(
            status=DeliveryStatus.SENT,
            external_id=external_id,
            sent_at=utcnow(),
            claimed_until=None,
            last_error=None,
            platform_status=None,  # a held reply sent again: its new id's reports start afresh
            platform_status_rank=None,
        )
    )
    return _claim_next(session, conversation_id=due.message.conversation_id, lane=due.lane, lease=lease)


def _record_part(session: Session, *, message_id: int, part: int, external_id: str) -> None:
    session.execute(
        insert_ignoring_conflicts(session, DeliveredPart).values(
            message_id=message_id, part=part, external_id=external_id, sent_at=utcnow()
        )
    )


def _mark_failed(session: Session, *, outbox_id: int, error: str, retry_at: datetime | None) -> None:
    values: dict[str, object] = {"attempts": OutboxItem.attempts + 1, "last_error": error[:2000], "claimed_until": None}
    if retry_at is None:
        values["status"] = DeliveryStatus.DEAD
    else:
        values["next_attempt_at"] = retry_at
    session.execute(update(OutboxItem).where(OutboxItem.id == outbox_id).values(**values))


def _mark_dropped(session: Session, *, outbox_id: int, reason: str) -> None:
    session.execute(
        update(OutboxItem)
        .where(OutboxItem.id == outbox_id)
        .values(status=DeliveryStatus.DROPPED, last_error=reason[:2000], claimed_until=None)
    )


def _mark_unreachable(session: Session, *, outbox_id: int, conversation_id: str, error: str) -> None:
    _mark_failed(session, outbox_id=outbox_id, error=error, retry_at=None)
    session.execute(
        update(Conversation).where(Conversation.id == conversation_id).values(unreachable_reason=error[:2000])
    )


HOLDER = "supporthub"
"""Who the case note about a held reply is from."""


def held_notice(reply: str, reason: str) -> str:
    """What staff read about a held reply: which, the platform's reason, and what happens next."""
    first = reply.strip().splitlines()[0] if reply.strip() else ""
    excerpt = first if len(first) <= 80 else first[:79].rstrip() + "…"
    return f"Not sent yet: “{excerpt}”. {reason.rstrip('.')}. It will be sent when the customer writes again."


def hold(
    session: Session, *, outbox_id: int, conversation_id: str, message_id: int, reason: str, since: datetime
) -> None:
    """Hold the reply of outbox row `outbox_id` until the customer writes again, and tell staff
    why (`core.store.held_replies`). `since`: when the platform's rule was asked (the send was
    tried); a customer message stored since then opened the window again, so the reply goes
    back in line at once instead. The conversation is locked first, as storing a customer
    message locks it where processes share the database (`core.store.inbox`): either that
    message's release sees this hold, or this sees the message."""
    session.execute(select(Conversation.id).where(Conversation.id == conversation_id).with_for_update())
    wrote_since = session.execute(
        select(Message.id).where(
            Message.conversation_id == conversation_id,
            Message.author == Author.CUSTOMER.value,
            Message.created_at >= since,
        )
    ).first()
    held = wrote_since is None
    session.execute(delete(DeliveredPart).where(DeliveredPart.message_id == message_id))  # it all goes again
    session.execute(
        update(OutboxItem)
        .where(OutboxItem.id == outbox_id)
        .values(
            status=DeliveryStatus.HELD if held else DeliveryStatus.PENDING,
            next_attempt_at=utcnow(),
            last_error=reason[:2000],
            claimed_until=None,
            external_id=None,
            platform_status=None,
            platform_status_rank=None,
        )
    )
    if held:
        _tell_staff(session, conversation_id=conversation_id, message_id=message_id, reason=reason)


def _tell_staff(session: Session, *, conversation_id: str, message_id: int, reason: str) -> None:
    """A note on the conversation's latest case (the inbox shows it) and a line in its thread
    on the staff desk, once per reply; nothing when the conversation never had a case."""
    case = session.execute(
        select(Case).where(Case.conversation_id == conversation_id).order_by(Case.opened_at.desc()).limit(1)
    ).scalar_one_or_none()
    told = select(OutboxItem.id).where(OutboxItem.message_id == message_id, OutboxItem.kind == DeliveryKind.HELD)
    if case is None or session.execute(told).first() is not None:
        return
    queue_desk_work(
        session, kind=DeliveryKind.HELD, case_id=case.id, conversation_id=conversation_id, message_id=message_id
    )
    reply = session.execute(select(Message.text).where(Message.id == message_id)).scalar_one()
    session.add(
        CaseEvent.beside(
            case,
            kind=CaseEventKind.NOTE,
            actor=HOLDER,
            note=held_notice(reply, reason),
        )
    )
