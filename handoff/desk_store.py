"""The staff desk's transactions: cards to post, customer messages to mirror, staff replies to
relay and case actions — each one short transaction, so a restart loses nothing (a card not
yet posted is posted by the next sync; mirroring resumes after `cases.mirrored_upto`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from core.db import Case, Contact, Conversation, Message, OutboxItem, utcnow
from core.messages import Author
from handoff.cases import OPEN_STATES, CaseState, move_case

CARD_MESSAGES = 5
STILL_WITH_US = "Thanks for your patience — a person from our support team has your conversation and will reply here soon."
RESOLVED_NOTICE = "A person from our support team has marked this as resolved. If you need anything else, just write here."


class Action(StrEnum):
    CLAIM = "claim"
    RESOLVE = "resolve"
    RETURN = "return"


ACTION_STATE = {Action.CLAIM: CaseState.HUMAN, Action.RESOLVE: CaseState.CLOSED, Action.RETURN: CaseState.RETURNED}


@dataclass(frozen=True, slots=True)
class CaseCard:
    """What staff see of a case: a neutral structure the desk's channel renders."""

    case_id: str
    state: str
    channel: str
    customer: str
    reason: str
    frustration: float | None
    owner: str | None
    last_messages: tuple[tuple[str, str], ...]
    """(author, text) of the conversation's latest messages, oldest first."""
    suggestion: str | None = None


@dataclass(frozen=True, slots=True)
class Mirror:
    case_id: str
    desk_ref: str
    messages: tuple[tuple[int, str], ...]


@dataclass(frozen=True, slots=True)
class Relayed:
    """A staff message or action that reached the customer's conversation."""

    conversation_id: str
    channel: str
    card: CaseCard | None
    desk_ref: str | None


def unposted_cards(session: Session) -> list[CaseCard]:
    cases = session.execute(
        select(Case).where(Case.state.in_(OPEN_STATES), Case.desk_ref.is_(None)).order_by(Case.opened_at)
    ).scalars()
    return [card_of(session, case) for case in cases]


def card_of(session: Session, case: Case) -> CaseCard:
    conversation = session.get(Conversation, case.conversation_id)
    assert conversation is not None
    contact = session.get(Contact, conversation.contact_id)
    rows = session.execute(
        select(Message.author, Message.text)
        .where(Message.conversation_id == conversation.id)
        .order_by(Message.id.desc())
        .limit(CARD_MESSAGES)
    ).all()
    customer = (contact.display_name if contact and contact.display_name else None) or conversation.chat_id
    return CaseCard(
        case_id=case.id,
        state=case.state,
        channel=conversation.channel,
        customer=customer,
        reason=case.reason,
        frustration=case.frustration,
        owner=case.owner,
        last_messages=tuple((row.author, row.text) for row in reversed(rows)),
        suggestion=case.suggestion,
    )


def set_desk_ref(session: Session, *, case_id: str, desk_ref: str) -> None:
    session.execute(update(Case).where(Case.id == case_id, Case.desk_ref.is_(None)).values(desk_ref=desk_ref))


def due_mirrors(session: Session) -> list[Mirror]:
    """Customer messages that arrived after a case's card and are not yet in its thread."""
    mirrors = []
    cases = session.execute(select(Case).where(Case.state.in_(OPEN_STATES), Case.desk_ref.is_not(None))).scalars()
    for case in cases:
        rows = session.execute(
            select(Message.id, Message.text)
            .where(
                Message.conversation_id == case.conversation_id,
                Message.author == Author.CUSTOMER.value,
                Message.id > case.mirrored_upto,
                Message.created_at > case.opened_at,
            )
            .order_by(Message.id)
        ).all()
        if rows:
            assert case.desk_ref is not None
            mirrors.append(Mirror(case.id, case.desk_ref, tuple((r.id, r.text) for r in rows)))
    return mirrors


def mark_mirrored(session: Session, *, case_id: str, upto: int) -> None:
    session.execute(update(Case).where(Case.id == case_id, Case.mirrored_upto < upto).values(mirrored_upto=upto))


def open_case_at(session: Session, desk_ref: str) -> Case | None:
    return session.execute(
        select(Case).where(Case.desk_ref == desk_ref, Case.state.in_(OPEN_STATES))
    ).scalar_one_or_none()


