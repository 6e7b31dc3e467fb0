"""The staff desk's transactions: what a card shows, the customer messages to copy into case
threads, staff replies to relay and case actions — each one short transaction, so a restart
loses nothing. The desk's posts themselves (cards, lines, reminders) are outbox rows, queued
in the transaction that made them due and delivered by the outbox (`core.handoff.desk`)."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Row, and_, delete, exists, func, select, update
from sqlalchemy.orm import Session

from core.answering.questions import asks_anything, questions
from core.desk_port import CaseAction, CaseCard
from core.handoff.cases import OPEN_STATES, move_case
from core.handoff.hours import Sla
from core.handoff.survey import QUESTION as SURVEY_QUESTION
from core.handoff.translations import Outgoing, note_untranslated
from core.invariants import present
from core.languages import N_, _, speaking
from core.messages import Address, Author, SurveyPart
from core.store import suggestions
from core.store.case_tables import Case, CaseRating, CaseState
from core.store.contacts import insert_ignoring_conflicts
from core.store.db import ChannelValue, Contact, Conversation, DeliveryKind, Memory, Message, utcnow
from core.store.outbox_queue import queue_delivery, queue_desk_work
from core.turn_context import Intent

CARD_MESSAGES = 5
HUMAN_REQUEST = Intent.HUMAN_REQUEST.value
SUMMARY_MESSAGES = 20
"""How far back the case summary looks for the customer's question and the bot's answer."""
STILL_WITH_US = N_(
    "Thanks for your patience — a person from our support team has your conversation and will reply here soon."
)
RESOLVED_NOTICE = N_(
    "A person from our support team has marked this as resolved. If you need anything else, just write here."
)


ACTION_STATE = {
    CaseAction.CLAIM: CaseState.HUMAN,
    CaseAction.RESOLVE: CaseState.CLOSED,
    CaseAction.RETURN: CaseState.RETURNED,
}


@dataclass(frozen=True, slots=True)
class Relayed:
    """A staff message or action that reached the customer's conversation."""

    conversation_id: str
    channel: str
    card: CaseCard | None
    desk_ref: str | None


@dataclass(frozen=True, slots=True)
class CaseThread:
    """Where a case is on the desk (None until its card is posted) and since when it is open."""

    desk_ref: str | None
    opened_at: datetime


def thread_of(session: Session, *, case_id: str) -> CaseThread | None:
    case = session.get(Case, case_id)
    if case is None:
        return None
    return CaseThread(case.desk_ref, case.opened_at)


def card_to_post(session: Session, *, case_id: str) -> CaseCard | str | None:
    """The card of an open case not yet on the desk; its desk reference when it is posted
    already; None when the case is closed or gone (nothing to post)."""
    case = session.get(Case, case_id)
    if case is None or case.state not in OPEN_STATES:
        return None
    return case.desk_ref if case.desk_ref is not None else card_of(session, case)


def mirror_to_case(session: Session, *, conversation_id: str, message_id: int) -> bool:
    """Queue a customer message for the thread of its conversation's open case, if there is
    one; whether it was queued."""
    case_id = session.execute(
        select(Case.id).where(Case.conversation_id == conversation_id, Case.state.in_(OPEN_STATES))
    ).scalar_one_or_none()
    if case_id is not None:
        queue_desk_work(
            session,
            kind=DeliveryKind.LINE,
            case_id=case_id,
            conversation_id=conversation_id,
            message_id=message_id,
        )
    return case_id is not None


