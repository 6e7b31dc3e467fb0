"""What the inbox shows: the queue of open cases (waiting for a person first, then the longest
open), one case with its summary, and a version number of each that changes whenever what it
shows could have (the live pages reload when it moves)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from core.admin.contact_labels import contact_labels
from core.admin.operations import QueuedCase, case_queue
from core.desk_port import CaseCard
from core.store.db import Conversation, Message
from handoff.cases import OPEN_STATES, CaseState
from handoff.desk_store import card_of
from handoff.hours import Sla
from handoff.tables import Case, CaseEvent


@dataclass(frozen=True, slots=True)
class InboxEntry:
    case: QueuedCase
    customer: str
    """The contact's best known name, email or phone (`core.admin.contact_labels`)."""
    last_said: str | None
    """The customer's latest message, to read before opening the case."""


@dataclass(frozen=True, slots=True)
class InboxCase:
    case: QueuedCase
    customer: str
    card: CaseCard
    """The case's summary: the question, the bot's answer, why it escalated, facts known."""
    is_open: bool


async def queue(session: AsyncSession, *, now: datetime, sla: Sla) -> list[InboxEntry]:
    cases = await case_queue(session, now=now, sla=sla)
    cases.sort(key=lambda case: (case.state != CaseState.WAITING.value, case.opened_at))
    conversation_ids = [case.conversation_id for case in cases]
    contacts = {
        conversation_id: contact_id
        for conversation_id, contact_id in await session.execute(
            select(Conversation.id, Conversation.contact_id).where(Conversation.id.in_(conversation_ids))
        )
    }  # not dict(result): a Result has keys()
    labels = await contact_labels(session, contacts.values())
    latest = (
        select(Message.conversation_id, func.max(Message.id).label("last"))
        .where(Message.conversation_id.in_(conversation_ids), Message.author == "customer")
        .group_by(Message.conversation_id)
        .subquery()
    )
    said = {
        conversation_id: text
        for conversation_id, text in await session.execute(
            select(Message.conversation_id, Message.text).join(latest, Message.id == latest.c.last)
        )
    }
    return [
        InboxEntry(case, labels.get(contacts.get(case.conversation_id, ""), "?"), said.get(case.conversation_id))
        for case in cases
    ]


async def one_case(session: AsyncSession, case_id: str, *, now: datetime, sla: Sla) -> InboxCase | None:
    found = await case_queue(session, now=now, sla=sla, include_closed=True, case_id=case_id)
    if not found:
        return None
    queued = found[0]
    card = await session.run_sync(lambda sync: card_of(sync, _case(sync.get(Case, case_id))))
    contact_id = (
        await session.execute(select(Conversation.contact_id).where(Conversation.id == queued.conversation_id))
    ).scalar_one()
    customer = (await contact_labels(session, [contact_id]))[contact_id]
    return InboxCase(queued, customer, card, queued.state in OPEN_STATES)


def _case(case: Case | None) -> Case:
    assert case is not None  # read just before, in the same session
    return case


async def queue_version(session: AsyncSession) -> tuple[int, int]:
    """Moves with every message stored and every case event anywhere."""
    message = (await session.execute(select(func.max(Message.id)))).scalar()
    event = (await session.execute(select(func.max(CaseEvent.id)))).scalar()
    return message or 0, event or 0


async def case_version(session: AsyncSession, case_id: str) -> tuple[int, int] | None:
    """Moves with every message of the case's conversation and every event of the case; None
    for an unknown case."""
    conversation_id = (
        await session.execute(select(Case.conversation_id).where(Case.id == case_id))
    ).scalar_one_or_none()
    if conversation_id is None:
        return None
    message = (
        await session.execute(select(func.max(Message.id)).where(Message.conversation_id == conversation_id))
    ).scalar()
    event = (await session.execute(select(func.max(CaseEvent.id)).where(CaseEvent.case_id == case_id))).scalar()
    return message or 0, event or 0
