"""The transactions of one turn: what the agent needs to know, and everything it decided.

`load` reads the conversation's state, its messages since the last summary, the contact's
facts and the message's attachments. `finish` writes the outcome in one transaction — the
message's signals, its attachments' text, new facts, the reply and its delivery, an
escalation's case — so a crash leaves either all of it or none, and the conditional status
update keeps a turn to one outcome across processes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from sqlalchemy import bindparam, func, select, update
from sqlalchemy.orm import Session

from core.contacts import dialect_insert
from core.db import AttachmentRow, Case, Conversation, ConversationState, Memory, Message, MessageStatus, utcnow
from core.inbox import INSERT_MESSAGE, PendingMessage
from core.messages import Attachment, Author, Reply, StoredMessage, citation_json
from core.outbox_queue import queue_delivery
from core.transactions import Transactions
from core.turn_context import AttachmentText, Fact, FactKey, Intent, PastMessage, Signals
from handoff.cases import BOT_STATES, CONVERSATION_STATE, CaseOpening, CaseState, open_case

HISTORY_LIMIT = 200
"""Messages read per turn at most; summaries keep a conversation's unsummarized tail shorter."""


@dataclass(frozen=True, slots=True)
class TurnState:
    state: str
    """bot | waiting | human | closed: anything but bot or closed means a person has it."""
    contact_id: str
    messages: tuple[PastMessage, ...]
    """The conversation after its summary and before this message, oldest first."""
    summary: str | None
    summary_upto: int
    facts: tuple[Fact, ...]
    unread: tuple[tuple[int, Attachment], ...]
    """This message's files not yet converted: (attachment row id, file)."""
    read: tuple[AttachmentText, ...]
    """This message's files converted by an earlier attempt."""
    policy_from: int
    """The escalation policy looks only at messages after this id: the end of the last
    case, so a conversation handed back to the bot starts afresh."""


@dataclass(frozen=True, slots=True)
class TurnResult:
    signals: Signals | None
    reply: Reply | None
    """None: the bot stays silent (a person has the conversation)."""
    declined: bool = False
    attachments: dict[int, AttachmentText] = field(default_factory=dict)
    facts: Sequence[Fact] = ()
    escalation: CaseOpening | None = None


@dataclass(frozen=True, slots=True)
class FinishedTurn:
    reply: StoredMessage | None
    case_id: str | None


class TurnTransactions:
    def __init__(self, transactions: Transactions) -> None:
        self._run = transactions.run

    async def load(self, pending: PendingMessage) -> TurnState | None:
        """What answering `pending` needs: conversation state, history, facts, files. None
        when the message is answered already (an earlier attempt committed its turn)."""
        return await self._run(partial(_load, message_id=pending.id, conversation_id=pending.conversation_id))

    async def finish(self, pending: PendingMessage, result: TurnResult, *, push: bool) -> FinishedTurn | None:
        """Store a turn's outcome, mark the question answered and, for push channels, queue the
        delivery — all in one transaction. None when another worker answered it first."""
        return await self._run(partial(_finish, pending=pending, result=result, push=push))

    async def save_summary(self, conversation_id: str, *, summary: str, upto: int) -> None:
        await self._run(partial(_save_summary, conversation_id=conversation_id, summary=summary, upto=upto))

    async def save_suggestion(self, case_id: str, suggestion: str) -> None:
        """Attach a draft answer for staff to a case opened without one."""
        await self._run(partial(_save_suggestion, case_id=case_id, suggestion=suggestion))


