"""Cases: an escalated conversation's life with a person, as an explicit state machine.

    waiting ──claim──▶ human ──return──▶ returned (the bot has the conversation again)
       │                 │
       └──resolve / return──┴──resolve──▶ closed

Every change is a `case_events` row (from, to, who, when, why), written in the same
transaction as the change, so a restart loses nothing; so is the staff desk's work it makes
due (the card of a new case, in the outbox; a closed case's unposted work is dropped). The conversation's own `state` is the
open case's (waiting, human), written only here, and is what the hub checks: the bot says
nothing to the customer unless it is `bot`, which a conversation is again as soon as its case
is returned or resolved.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import update
from sqlalchemy.orm import Session

from core.invariants import present
from core.store.case_tables import Case, CaseEvent, CaseState
from core.store.db import Conversation, ConversationState, DeliveryKind, utcnow
from core.store.outbox_queue import drop_desk_work, queue_desk_work

TRANSITIONS: dict[CaseState, frozenset[CaseState]] = {
    CaseState.WAITING: frozenset({CaseState.HUMAN, CaseState.RETURNED, CaseState.CLOSED}),
    CaseState.HUMAN: frozenset({CaseState.HUMAN, CaseState.RETURNED, CaseState.CLOSED}),
    CaseState.RETURNED: frozenset(),
    CaseState.CLOSED: frozenset(),
}
CONVERSATION_STATE = {
    CaseState.WAITING: ConversationState.WAITING,
    CaseState.HUMAN: ConversationState.HUMAN,
    CaseState.RETURNED: ConversationState.BOT,
    CaseState.CLOSED: ConversationState.BOT,
}
OPEN_STATES = (CaseState.WAITING, CaseState.HUMAN)


@dataclass(frozen=True, slots=True)
class CaseOpening:
    """Why a conversation goes to a person, as the case records it."""

    rule: str
    reason: str
    frustration: float | None = None
    suggestion: str | None = None
    """A draft answer for the person taking over (the LLM's, when one is configured)."""
    language: str | None = None
    """The language the customer needs, when a message was sure of one."""


class CaseTransitionError(Exception):
    """A change the state machine does not allow (e.g. claiming a closed case)."""


def open_case(session: Session, *, conversation_id: str, message_id: int, opening: CaseOpening) -> str:
    """Open a case waiting for a person, take the conversation out of the bot's hands and
    queue the case's card for the staff desk (`message_id`: the message that escalated)."""
    now = utcnow()
    case = Case(
        conversation_id=conversation_id,
        state=CaseState.WAITING,
        rule=opening.rule,
        reason=opening.reason,
        frustration=opening.frustration,
        suggestion=opening.suggestion,
        language=opening.language,
        opened_at=now,
        updated_at=now,
    )
    session.add(case)
    session.flush()
    session.add(
        CaseEvent(case_id=case.id, from_state=None, to_state=case.state, actor="bot", note=opening.reason, at=now)
    )
    session.execute(
        update(Conversation)
        .where(Conversation.id == conversation_id)
        .values(state=CONVERSATION_STATE[CaseState.WAITING])
    )
    queue_desk_work(
        session,
        kind=DeliveryKind.CARD,
        case_id=case.id,
        conversation_id=conversation_id,
        message_id=message_id,
    )
    return case.id


def move_case(session: Session, *, case_id: str, to: CaseState, actor: str, note: str | None = None) -> Case:
    """Change a case's state (claim: to HUMAN with the actor as owner), with its event."""
    case = session.get(Case, case_id, with_for_update=True)
    if case is None:
        raise CaseTransitionError(f"no case {case_id}")
    current = case.state
    if to not in TRANSITIONS[current]:
        raise CaseTransitionError(f"a {current} case cannot become {to}")
    now = utcnow()
    session.add(CaseEvent(case_id=case.id, from_state=current, to_state=to, actor=actor, note=note, at=now))
    case.state = to
    case.updated_at = now
    if to is CaseState.HUMAN:
        case.owner = actor
    if to in (CaseState.RETURNED, CaseState.CLOSED):
        case.closed_at = now
        drop_desk_work(session, case_id=case.id)
    conversation = present(session.get(Conversation, case.conversation_id), f"case {case.id}'s conversation")
    conversation.state = CONVERSATION_STATE[to]
    return case
