"""The dashboard's conversations: a search over them and one conversation's whole transcript.

Both read a fixed number of queries whatever the number of rows (a page of 50 is two queries, a
transcript seven), and the search's filters are EXISTS subqueries, so a conversation matching
in many messages is still one row.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, exists, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from core.admin.queries.contact_labels import contact_labels
from core.channel import TERMINAL_CHANNEL
from core.store.case_tables import Case, CaseEvent
from core.store.db import (
    AttachmentRow,
    Contact,
    Conversation,
    Feedback,
    Identity,
    Memory,
    Message,
)

PREVIEW_CHARS = 200
"""How much of a conversation's last message a search row carries."""


TEST_CHANNELS = frozenset({TERMINAL_CHANNEL})
"""Conversations someone had with the bot to try it (`supporthub ask`, `chat`): marked *test*
on the dashboard, and left out of a search with `tests=hide`."""


@dataclass(frozen=True, slots=True)
class ConversationFilter:
    """What to look for; an empty field does not narrow the search.

    - `words`: every whitespace-separated word occurs, case-insensitively and literally (`%` and
      `_` are no wildcards), in some message of the conversation, customer's, bot's or staff's —
      not necessarily the same message;
    - `contact`: part of the contact's display name or of one of its identities' external user
      ids (a phone number, an email, a Slack user), case-insensitively, or the exact contact id;
    - `state`: the conversation's state (a `core.store.db.ConversationState`);
    - `language`: the conversation's language (ISO 639-1, `Conversation.language`);
    - `since`, `until`: [since, until) bounds on the conversation's last message (`updated_at`);
    - `tests`: whether test conversations (`TEST_CHANNELS`: someone trying the bot from the
      command line, `supporthub ask` and `chat`) are found too.
    """

    words: str = ""
    contact: str = ""
    channel: str | None = None
    tests: bool = True
    state: str | None = None
    language: str | None = None
    since: datetime | None = None
    until: datetime | None = None


@dataclass(frozen=True, slots=True)
class ConversationRow:
    id: str
    channel: str
    state: str
    contact_id: str
    contact_name: str | None
    contact_label: str
    """Who the contact is, as a person reads it (`core.admin.queries.contact_labels`)."""
    updated_at: datetime
    language: str | None
    """The customer's language (ISO 639-1); None until a message was sure of one."""
    messages: int
    last_text: str
    """The start (`PREVIEW_CHARS`) of the conversation's last message; empty when it has none."""

    @property
    def is_test(self) -> bool:
        return self.channel in TEST_CHANNELS


@dataclass(frozen=True, slots=True)
class ConversationPage:
    rows: list[ConversationRow]
    more: bool
    """Whether rows follow this page."""


@dataclass(frozen=True, slots=True)
class ConversationHeader:
    id: str
    channel: str
    chat_id: str
    thread_id: str
    state: str
    contact_id: str
    contact_name: str | None
    contact_label: str
    created_at: datetime
    updated_at: datetime
    summary: str | None
    unreachable_reason: str | None
    language: str | None
    """The customer's language (ISO 639-1); None until a message was sure of one."""


@dataclass(frozen=True, slots=True)
class FileInfo:
    filename: str
    content_type: str
    size: int
    problem: str | None
    """Why the file could not be read, as the customer was told; None when it was read."""


@dataclass(frozen=True, slots=True)
class FeedbackInfo:
    rating: str
    comment: str | None


@dataclass(frozen=True, slots=True)
class TranscriptMessage:
    id: int
    author: str
    text: str
    created_at: datetime
    channel: str
    reply_to: int | None
    citations: list[dict[str, Any]]
    """As stored: source, title, section, score."""
    intent: str | None
    polarity: float | None
    frustration: float | None
    declined: bool
    handoff: bool
    sender: str | None
    """A staff message's writer."""
    language: str | None
    """A customer message: the language it is surely in; the hub's: the one it spoke."""
    files: list[FileInfo]
    feedback: FeedbackInfo | None


@dataclass(frozen=True, slots=True)
class CaseEventInfo:
    at: datetime
    actor: str
    from_state: str | None
    to_state: str
    note: str | None
    kind: str
    """A `core.store.case_tables.CaseEventKind`: a move, an internal note, an assignment."""