# Prebuilt statements on the hot path (see core.inbox).
_MARK_ANSWERED = (
    update(Message)
    .where(Message.id == bindparam("message_id"), Message.status == MessageStatus.PENDING)
    .values(status=MessageStatus.ANSWERED, claimed_until=None)
)
_STATUS = select(Message.status).where(Message.id == bindparam("message_id"))
_CONVERSATION = select(
    Conversation.state, Conversation.contact_id, Conversation.summary, Conversation.summary_upto
).where(Conversation.id == bindparam("conversation_id"))
_LOCKED_CONVERSATION = (
    select(Conversation.state, Conversation.contact_id)
    .where(Conversation.id == bindparam("conversation_id"))
    .with_for_update()
)
_HISTORY = (
    select(Message.id, Message.author, Message.text, Message.intent, Message.polarity, Message.frustration,
           Message.declined)
    .where(
        Message.conversation_id == bindparam("conversation_id"),
        Message.id > bindparam("after"),
        Message.id < bindparam("before"),
    )
    .order_by(Message.id.desc())
    .limit(HISTORY_LIMIT)
)
_FACTS = (
    select(Memory.key, Memory.value, Memory.source_message_id, Memory.updated_at)
    .where(Memory.contact_id == bindparam("contact_id"))
    .order_by(Memory.updated_at, Memory.id)
)
_FILES = (
    select(AttachmentRow.id, AttachmentRow.filename, AttachmentRow.content_type, AttachmentRow.data, AttachmentRow.size,
           AttachmentRow.text, AttachmentRow.problem)
    .where(AttachmentRow.message_id == bindparam("message_id"))
    .order_by(AttachmentRow.id)
)
_CASE_ENDED = select(func.max(Case.closed_at)).where(Case.conversation_id == bindparam("conversation_id"))
_SIGNALS = (
    update(Message)
    .where(Message.id == bindparam("message_id"))
    .values(intent=bindparam("intent"), polarity=bindparam("polarity"), frustration=bindparam("frustration"))
)
_TOUCH = (
    update(Conversation)
    .where(Conversation.id == bindparam("conversation_id"))
    .values(updated_at=bindparam("now"), state=bindparam("state"))
)


def _load(session: Session, *, message_id: int, conversation_id: str) -> TurnState | None:
    connection = session.connection()
    if connection.execute(_STATUS, {"message_id": message_id}).scalar_one_or_none() != MessageStatus.PENDING:
        return None
    conversation = connection.execute(_CONVERSATION, {"conversation_id": conversation_id}).one()
    rows = connection.execute(
        _HISTORY, {"conversation_id": conversation_id, "after": conversation.summary_upto, "before": message_id}
    ).all()
    facts = connection.execute(_FACTS, {"contact_id": conversation.contact_id}).all()
    files = connection.execute(_FILES, {"message_id": message_id}).all()
    case_ended = connection.execute(_CASE_ENDED, {"conversation_id": conversation_id}).scalar_one_or_none()
    policy_from = 0
    if case_ended is not None:
        policy_from = session.execute(
            select(func.max(Message.id)).where(Message.conversation_id == conversation_id, Message.created_at <= case_ended)
        ).scalar_one_or_none() or 0
    return TurnState(
        state=conversation.state,
        contact_id=conversation.contact_id,
        messages=tuple(_past_message(row) for row in reversed(rows)),
        summary=conversation.summary,
        summary_upto=conversation.summary_upto,
        facts=tuple(Fact(FactKey(f.key), f.value, f.source_message_id, f.updated_at) for f in facts),
        unread=tuple(
            (f.id, Attachment(f.filename, f.content_type, f.data or b"", declared_size=f.size))
            for f in files
            if f.text is None and f.problem is None
        ),
        read=tuple(AttachmentText(f.filename, f.text, f.problem) for f in files if f.text is not None or f.problem is not None),
        policy_from=policy_from,
    )


def _past_message(row: Any) -> PastMessage:
    """A message row as memory sees it."""
    signals = None
    if row.intent is not None:
        signals = Signals(row.polarity or 0.0, row.frustration or 0.0, Intent(row.intent))
    return PastMessage(row.id, Author(row.author), row.text, signals, row.declined)


