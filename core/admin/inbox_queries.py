"""What the inbox shows: the queue of open cases (waiting for a person first, then the longest
open), one case with its summary, and a version number of each that changes whenever what it
shows could have (the live pages reload when it moves). The customer's language is named
where staff need it, and their messages carry their translation for staff (`handoff.translations`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from core.admin.contact_labels import contact_labels
from core.admin.operations import QueuedCase, case_queue
from core.desk_port import CaseCard
from core.languages import language_name
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
    needs: str | None = None
    """The language the customer writes in ("German"), when known and not staff's."""
    last_said_translated: str | None = None
    """`last_said` translated for staff, when it was."""


@dataclass(frozen=True, slots=True)
class InboxCase:
    case: QueuedCase
    customer: str
    card: CaseCard
    """The case's summary: the question, the bot's answer, why it escalated, facts known."""
    is_open: bool
    needs: str | None = None
    """The language the customer writes in ("German"), when known and not staff's."""
    for_staff: dict[int, ForStaff] = field(default_factory=lambda: {})
    """The conversation's translated messages by id: what staff read beside what was said."""


@dataclass(frozen=True, slots=True)
class ForStaff:
    """A message staff and the customer read in different languages."""

    language: str
    """The customer's language ("German"): a customer message's, or a reply's sent translated."""
    translation: str | None
    """A customer message translated for staff."""
    original: str | None
    """A staff reply as written, before it was sent translated."""


def needs(language: str | None, *, staff: str) -> str | None:
    """ "German" for a customer writing German to English staff; None when staff's or unknown."""
    return language_name(language) if language and language != staff else None


async def queue(session: AsyncSession, *, now: datetime, sla: Sla, staff: str) -> list[InboxEntry]:
    cases = await case_queue(session, now=now, sla=sla)
    cases.sort(key=lambda case: (case.state != CaseState.WAITING.value, case.opened_at))
    conversation_ids = [case.conversation_id for case in cases]
    conversations = (
        await session.execute(
            select(Conversation.id, Conversation.contact_id, Conversation.language).where(
                Conversation.id.in_(conversation_ids)
            )
        )
    ).all()
    contacts = {row.id: row.contact_id for row in conversations}
    languages = {row.id: row.language for row in conversations}
    labels = await contact_labels(session, contacts.values())
    latest = (
        select(Message.conversation_id, func.max(Message.id).label("last"))
        .where(Message.conversation_id.in_(conversation_ids), Message.author == "customer")
        .group_by(Message.conversation_id)
        .subquery()
    )
    said = {
        row.conversation_id: (row.text, row.translation)
        for row in await session.execute(
            select(Message.conversation_id, Message.text, Message.translation).join(latest, Message.id == latest.c.last)
        )
    }
    return [
        InboxEntry(
            case,
            labels.get(contacts.get(case.conversation_id, ""), "?"),
            said.get(case.conversation_id, (None, None))[0],
            needs=needs(languages.get(case.conversation_id), staff=staff),
            last_said_translated=said.get(case.conversation_id, (None, None))[1],
        )
        for case in cases
    ]


async def one_case(session: AsyncSession, case_id: str, *, now: datetime, sla: Sla, staff: str) -> InboxCase | None:
    found = await case_queue(session, now=now, sla=sla, include_closed=True, case_id=case_id)
    if not found:
        return None
    queued = found[0]
    card = await session.run_sync(lambda sync: card_of(sync, _case(sync.get(Case, case_id))))
    contact_id = (
        await session.execute(select(Conversation.contact_id).where(Conversation.id == queued.conversation_id))
    ).scalar_one()
    customer = (await contact_labels(session, [contact_id]))[contact_id]
    translated = await session.execute(
        select(Message.id, Message.language, Message.translation, Message.original).where(
            Message.conversation_id == queued.conversation_id,
            Message.language.is_not(None),
            (Message.translation.is_not(None)) | (Message.original.is_not(None)),
        )
    )
    for_staff = {row.id: ForStaff(language_name(row.language), row.translation, row.original) for row in translated}
    return InboxCase(
        queued,
        customer,
        card,
        queued.state in OPEN_STATES,
        needs=needs(card.language, staff=staff),
        for_staff=for_staff,
    )


def _case(case: Case | None) -> Case:
    assert case is not None  # read just before, in the same session
    return case


async def queue_version(session: AsyncSession) -> tuple[int, int]:
    """Moves with every message stored and every case event anywhere."""
    message = (await session.execute(select(func.max(Message.id)))).scalar()
    event = (await session.execute(select(func.max(CaseEvent.id)))).scalar()
    return message or 0, event or 0


async def case_version(session: AsyncSession, case_id: str) -> tuple[int, int, int] | None:
    """Moves with every message of the case's conversation, every translation for staff kept
    on one, and every event of the case; None for an unknown case."""
    conversation_id = (
        await session.execute(select(Case.conversation_id).where(Case.id == case_id))
    ).scalar_one_or_none()
    if conversation_id is None:
        return None
    message, translations = (
        await session.execute(
            select(func.max(Message.id), func.count(Message.translation)).where(
                Message.conversation_id == conversation_id
            )
        )
    ).one()
    event = (await session.execute(select(func.max(CaseEvent.id)).where(CaseEvent.case_id == case_id))).scalar()
    return message or 0, event or 0, translations