def card_of(session: Session, case: Case) -> CaseCard:
    conversation = present(session.get(Conversation, case.conversation_id), f"case {case.id}'s conversation")
    contact = session.get(Contact, conversation.contact_id)
    rows = session.execute(
        select(Message.author, Message.text, Message.translation, Message.original)
        .where(Message.conversation_id == conversation.id)
        .order_by(Message.id.desc())
        .limit(CARD_MESSAGES)
    ).all()
    customer = (contact.display_name if contact and contact.display_name else None) or conversation.chat_id
    before = session.execute(
        select(Message.author, Message.text, Message.intent, Message.citations)
        .where(Message.conversation_id == conversation.id, Message.created_at <= case.opened_at)
        .order_by(Message.id.desc())
        .limit(SUMMARY_MESSAGES)
    ).all()
    facts = session.execute(
        select(Memory.key, Memory.value).where(Memory.contact_id == conversation.contact_id).order_by(Memory.id)
    ).all()
    return CaseCard(
        case_id=case.id,
        state=case.state,
        channel=conversation.channel,
        customer=customer,
        reason=case.reason,
        frustration=case.frustration,
        owner=case.owner,
        last_messages=tuple((row.author, row.text) for row in reversed(rows)),
        for_staff=tuple(row.translation or row.original for row in reversed(rows)),
        language=conversation.language or case.language,
        suggestion=case.suggestion,
        summary=case.summary,
        question=case_question(
            [row.text for row in before if row.author == Author.CUSTOMER.value and row.intent != HUMAN_REQUEST]
        ),
        answered=next((row.text for row in before if row.author == Author.BOT.value and row.citations), None),
        facts=tuple((row.key, row.value) for row in facts),
    )


def case_question(texts: Sequence[str]) -> str | None:
    """The customer's latest question (`texts`: their messages before the case opened, newest
    first, asking for a person left out), else their latest message: what a person taking the
    case reads first."""
    return asked(texts)[0]


def asked(texts: Sequence[str]) -> tuple[str | None, int | None]:
    """`case_question` and the index in `texts` of the message it comes from."""
    found = next((n for n, text in enumerate(texts) if asks_anything(text)), None)
    if found is not None:
        return questions(texts[found])[-1], found
    return (texts[0], 0) if texts else (None, None)


@dataclass(frozen=True, slots=True)
class QueuedQuestion:
    text: str
    translation: str | None
    """The message it comes from, translated for staff (when it was)."""


def queued_questions(session: Session, case_ids: Collection[str]) -> dict[str, QueuedQuestion]:
    """Each case's question as its card shows it (`card_of`), for a queue of cases in one query:
    of the last `SUMMARY_MESSAGES` messages before each opened, the customer's; a case whose
    customer only asked for a person shows that request."""
    ranked = (
        select(
            Case.id.label("case_id"),
            Message.author,
            Message.intent,
            Message.text,
            Message.translation,
            func.row_number().over(partition_by=Case.id, order_by=Message.id.desc()).label("newest"),
        )
        .join(Message, and_(Message.conversation_id == Case.conversation_id, Message.created_at <= Case.opened_at))
        .where(Case.id.in_(case_ids))
        .subquery()
    )
    rows = session.execute(
        select(ranked.c.case_id, ranked.c.intent, ranked.c.text, ranked.c.translation)
        .where(ranked.c.newest <= SUMMARY_MESSAGES, ranked.c.author == Author.CUSTOMER.value)
        .order_by(ranked.c.case_id, ranked.c.newest)
    ).all()
    by_case: dict[str, list[Row[Any, Any, Any, Any]]] = {}
    for row in rows:
        by_case.setdefault(row.case_id, []).append(row)
    found: dict[str, QueuedQuestion] = {}
    for case_id, said in by_case.items():
        asking = [row for row in said if row.intent != HUMAN_REQUEST] or said[:1]
        question, index = asked([row.text for row in asking])
        if question is not None and index is not None:
            found[case_id] = QueuedQuestion(question, asking[index].translation)
    return found


def set_desk_ref(session: Session, *, case_id: str, desk_ref: str) -> None:
    session.execute(update(Case).where(Case.id == case_id, Case.desk_ref.is_(None)).values(desk_ref=desk_ref))


def open_case_at(session: Session, desk_ref: str) -> Case | None:
    return session.execute(
        select(Case).where(Case.desk_ref == desk_ref, Case.state.in_(OPEN_STATES))
    ).scalar_one_or_none()


DESK_EVENTS = "desk-events"
"""The `channel_values` rows of the staff messages a desk acted on, by the platform's id."""
KEEP_DESK_EVENTS = timedelta(days=1)
"""A platform resends within minutes (Slack: three times, within an hour at most)."""