@dataclass(frozen=True, slots=True)
class CaseSummary:
    id: str
    state: str
    rule: str
    reason: str
    owner: str | None
    opened_at: datetime
    closed_at: datetime | None
    language: str | None
    """The language the customer needs (ISO 639-1), as the conversation knew it at the opening."""
    events: list[CaseEventInfo]
    """In the order they happened."""


@dataclass(frozen=True, slots=True)
class MemoryInfo:
    """A fact the hub remembers about the contact (name, email, plan…)."""

    key: str
    value: str
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class Transcript:
    conversation: ConversationHeader
    messages: list[TranscriptMessage]
    """In conversation order (message id)."""
    cases: list[CaseSummary]
    """Oldest first."""
    memories: list[MemoryInfo]


async def search(
    session: AsyncSession, criteria: ConversationFilter, *, limit: int = 50, offset: int = 0
) -> ConversationPage:
    """The conversations matching `criteria`, most recently active first."""
    found = (
        await session.execute(
            select(
                Conversation.id,
                Conversation.channel,
                Conversation.state,
                Conversation.contact_id,
                Contact.display_name,
                Conversation.updated_at,
                Conversation.language,
            )
            .join(Contact, Contact.id == Conversation.contact_id)
            .where(*_matching(criteria))
            .order_by(Conversation.updated_at.desc(), Conversation.id.desc())
            .limit(limit + 1)
            .offset(offset)
        )
    ).all()
    page = found[:limit]
    counts = await _counts_and_last_texts(session, [row.id for row in page])
    labels = await contact_labels(session, [row.contact_id for row in page])
    rows = [
        ConversationRow(
            row.id,
            row.channel,
            row.state,
            row.contact_id,
            row.display_name,
            labels[row.contact_id],
            row.updated_at,
            row.language,
            *counts.get(row.id, (0, "")),
        )
        for row in page
    ]
    return ConversationPage(rows, more=len(found) > limit)


def _matching(criteria: ConversationFilter) -> list[ColumnElement[bool]]:
    conditions = [_mentioned(word) for word in criteria.words.split()]
    if contact := criteria.contact.strip():
        conditions.append(_contact_is(contact))
    if criteria.channel is not None:
        conditions.append(Conversation.channel == criteria.channel)
    if not criteria.tests:
        conditions.append(Conversation.channel.not_in(TEST_CHANNELS))
    if criteria.state is not None:
        conditions.append(Conversation.state == criteria.state)
    if criteria.language is not None:
        conditions.append(Conversation.language == criteria.language)
    if criteria.since is not None:
        conditions.append(Conversation.updated_at >= criteria.since)
    if criteria.until is not None:
        conditions.append(Conversation.updated_at < criteria.until)
    return conditions


def _mentioned(word: str) -> ColumnElement[bool]:
    return exists().where(Message.conversation_id == Conversation.id, Message.text.icontains(word, autoescape=True))


def _contact_is(contact: str) -> ColumnElement[bool]:
    identity = exists().where(
        Identity.contact_id == Conversation.contact_id, Identity.external_user_id.icontains(contact, autoescape=True)
    )
    return or_(Conversation.contact_id == contact, Contact.display_name.icontains(contact, autoescape=True), identity)


async def languages(session: AsyncSession) -> list[str]:
    """The languages conversations are in (ISO 639-1, sorted): the language filter's choices."""
    found = await session.execute(
        select(Conversation.language)
        .where(Conversation.language.is_not(None))
        .distinct()
        .order_by(Conversation.language)
    )
    return [language for language in found.scalars() if language is not None]


async def _counts_and_last_texts(session: AsyncSession, ids: list[str]) -> dict[str, tuple[int, str]]:
    """Each conversation's number of messages and the start of its last one, read through the
    (conversation_id, id) index: one query for the page, not one per row."""
    if not ids:
        return {}
    inner = Message.conversation_id == Conversation.id
    count = select(func.count()).where(inner).scalar_subquery()
    last = (
        select(func.substr(Message.text, 1, PREVIEW_CHARS))
        .where(inner)
        .order_by(Message.id.desc())
        .limit(1)
        .scalar_subquery()
    )
    rows = await session.execute(select(Conversation.id, count, last).where(Conversation.id.in_(ids)))
    return {id: (n, text or "") for id, n, text in rows}