def relay_staff_reply(
    session: Session, *, desk_ref: str, actor: str, text: str, push: frozenset[str]
) -> Relayed | None:
    """Put a staff reply in the customer's conversation (and its delivery in the outbox);
    the first reply to a waiting case claims it. None when no open case lives at `desk_ref`."""
    case = open_case_at(session, desk_ref)
    if case is None:
        return None
    if case.state == CaseState.WAITING.value:
        move_case(session, case_id=case.id, to=CaseState.HUMAN, actor=actor, note="replied")
    conversation = session.get(Conversation, case.conversation_id)
    assert conversation is not None
    _say(session, conversation, author=Author.STAFF, text=text, push=push)
    return Relayed(conversation.id, conversation.channel, card_of(session, case), case.desk_ref)


def act_on_case(
    session: Session, *, case_id: str, action: Action, actor: str, push: frozenset[str]
) -> Relayed:
    """Claim, resolve (the customer is told) or return to the bot (a marker in the
    conversation's memory, so the bot picks up where the person left off)."""
    case = move_case(session, case_id=case_id, to=ACTION_STATE[action], actor=actor)
    conversation = session.get(Conversation, case.conversation_id)
    assert conversation is not None
    if action is Action.RESOLVE:
        _say(session, conversation, author=Author.STAFF, text=RESOLVED_NOTICE, push=push)
    if action is Action.RETURN:
        marker = f"- Staff ({actor}) handled this conversation and handed it back to the bot."
        conversation.summary = "\n".join(filter(None, [conversation.summary or "Earlier in this conversation:", marker]))
    return Relayed(conversation.id, conversation.channel, card_of(session, case), case.desk_ref)


def desk_ref_of(session: Session, *, case_id: str) -> str | None:
    return session.execute(select(Case.desk_ref).where(Case.id == case_id)).scalar_one_or_none()


def case_id_at(session: Session, desk_ref: str) -> str | None:
    case = session.execute(select(Case.id).where(Case.desk_ref == desk_ref).order_by(Case.opened_at.desc()).limit(1))
    return case.scalar_one_or_none()


def _say(session: Session, conversation: Conversation, *, author: Author, text: str, push: frozenset[str]) -> None:
    now = utcnow()
    message = Message(
        conversation_id=conversation.id,
        channel=conversation.channel,
        author=author.value,
        text=text,
        citations=[],
        handoff=False,
        created_at=now,
    )
    session.add(message)
    session.flush()
    if conversation.channel in push:
        session.add(
            OutboxItem(
                message_id=message.id,
                conversation_id=conversation.id,
                channel=conversation.channel,
                chat_id=conversation.chat_id,
                thread_id=conversation.thread_id,
                next_attempt_at=now,
                created_at=now,
            )
        )
    conversation.updated_at = now


@dataclass(frozen=True, slots=True)
class Overdue:
    case_id: str
    desk_ref: str | None
    conversation_id: str
    channel: str
    waited_minutes: int


def remind_overdue(session: Session, *, now: datetime, sla: timedelta, push: frozenset[str]) -> list[Overdue]:
    """Open cases nobody from staff has answered within `sla`, each once: marked reminded,
    and the customer told they are not forgotten."""
    overdue = []
    cases = session.execute(
        select(Case).where(Case.state.in_(OPEN_STATES), Case.reminded_at.is_(None), Case.opened_at <= now - sla)
    ).scalars()
    for case in cases:
        answered = session.execute(
            select(Message.id).where(
                Message.conversation_id == case.conversation_id,
                Message.author == Author.STAFF.value,
                Message.created_at >= case.opened_at,
            ).limit(1)
        ).first()
        if answered:
            continue
        case.reminded_at = now
        conversation = session.get(Conversation, case.conversation_id)
        assert conversation is not None
        _say(session, conversation, author=Author.BOT, text=STILL_WITH_US, push=push)
        waited = int((now - case.opened_at).total_seconds() // 60)
        overdue.append(Overdue(case.id, case.desk_ref, conversation.id, conversation.channel, waited))
    return overdue


@dataclass(frozen=True, slots=True)
class OpenCase:
    id: str
    state: str
    channel: str
    owner: str | None
    reason: str
    opened_at: datetime


def open_cases(session: Session) -> list[OpenCase]:
    rows = session.execute(
        select(Case.id, Case.state, Conversation.channel, Case.owner, Case.reason, Case.opened_at)
        .join(Conversation, Conversation.id == Case.conversation_id)
        .where(Case.state.in_(OPEN_STATES))
        .order_by(Case.opened_at)
    ).all()
    return [OpenCase(r.id, r.state, r.channel, r.owner, r.reason, r.opened_at) for r in rows]