def first_delivery(session: Session, *, event_id: str) -> bool:
    """Whether the desk sees the staff message `event_id` (a command, a note) for the first time:
    a platform's resend of it is acted on once. Ids older than `KEEP_DESK_EVENTS` are let go."""
    now = utcnow()
    session.execute(
        delete(ChannelValue).where(
            ChannelValue.channel == DESK_EVENTS, ChannelValue.updated_at < now - KEEP_DESK_EVENTS
        )
    )
    claimed = insert_ignoring_conflicts(session, ChannelValue).values(
        channel=DESK_EVENTS, key=event_id[:100], value="", updated_at=now
    )
    return session.execute(claimed.returning(ChannelValue.key)).first() is not None


def relayed_before(session: Session, *, desk_ref: str, external_id: str) -> bool:
    """Whether the desk's message `external_id` (a platform's resend) is in the conversation of
    the case open at `desk_ref` already."""
    case = open_case_at(session, desk_ref)
    if case is None:
        return False
    found = select(Message.id).join(Conversation, Conversation.id == Message.conversation_id)
    found = found.where(
        Conversation.id == case.conversation_id,
        Message.channel == Conversation.channel,
        Message.external_id == external_id,
    )
    return session.execute(found.limit(1)).first() is not None


def relay_staff_reply(
    session: Session,
    *,
    desk_ref: str,
    actor: str,
    reply: Outgoing,
    push: frozenset[str],
    external_id: str | None = None,
) -> Relayed | None:
    """Put a staff reply in the customer's conversation (and its delivery in the outbox), as
    translated for them (`core.handoff.translations`); the first reply to a waiting case claims it.
    None when no open case lives at `desk_ref`. `external_id`: the desk platform's id of the
    message, unique with the conversation's channel, so a platform's resend is stored (and
    sent) once: a second insert raises IntegrityError."""
    case = open_case_at(session, desk_ref)
    if case is None:
        return None
    if case.state == CaseState.WAITING:
        move_case(session, case_id=case.id, to=CaseState.HUMAN, actor=actor, note="replied")
    conversation = present(session.get(Conversation, case.conversation_id), f"case {case.id}'s conversation")
    say(
        session,
        conversation,
        author=Author.STAFF,
        text=reply.text,
        push=push,
        sender=actor,
        sent=reply,
        external_id=external_id,
    )
    note_untranslated(session, case=case, outgoing=reply)
    return Relayed(conversation.id, conversation.channel, card_of(session, case), case.desk_ref)


def act_on_case(
    session: Session, *, case_id: str, action: CaseAction, actor: str, push: frozenset[str], survey: bool = True
) -> Relayed:
    """Claim, resolve (what staff answered becomes a suggestion for review,
    `core.store.suggestions`; the customer is told, then asked the satisfaction survey's
    question unless `survey` is off) or return to the bot (a marker in the conversation's memory, so the
    bot picks up where the person left off)."""
    case = move_case(session, case_id=case_id, to=ACTION_STATE[action], actor=actor)
    conversation = present(session.get(Conversation, case.conversation_id), f"case {case.id}'s conversation")
    if action is CaseAction.RESOLVE:
        suggestions.from_case(session, case, resolved_by=actor)
        with speaking(conversation.language):
            said = _(RESOLVED_NOTICE)
        say(session, conversation, author=Author.STAFF, text=said, push=push, sender=actor)
        if survey:
            _ask_rating(session, conversation, case=case, actor=actor, push=push)
    if action is CaseAction.RETURN:
        marker = f"- Staff ({actor}) handled this conversation and handed it back to the bot."
        conversation.summary = "\n".join(
            filter(None, [conversation.summary or "Earlier in this conversation:", marker])
        )
    return Relayed(conversation.id, conversation.channel, card_of(session, case), case.desk_ref)


def _ask_rating(session: Session, conversation: Conversation, *, case: Case, actor: str, push: frozenset[str]) -> None:
    """The survey's question after the resolved notice, queued behind it (`core.handoff.survey`),
    credited to the person who had the case, else to whoever resolved it."""
    with speaking(conversation.language):
        asked = _(SURVEY_QUESTION)
    question = say(session, conversation, author=Author.BOT, text=asked, push=push, survey=SurveyPart.QUESTION)
    session.add(
        CaseRating(
            case_id=case.id,
            conversation_id=conversation.id,
            message_id=question,
            staff=case.owner or actor,
            channel=conversation.channel,
            asked_at=utcnow(),
        )
    )


