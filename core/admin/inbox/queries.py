"""What the inbox shows: the queue of open cases (waiting for a person first, then the longest
open), one case with its summary, and a version number of each that changes whenever what it
shows could have (the live pages reload when it moves). The customer's language is named
where staff need it, and their messages carry their translation for staff (`core.handoff.translations`)."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import case as sql_case
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from core.admin.inbox.search import QueueSearch, conditions
from core.admin.queries.contact_labels import contact_labels
from core.admin.queries.operations import QueuedCase, case_queue
from core.desk_port import CaseCard
from core.handoff.cases import OPEN_STATES
from core.handoff.desk_store import card_of, queued_questions
from core.handoff.hours import Sla
from core.handoff.references import reference
from core.invariants import present
from core.languages import language_name
from core.store.case_tables import Case, CaseEvent, CaseState
from core.store.db import Conversation, Message


@dataclass(frozen=True, slots=True)
class InboxEntry:
    case: QueuedCase
    customer: str
    """The contact's best known name, email or phone (`core.admin.queries.contact_labels`)."""
    question: str | None
    """What the customer asked before the case opened, as its card shows it (`queued_questions`):
    to read before opening the case."""
    needs: str | None = None
    """The language the customer writes in ("German"), when known and not staff's."""
    question_translated: str | None = None
    """The message of `question` translated for staff, when it was."""

    @property
    def reference(self) -> str:
        """The case as people name it ("#3F2A9C1E"), to find it again by."""
        return reference(self.case.id)


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


PAGE_SIZE = 200


@dataclass(frozen=True, slots=True)
class QueuePage:
    """One page of the queue, as found by a search (`core.admin.inbox.search`)."""

    entries: list[InboxEntry]
    matching: int
    """Open cases the search finds, on every page."""
    waiting: int
    """Customers waiting for a person in the visitor's queues, whatever the words searched: the
    tab's count."""
    page: int
    """From 1."""

    @property
    def first(self) -> int:
        """The position of the page's first case in the queue ("cases 201–400 of …"); 0 when empty."""
        return (self.page - 1) * PAGE_SIZE + 1 if self.entries else 0

    @property
    def last(self) -> int:
        return (self.page - 1) * PAGE_SIZE + len(self.entries)

    @property
    def pages(self) -> int:
        return max(1, -(-self.matching // PAGE_SIZE))

    @property
    def more(self) -> bool:
        return self.page * PAGE_SIZE < self.matching


async def queue(
    session: AsyncSession, *, now: datetime, sla: Sla, staff: str, search: QueueSearch, page: int = 1
) -> QueuePage:
    """The `page`th `PAGE_SIZE` open cases the search finds: waiting for a person first, then the
    longest open (the case id breaks a tie, so a page never repeats or skips a case while nothing
    moves).

    Paged by offset: the open cases are the backlog, thousands at most however many closed ones
    the hub holds, and the ids of a later page are found through them in one sort (see
    `tests/bench/bench_inbox_queue.py`); a keyset would save that sort but not give "cases
    201–400 of 1,234" or a previous page without the same count. The page's ids come first, in
    a statement that also counts what the search found; only those cases are then read whole."""
    waiting_first = sql_case((Case.state == CaseState.WAITING, 0), else_=1)
    found = (
        await session.execute(
            select(Case.id, func.count().over().label("matching"))
            .where(Case.state.in_(OPEN_STATES), *conditions(search))
            .order_by(waiting_first, Case.opened_at, Case.id)
            .limit(PAGE_SIZE)
            .offset((page - 1) * PAGE_SIZE)
        )
    ).all()
    matching = found[0].matching if found else await _matching(session, search)
    in_scope = [search.scope.holds()] if search.scope is not None else []
    waiting = await session.scalar(select(func.count()).where(Case.state == CaseState.WAITING, *in_scope)) or 0
    ids = [row.id for row in found]
    by_id = {case.id: case for case in await case_queue(session, now=now, sla=sla, case_ids=ids, limit=PAGE_SIZE)}
    cases = [by_id[case_id] for case_id in ids if case_id in by_id]  # one closed since: left out
    return QueuePage(await _entries(session, cases, staff=staff), matching, waiting, page)


async def _matching(session: AsyncSession, search: QueueSearch) -> int:
    """How many open cases the search finds: for a page past the last, which has no row to say."""
    return (
        await session.scalar(
            select(func.count()).select_from(Case).where(Case.state.in_(OPEN_STATES), *conditions(search))
        )
        or 0
    )


async def _entries(session: AsyncSession, cases: list[QueuedCase], *, staff: str) -> list[InboxEntry]:
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
    asked = await session.run_sync(lambda sync: queued_questions(sync, [case.id for case in cases]))
    return [
        InboxEntry(
            case,
            labels.get(contacts.get(case.conversation_id, ""), "?"),
            question.text if (question := asked.get(case.id)) else None,
            needs=needs(languages.get(case.conversation_id), staff=staff),
            question_translated=question.translation if question else None,
        )
        for case in cases
    ]


async def one_case(session: AsyncSession, case_id: str, *, now: datetime, sla: Sla, staff: str) -> InboxCase | None:
    found = await case_queue(session, now=now, sla=sla, include_closed=True, case_ids=[case_id])
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
    return present(case, "the case, read just before in the same session,")


async def queue_version(session: AsyncSession) -> tuple[int, int, int]:
    """Moves with every message of a conversation with an open case, every translation for
    staff kept on one, and every case event anywhere (a case opening, moving or closing): what
    the queue shows. A message of a conversation the bot keeps is no news to the queue, so the
    live pages of a busy hub are not woken by its bot traffic. One statement, so on PostgreSQL
    its parts are read at one moment.

    Each open case's messages are read through its conversation's index, not matched against
    every message: at 100,000 cases PostgreSQL hashed the open cases and scanned all 512,000
    messages (70 ms, growing with the hub's history) where a lookup per open case takes 30 ms
    (`tests/bench/bench_inbox_queue.py`)."""
    of_case = Message.conversation_id == Case.conversation_id
    newest_message = select(func.max(Message.id)).where(of_case).scalar_subquery()
    translations = select(func.count(Message.translation)).where(of_case).scalar_subquery()
    newest_event = select(func.max(CaseEvent.id)).scalar_subquery()
    message, translated, event = (
        await session.execute(
            select(func.max(newest_message), func.sum(translations), newest_event).where(Case.state.in_(OPEN_STATES))
        )
    ).one()
    return message or 0, event or 0, int(translated or 0)


async def case_versions(session: AsyncSession, case_ids: Collection[str]) -> dict[str, tuple[int, int, int]]:
    """Each known case's version, in one statement however many: it moves with every message of
    the case's conversation, every translation for staff kept on one, and every event of the
    case. An unknown case is left out."""
    of_conversation = Message.conversation_id == Case.conversation_id
    rows = await session.execute(
        select(
            Case.id,
            select(func.max(Message.id)).where(of_conversation).scalar_subquery(),
            select(func.max(CaseEvent.id)).where(CaseEvent.case_id == Case.id).scalar_subquery(),
            select(func.count(Message.translation)).where(of_conversation).scalar_subquery(),
        ).where(Case.id.in_(list(case_ids)))
    )
    return {case_id: (message or 0, event or 0, translations or 0) for case_id, message, event, translations in rows}


async def case_version(session: AsyncSession, case_id: str) -> tuple[int, int, int] | None:
    """The case's version (`case_versions`); None for an unknown case."""
    return (await case_versions(session, [case_id])).get(case_id)
