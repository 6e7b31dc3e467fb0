"""The browser inbox's transactions on a case (`core.admin.inbox.views`): a reply to the customer,
an internal note, an assignment. A case action (claim, resolve, return) is
`core.handoff.desk_store.act_on_case`, the same as from Slack, so both desks stay one record.

A reply typed in the inbox is also queued for the case's Slack thread when the case has a card
there (a `LINE` row of a staff message), so people working from Slack see it."""

from __future__ import annotations

from sqlalchemy.orm import Session

from core.handoff.cases import OPEN_STATES, CaseTransitionError, move_case
from core.handoff.copilot_uses import Used, record
from core.handoff.desk_store import Relayed, card_of, case_id_at, say
from core.handoff.translations import Outgoing, note_untranslated
from core.invariants import present
from core.messages import Author
from core.store.case_tables import Case, CaseEvent, CaseEventKind, CaseState
from core.store.db import Conversation, DeliveryKind
from core.store.outbox_queue import queue_desk_work


def _open_case(session: Session, case_id: str) -> Case:
    case = session.get(Case, case_id, with_for_update=True)
    if case is None:
        raise CaseTransitionError(f"no case {case_id}")
    if case.state not in OPEN_STATES:
        raise CaseTransitionError(f"the case is {case.state} already")
    return case


def reply(
    session: Session,
    *,
    case_id: str,
    actor: str,
    text: str,
    push: frozenset[str],
    sent: Outgoing | None = None,
    used: Used | None = None,
) -> Relayed:
    """Put a staff reply in the customer's conversation (queued for their channel); the first
    reply to a waiting case claims it for `actor`. `sent`: `text` as translated for the
    customer (`core.handoff.translations`), when it was to be. `used`: the suggested reply it
    started from (`core.handoff.copilot_uses`), recorded with it."""
    case = _open_case(session, case_id)
    if case.state == CaseState.WAITING:
        move_case(session, case_id=case.id, to=CaseState.HUMAN, actor=actor, note="replied")
    conversation = present(session.get(Conversation, case.conversation_id), f"case {case.id}'s conversation")
    sent = sent or Outgoing(text)
    message_id = say(session, conversation, author=Author.STAFF, text=sent.text, push=push, sender=actor, sent=sent)
    note_untranslated(session, case=case, outgoing=sent)
    if used is not None:
        record(session, case=case, message_id=message_id, actor=actor, used=used, sent=text)
    if case.desk_ref is not None:
        queue_desk_work(
            session, kind=DeliveryKind.LINE, case_id=case.id, conversation_id=conversation.id, message_id=message_id
        )
    return Relayed(conversation.id, conversation.channel, card_of(session, case), case.desk_ref)


def note(session: Session, *, case_id: str, actor: str, text: str) -> None:
    """An internal note on the case: staff see it in the inbox; the customer never does."""
    case = session.get(Case, case_id)
    if case is None:
        raise CaseTransitionError(f"no case {case_id}")
    session.add(CaseEvent.beside(case, kind=CaseEventKind.NOTE, actor=actor, note=text))


def note_at(session: Session, *, desk_ref: str, actor: str, text: str) -> None:
    """A note written in a case's thread on the chat-platform desk (`note:` in Slack), kept
    with the case so the inbox shows it too; nothing when no case lives there."""
    case_id = case_id_at(session, desk_ref)
    if case_id is not None and text:
        note(session, case_id=case_id, actor=actor, text=text)


def assign(session: Session, *, case_id: str, to: str, actor: str) -> Relayed:
    """Give the case to a colleague (`to`, their name): it becomes theirs, claimed if it was
    waiting; the customer is not told (the person who answers introduces themselves)."""
    case = _open_case(session, case_id)
    if case.state == CaseState.WAITING:
        move_case(session, case_id=case.id, to=CaseState.HUMAN, actor=actor, note=f"assigned to {to}")
    case.owner = to
    session.add(CaseEvent.beside(case, kind=CaseEventKind.ASSIGN, actor=actor, note=to))
    conversation = present(session.get(Conversation, case.conversation_id), f"case {case.id}'s conversation")
    return Relayed(conversation.id, conversation.channel, card_of(session, case), case.desk_ref)