async def transcript(session: AsyncSession, conversation_id: str) -> Transcript | None:
    """The conversation with its messages, files, feedback, cases and the contact's memories;
    None for an unknown conversation."""
    header = await _header(session, conversation_id)
    if header is None:
        return None
    in_conversation = select(Message.id).where(Message.conversation_id == conversation_id)
    files = await _files(session, in_conversation)
    feedback = await _feedback(session, in_conversation)
    messages = (
        await session.execute(select(Message).where(Message.conversation_id == conversation_id).order_by(Message.id))
    ).scalars()
    return Transcript(
        conversation=header,
        messages=[_message(row, files.get(row.id, []), feedback.get(row.id)) for row in messages],
        cases=await _cases(session, conversation_id),
        memories=await _memories(session, header.contact_id),
    )


async def _header(session: AsyncSession, conversation_id: str) -> ConversationHeader | None:
    row = (
        await session.execute(
            select(Conversation, Contact.display_name)
            .join(Contact, Contact.id == Conversation.contact_id)
            .where(Conversation.id == conversation_id)
        )
    ).one_or_none()
    if row is None:
        return None
    conversation, name = row
    return ConversationHeader(
        id=conversation.id,
        channel=conversation.channel,
        chat_id=conversation.chat_id,
        thread_id=conversation.thread_id,
        state=conversation.state,
        contact_id=conversation.contact_id,
        contact_name=name,
        contact_label=(await contact_labels(session, [conversation.contact_id]))[conversation.contact_id],
        created_at=conversation.created_at,
        updated_at=conversation.updated_at,
        summary=conversation.summary,
        unreachable_reason=conversation.unreachable_reason,
        language=conversation.language,
    )


async def _files(session: AsyncSession, message_ids: Select[int]) -> dict[int, list[FileInfo]]:
    """The files of those messages (their metadata; the bytes stay in the database)."""
    rows = await session.execute(
        select(
            AttachmentRow.message_id,
            AttachmentRow.filename,
            AttachmentRow.content_type,
            AttachmentRow.size,
            AttachmentRow.problem,
        )
        .where(AttachmentRow.message_id.in_(message_ids))
        .order_by(AttachmentRow.id)
    )
    files: defaultdict[int, list[FileInfo]] = defaultdict(list)
    for message_id, filename, content_type, size, problem in rows:
        files[message_id].append(FileInfo(filename, content_type, size, problem))
    return files


async def _feedback(session: AsyncSession, message_ids: Select[int]) -> dict[int, FeedbackInfo]:
    rows = await session.execute(
        select(Feedback.message_id, Feedback.rating, Feedback.comment).where(Feedback.message_id.in_(message_ids))
    )
    return {message_id: FeedbackInfo(rating, comment) for message_id, rating, comment in rows}


def _message(row: Message, files: list[FileInfo], feedback: FeedbackInfo | None) -> TranscriptMessage:
    return TranscriptMessage(
        id=row.id,
        author=row.author,
        text=row.text,
        created_at=row.created_at,
        channel=row.channel,
        reply_to=row.reply_to,
        citations=list(row.citations or []),
        intent=row.intent,
        polarity=row.polarity,
        frustration=row.frustration,
        declined=row.declined,
        handoff=row.handoff,
        sender=row.sender,
        language=row.language,
        files=files,
        feedback=feedback,
    )


async def _cases(session: AsyncSession, conversation_id: str) -> list[CaseSummary]:
    cases = (
        (
            await session.execute(
                select(Case).where(Case.conversation_id == conversation_id).order_by(Case.opened_at, Case.id)
            )
        )
        .scalars()
        .all()
    )
    events = await session.execute(
        select(CaseEvent)
        .join(Case, Case.id == CaseEvent.case_id)
        .where(Case.conversation_id == conversation_id)
        .order_by(CaseEvent.at, CaseEvent.id)
    )
    by_case: defaultdict[str, list[CaseEventInfo]] = defaultdict(list)
    for event in events.scalars():
        by_case[event.case_id].append(
            CaseEventInfo(event.at, event.actor, event.from_state, event.to_state, event.note, event.kind)
        )
    return [
        CaseSummary(
            case.id,
            case.state,
            case.rule,
            case.reason,
            case.owner,
            case.opened_at,
            case.closed_at,
            case.language,
            by_case[case.id],
        )
        for case in cases
    ]


async def _memories(session: AsyncSession, contact_id: str) -> list[MemoryInfo]:
    rows = await session.execute(
        select(Memory.key, Memory.value, Memory.updated_at)
        .where(Memory.contact_id == contact_id)
        .order_by(Memory.key, Memory.id)
    )
    return [MemoryInfo(key, value, updated_at) for key, value, updated_at in rows]