def card_at(session: Session, *, case_id: str) -> tuple[str, CaseCard] | None:
    """A posted case's thread and its card as it is now; None before it is posted."""
    case = session.get(Case, case_id)
    if case is None or case.desk_ref is None:
        return None
    return case.desk_ref, card_of(session, case)


def line_of(session: Session, *, message_id: int) -> tuple[str | None, str | None, str | None]:
    """A message's language, its translation for staff and its original (a staff reply sent
    translated): what its line in a case thread shows beside its text."""
    row = session.execute(
        select(Message.language, Message.translation, Message.original).where(Message.id == message_id)
    ).one_or_none()
    return (row.language, row.translation, row.original) if row is not None else (None, None, None)


def desk_ref_of(session: Session, *, case_id: str) -> str | None:
    return session.execute(select(Case.desk_ref).where(Case.id == case_id)).scalar_one_or_none()


def case_id_at(session: Session, desk_ref: str) -> str | None:
    case = session.execute(select(Case.id).where(Case.desk_ref == desk_ref).order_by(Case.opened_at.desc()).limit(1))
    return case.scalar_one_or_none()


def say(
    session: Session,
    conversation: Conversation,
    *,
    author: Author,
    text: str,
    push: frozenset[str],
    sender: str | None = None,
    survey: SurveyPart | None = None,
    sent: Outgoing | None = None,
    external_id: str | None = None,
) -> int:
    """Store a message to the customer (queued for delivery on a push channel); its id.
    `sender`: the staff member who wrote it; `sent`: a staff reply's translation, when it was
    translated (its original and language are kept with it)."""
    now = utcnow()
    message = Message(
        conversation_id=conversation.id,
        channel=conversation.channel,
        external_id=external_id,
        author=author.value,
        text=text,
        citations=[],
        handoff=False,
        sender=sender,
        survey=survey,
        original=sent.original if sent is not None else None,
        language=sent.language if sent is not None else None,
        created_at=now,
    )
    session.add(message)
    session.flush()
    if conversation.channel in push:
        address = Address(conversation.channel, conversation.chat_id, conversation.thread_id or None)
        queue_delivery(session, message_id=message.id, conversation_id=conversation.id, address=address, now=now)
    conversation.updated_at = now
    return message.id


@dataclass(frozen=True, slots=True)
class Overdue:
    case_id: str
    conversation_id: str
    channel: str


def past_sla(opened_before: datetime) -> ColumnElement[bool]:
    """An open case opened before `opened_before` that no person from staff has answered yet:
    with the SLA's cut-off (`Sla.opened_before`), what the SLA job reminds staff of, and what
    /metrics and the dashboard count as a breach."""
    staff_replied = exists().where(
        Message.conversation_id == Case.conversation_id,
        Message.author == Author.STAFF,
        Message.created_at >= Case.opened_at,
    )
    return and_(Case.state.in_(OPEN_STATES), Case.opened_at <= opened_before, ~staff_replied)


def remind_overdue(session: Session, *, now: datetime, sla: Sla, push: frozenset[str]) -> list[Overdue]:
    """Open cases nobody from staff has answered within `sla` (business time), each once: marked
    reminded, the customer told they are not forgotten, and a reminder queued for the case's thread."""
    overdue = []
    cases = session.execute(  # skip-locked: two processes running the job remind each case once
        select(Case)
        .where(past_sla(sla.opened_before(now)), Case.reminded_at.is_(None))
        .with_for_update(skip_locked=True, of=Case)
    ).scalars()
    for case in cases:
        case.reminded_at = now
        conversation = present(session.get(Conversation, case.conversation_id), f"case {case.id}'s conversation")
        with speaking(conversation.language):
            still = _(STILL_WITH_US)
        told = say(session, conversation, author=Author.BOT, text=still, push=push)
        queue_desk_work(
            session,
            kind=DeliveryKind.REMINDER,
            case_id=case.id,
            conversation_id=conversation.id,
            message_id=told,
        )
        overdue.append(Overdue(case.id, conversation.id, conversation.channel))
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