def _finish(session: Session, *, pending: PendingMessage, result: TurnResult, push: bool) -> FinishedTurn | None:
    """Write a turn's outcome; None when the message was already answered (by another worker)."""
    connection = session.connection()
    if connection.execute(_MARK_ANSWERED, {"message_id": pending.id}).rowcount != 1:
        return None
    if result.signals is not None:
        signals = result.signals
        connection.execute(_SIGNALS, {"message_id": pending.id, "intent": signals.intent.value,
                                      "polarity": signals.polarity, "frustration": signals.frustration})
    for row_id, read in result.attachments.items():
        session.execute(
            update(AttachmentRow).where(AttachmentRow.id == row_id).values(text=read.text, problem=read.problem, data=None)
        )
    # Locked, and checked again: a person may have taken the conversation (or another
    # process opened a case) since the turn was loaded; then the bot says nothing.
    conversation = connection.execute(_LOCKED_CONVERSATION, {"conversation_id": pending.conversation_id}).one()
    if result.facts:
        _remember(session, contact_id=conversation.contact_id, facts=result.facts, message_id=pending.id)
    with_bot = conversation.state in BOT_STATES
    stored = None
    if result.reply is not None and with_bot:
        stored = _insert_reply(session, pending=pending, reply=result.reply, declined=result.declined, push=push)
    case_id = None
    # a resolved case's customer writing again is the bot's once more
    state = ConversationState.BOT if conversation.state == ConversationState.CLOSED else conversation.state
    if result.escalation is not None and with_bot:
        case_id = open_case(session, conversation_id=pending.conversation_id, opening=result.escalation)
        state = CONVERSATION_STATE[CaseState.WAITING]
    connection.execute(_TOUCH, {"conversation_id": pending.conversation_id, "now": utcnow(), "state": state})
    return FinishedTurn(stored, case_id)


def _remember(session: Session, *, contact_id: str, facts: Sequence[Fact], message_id: int) -> None:
    """Upsert: a fact stated again becomes the newest (what recall of a single-valued key uses)."""
    now = utcnow()
    for fact in facts:
        statement = dialect_insert(session)(Memory).values(
            contact_id=contact_id,
            key=fact.key,
            value=fact.value[:500],
            source_message_id=message_id,
            created_at=now,
            updated_at=now,
        )
        session.execute(
            statement.on_conflict_do_update(
                index_elements=["contact_id", "key", "value"],
                set_={"updated_at": now, "source_message_id": message_id},
            )
        )


def _insert_reply(session: Session, *, pending: PendingMessage, reply: Reply, declined: bool, push: bool) -> StoredMessage:
    connection = session.connection()
    now = utcnow()
    address = pending.address
    reply_id = connection.execute(
        INSERT_MESSAGE,
        {
            "conversation_id": pending.conversation_id,
            "channel": address.channel,
            "external_id": None,
            "author": Author.BOT.value,
            "text": reply.text,
            "citations": [citation_json(c) for c in reply.citations],
            "handoff": reply.handoff,
            "status": None,
            "claimed_until": None,
            "reply_to": pending.id,
            "declined": declined,
            "created_at": now,
        },
    ).scalar_one()
    if push:
        queue_delivery(session, message_id=reply_id, conversation_id=pending.conversation_id, address=address, now=now)
    return StoredMessage(
        id=reply_id,
        conversation_id=pending.conversation_id,
        author=Author.BOT,
        text=reply.text,
        citations=reply.citations,
        handoff=reply.handoff,
        created_at=now,
        reply_to=pending.id,
    )


def _save_summary(session: Session, *, conversation_id: str, summary: str, upto: int) -> None:
    session.execute(
        update(Conversation)
        .where(Conversation.id == conversation_id, Conversation.summary_upto < upto)
        .values(summary=summary, summary_upto=upto)
    )


def _save_suggestion(session: Session, *, case_id: str, suggestion: str) -> None:
    session.execute(update(Case).where(Case.id == case_id).values(suggestion=suggestion))
