"""A customer's own cases, as the built-in case actions show them (`core.answering.actions.built_in`):
how each stands, and a note added to the open one for the person handling it. Only ever the
cases the contact who writes opened: in a group or a thread several people write in, another
person's case is not theirs. A note said twice (a turn taken again
after a failure) is added once."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from core.answering.actions.built_in import CaseLine
from core.handoff.cases import OPEN_STATES
from core.handoff.inbox_store import note
from core.handoff.references import reference
from core.messages import Author
from core.store.case_tables import Case, CaseEvent, CaseEventKind
from core.store.db import Conversation, Message
from core.store.transactions import Transactions

CUSTOMER_NOTE = "the customer"
"""Who a customer's note is from, as staff see it on the case."""


def _opener(column: Any) -> Any:
    """`column` of the message that opened the case: the last customer message of its conversation
    before it opened (its text is what the case is about, in the customer's words; its writer
    is whose case it is, in a conversation several people write in)."""
    return (
        select(column)
        .where(
            Message.conversation_id == Case.conversation_id,
            Message.author == Author.CUSTOMER.value,
            Message.created_at <= Case.opened_at,
        )
        .order_by(Message.id.desc())
        .limit(1)
        .correlate(Case, Conversation)
        .scalar_subquery()
    )


_ASKED = _opener(Message.text)
_ASKER = _opener(func.coalesce(Message.contact_id, Conversation.contact_id))


class StoredCaseBook:
    def __init__(self, transactions: Transactions) -> None:
        self._run = transactions.run

    async def cases_of(self, contact_id: str) -> list[CaseLine]:
        return await self._run(lambda session: [line for _, line in _cases_of(session, contact_id)])

    async def add_note(self, contact_id: str, text: str) -> CaseLine | None:
        def work(session: Session) -> CaseLine | None:
            open_cases = [(case_id, line) for case_id, line in _cases_of(session, contact_id) if line.open]
            if not open_cases:
                return None
            case_id, newest = open_cases[0]
            if not _noted(session, case_id, text):
                note(session, case_id=case_id, actor=CUSTOMER_NOTE, text=text)
            return newest

        return await self._run(work)


def _cases_of(session: Session, contact_id: str) -> list[tuple[str, CaseLine]]:
    """The contact's cases, newest first, with their ids."""
    wrote_in = select(Message.conversation_id).where(Message.contact_id == contact_id)
    rows = session.execute(
        select(Case.id, Case.state, Case.opened_at, Conversation.channel, _ASKED.label("asked"))
        .join(Conversation, Conversation.id == Case.conversation_id)
        .where(or_(Conversation.contact_id == contact_id, Conversation.id.in_(wrote_in)), contact_id == _ASKER)
        .order_by(Case.opened_at.desc())
        .limit(20)
    ).all()
    return [
        (
            row.id,
            CaseLine(reference(row.id), row.state, row.opened_at, row.channel, row.asked, row.state in OPEN_STATES),
        )
        for row in rows
    ]


def _noted(session: Session, case_id: str, text: str) -> bool:
    return (
        session.scalar(
            select(CaseEvent.id).where(
                CaseEvent.case_id == case_id,
                CaseEvent.kind == CaseEventKind.NOTE.value,
                CaseEvent.actor == CUSTOMER_NOTE,
                CaseEvent.note == text,
            )
        )
        is not None
    )
