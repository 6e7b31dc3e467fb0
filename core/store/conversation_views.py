"""Read models of conversations, as channels show them: the message history both ways, and
an overview of who has the conversation and how the customer feels."""

from __future__ import annotations

from functools import partial

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.answering.sentiment import trend
from core.channel import CaseOverview, ConversationOverview
from core.messages import Address, Author, Citation, StoredMessage, SurveyPart
from core.store.case_tables import Case
from core.store.contacts import conversation_at, language_at
from core.store.db import Conversation, Message
from core.store.transactions import Transactions


def to_stored(row: Message) -> StoredMessage:
    return StoredMessage(
        id=row.id,
        conversation_id=row.conversation_id,
        author=Author(row.author),
        text=row.text,
        citations=tuple(Citation(**c) for c in row.citations or ()),
        handoff=row.handoff,
        created_at=row.created_at,
        reply_to=row.reply_to,
        survey=SurveyPart(row.survey) if row.survey else None,
        language=row.language,
    )


class ConversationViews:
    def __init__(self, transactions: Transactions) -> None:
        self._run = transactions.run

    async def history(self, address: Address, *, after: int = 0, limit: int = 200) -> list[StoredMessage]:
        return await self._run(partial(_history, address=address, after=after, limit=limit))

    async def conversation_at(self, address: Address) -> str | None:
        return await self._run(partial(conversation_at, address=address))

    async def language_at(self, address: Address) -> str | None:
        return await self._run(partial(language_at, address=address))

    async def overview(self, conversation_id: str) -> ConversationOverview | None:
        return await self._run(partial(_overview, conversation_id=conversation_id))

    async def messages(self, conversation_id: str, *, after: int = 0, limit: int = 200) -> list[StoredMessage] | None:
        """The conversation's messages after id `after`; None for an unknown conversation."""
        return await self._run(
            partial(_conversation_messages, conversation_id=conversation_id, after=after, limit=limit)
        )


def _history(session: Session, *, address: Address, after: int, limit: int) -> list[StoredMessage]:
    conversation_id = conversation_at(session, address)
    if conversation_id is None:
        return []
    return _messages(session, conversation_id, after=after, limit=limit)


def _overview(session: Session, *, conversation_id: str) -> ConversationOverview | None:
    conversation = session.get(Conversation, conversation_id)
    if conversation is None:
        return None
    case = session.execute(
        select(Case).where(Case.conversation_id == conversation_id).order_by(Case.opened_at.desc()).limit(1)
    ).scalar_one_or_none()
    signals = session.execute(
        select(Message.intent, Message.polarity, Message.frustration)
        .where(Message.conversation_id == conversation_id, Message.intent.is_not(None))
        .order_by(Message.id)
    ).all()
    return ConversationOverview(
        id=conversation_id,
        state=conversation.state,
        summary=conversation.summary,
        case=None
        if case is None
        else CaseOverview(case.id, case.state, case.rule, case.reason, case.owner, case.opened_at),
        intents=tuple(row.intent for row in signals),
        frustration=tuple(row.frustration for row in signals),
        trend=trend([row.polarity for row in signals]),
    )


def _conversation_messages(
    session: Session, *, conversation_id: str, after: int, limit: int
) -> list[StoredMessage] | None:
    if session.get(Conversation, conversation_id) is None:
        return None
    return _messages(session, conversation_id, after=after, limit=limit)


def _messages(session: Session, conversation_id: str, *, after: int, limit: int) -> list[StoredMessage]:
    rows = session.execute(
        select(Message)
        .where(Message.conversation_id == conversation_id, Message.id > after)
        .order_by(Message.id)
        .limit(limit)
    )
    return [to_stored(row) for row in rows.scalars()]
