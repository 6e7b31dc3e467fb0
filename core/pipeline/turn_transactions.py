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

from sqlalchemy import bindparam, exists, func, select, update
from sqlalchemy.orm import Session, aliased

from core.handoff.cases import CaseOpening, open_case
from core.handoff.desk_store import mirror_to_case
from core.handoff.routing import route_case
from core.handoff.survey import SurveyAnswer, answered_by, record
from core.messages import Attachment, Author, Reply, StoredMessage, SurveyPart, citation_json
from core.store.case_tables import Case
from core.store.contacts import dialect_insert
from core.store.db import AttachmentRow, Conversation, ConversationState, Memory, Message, MessageStatus, utcnow
from core.store.inbox import INSERT_MESSAGE, PendingMessage
from core.store.outbox_queue import queue_delivery
from core.store.transactions import Transactions
from core.turn_context import AttachmentText, Fact, FactKey, Intent, PastMessage, PendingAction, Signals

HISTORY_LIMIT = 200
"""Messages read per turn at most; summaries keep a conversation's unsummarized tail shorter."""


@dataclass(frozen=True, slots=True)
class TurnState:
    state: str
    """bot | waiting | human | closed: anything but bot or closed means a person has it."""
    contact_id: str
    """Who wrote the message: whose facts the turn knows and keeps."""
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
    pending: PendingAction | None = None
    """An action waiting on this message: a parameter asked for, or a confirmation."""
    language: str | None = None
    """The conversation's language so far (None: no message was sure of one yet)."""


@dataclass(frozen=True, slots=True)
class TurnResult:
    signals: Signals | None
    reply: Reply | None
    """None: the bot stays silent (a person has the conversation)."""
    declined: bool = False
    attachments: dict[int, AttachmentText] = field(default_factory=dict)
    facts: Sequence[Fact] = ()
    escalation: CaseOpening | None = None
    rating: SurveyAnswer | None = None
    """The message answered an open satisfaction survey; `reply` thanks the customer."""
    pending: PendingAction | None = None
    """The action left waiting on the customer's next message."""
    had_pending: bool = False
    """An action was waiting on this message: it is cleared unless `pending` replaces it."""
    message_language: str | None = None
    """The language the message is surely in (`core.answering.language.message_language`)."""
    language: str | None = None
    """The conversation's language after this message: the reply was said in it."""


@dataclass(frozen=True, slots=True)
class FinishedTurn:
    reply: StoredMessage | None
    case_id: str | None
    """The case the turn opened, if it escalated."""
    to_desk: bool = False
    """The turn queued work for the staff desk: a new case's card, or the customer's message
    for the person who has the conversation."""


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

    async def survey_answered(self, pending: PendingMessage) -> int | None:
        """The open survey `pending` answers if it holds a score (`core.handoff.survey.answered_by`)."""
        return await self._run(
            partial(answered_by, conversation_id=pending.conversation_id, message_id=pending.id, now=utcnow())
        )

    async def save_summary(self, conversation_id: str, *, summary: str, upto: int) -> None:
        await self._run(partial(_save_summary, conversation_id=conversation_id, summary=summary, upto=upto))

    async def save_suggestion(self, case_id: str, suggestion: str) -> None:
        """Attach a draft answer for staff to a case opened without one."""
        await self._run(partial(_save_suggestion, case_id=case_id, suggestion=suggestion))

    async def save_case_summary(self, case_id: str, summary: str) -> None:
        """Attach the model's summary of the case for staff."""
        await self._run(partial(_save_case_summary, case_id=case_id, summary=summary))


# Prebuilt statements on the hot path (see core.store.inbox). A turn reads in one to three
# statements (the message with its conversation; the history, the facts and the files only
# when there are some) and writes in three (the conversation touched and locked, the message answered with
# its signals, the reply): each statement is a round trip on PostgreSQL and a slice of the
# event loop's CPU through the async driver.
_MARK_ANSWERED = (
    update(Message)
    .where(Message.id == bindparam("message_id"), Message.status == MessageStatus.PENDING)
    .values(status=MessageStatus.ANSWERED, claimed_until=None)
)
_MARK_ANSWERED_WITH_SIGNALS = _MARK_ANSWERED.values(
    intent=bindparam("intent"),
    polarity=bindparam("polarity"),
    frustration=bindparam("frustration"),
    language=bindparam("language"),
)
_CASE_ENDED = (
    select(func.max(Case.closed_at))
    .where(Case.conversation_id == Conversation.id)
    .correlate(Conversation)
    .scalar_subquery()
)
_HAS_FILES = exists().where(AttachmentRow.message_id == Message.id).correlate(Message)
_WRITER = func.coalesce(Message.contact_id, Conversation.contact_id)
"""Who wrote a customer message: its own contact (older rows have none: the conversation's)."""
_EARLIER = aliased(Message)
_HAS_HISTORY = (
    exists()
    .where(
        _EARLIER.conversation_id == Message.conversation_id,
        _EARLIER.id > Conversation.summary_upto,
        _EARLIER.id < Message.id,
    )
    .correlate(Message, Conversation)
)
_HAS_FACTS = exists().where(Memory.contact_id == _WRITER).correlate(Message, Conversation)
_TURN_HEAD = (
    select(
        Message.status,
        Conversation.state,
        _WRITER.label("contact_id"),
        Conversation.summary,
        Conversation.summary_upto,
        Conversation.pending_action,
        Conversation.language,
        _CASE_ENDED.label("case_ended"),
        _HAS_FILES.label("has_files"),
        _HAS_HISTORY.label("has_history"),
        _HAS_FACTS.label("has_facts"),
    )
    .join(Conversation, Conversation.id == Message.conversation_id)
    .where(Message.id == bindparam("message_id"))
)
"""The message's status, writer and conversation, with when its last case closed and whether
there is anything to read besides (files, earlier messages, facts about the writer): one round
trip where there were four, and a conversation's first message by a contact nothing is known
about reads nothing more."""
_WRITER_OF = (
    select(_WRITER)
    .join(Conversation, Conversation.id == Message.conversation_id)
    .where(Message.id == bindparam("message_id"))
)
_HISTORY = (
    select(
        Message.id,
        Message.author,
        Message.text,
        Message.intent,
        Message.polarity,
        Message.frustration,
        Message.declined,
    )
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
    select(
        AttachmentRow.id,
        AttachmentRow.filename,
        AttachmentRow.content_type,
        AttachmentRow.data,
        AttachmentRow.size,
        AttachmentRow.text,
        AttachmentRow.problem,
    )
    .where(AttachmentRow.message_id == bindparam("message_id"))
    .order_by(AttachmentRow.id)
)
_POLICY_FROM = select(func.max(Message.id)).where(
    Message.conversation_id == bindparam("conversation_id"), Message.created_at <= bindparam("case_ended")
)
_TOUCH = (
    update(Conversation)
    .where(Conversation.id == bindparam("conversation_id"))
    .values(updated_at=bindparam("now"), language=func.coalesce(bindparam("language"), Conversation.language))
    .returning(Conversation.state)
)
"""Touch the conversation, which locks its row until the turn commits, and read its state
as of now: a person may have taken it (or another process opened a case) since the turn was
loaded, and then the bot says nothing."""


def _load(session: Session, *, message_id: int, conversation_id: str) -> TurnState | None:
    connection = session.connection()
    head = connection.execute(_TURN_HEAD, {"message_id": message_id}).one_or_none()
    if head is None or head.status != MessageStatus.PENDING:
        return None
    rows = (
        connection.execute(
            _HISTORY, {"conversation_id": conversation_id, "after": head.summary_upto, "before": message_id}
        ).all()
        if head.has_history
        else []
    )
    facts = connection.execute(_FACTS, {"contact_id": head.contact_id}).all() if head.has_facts else []
    files = connection.execute(_FILES, {"message_id": message_id}).all() if head.has_files else []
    policy_from = 0
    if head.case_ended is not None:
        policy_from = (
            connection.execute(
                _POLICY_FROM, {"conversation_id": conversation_id, "case_ended": head.case_ended}
            ).scalar_one_or_none()
            or 0
        )
    return TurnState(
        state=head.state,
        contact_id=head.contact_id,
        messages=tuple(_past_message(row) for row in reversed(rows)),
        summary=head.summary,
        summary_upto=head.summary_upto,
        facts=tuple(Fact(FactKey(f.key), f.value, f.source_message_id, f.updated_at) for f in facts),
        unread=tuple(
            (f.id, Attachment(f.filename, f.content_type, f.data or b"", declared_size=f.size))
            for f in files
            if f.text is None and f.problem is None
        ),
        read=tuple(
            AttachmentText(f.filename, f.text, f.problem) for f in files if f.text is not None or f.problem is not None
        ),
        policy_from=policy_from,
        pending=PendingAction.from_json(head.pending_action),
        language=head.language,
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
    # The conversation first, then its message: storing a message (a redelivery of this one,
    # in another process) locks them in that order, and the opposite order deadlocked.
    conversation = connection.execute(
        _TOUCH, {"conversation_id": pending.conversation_id, "now": utcnow(), "language": result.language}
    ).one()
    mark, values = _MARK_ANSWERED, dict[str, Any](message_id=pending.id)
    if (signals := result.signals) is not None:
        mark = _MARK_ANSWERED_WITH_SIGNALS
        values |= {
            "intent": signals.intent.value,
            "polarity": signals.polarity,
            "frustration": signals.frustration,
            "language": result.message_language,
        }
    if connection.execute(mark, values).rowcount != 1:
        return None
    for row_id, read in result.attachments.items():
        session.execute(
            update(AttachmentRow)
            .where(AttachmentRow.id == row_id)
            .values(text=read.text, problem=read.problem, data=None)
        )
    if result.facts:
        writer = connection.execute(_WRITER_OF, {"message_id": pending.id}).scalar_one()
        _remember(session, contact_id=writer, facts=result.facts, message_id=pending.id)
    with_bot = conversation.state == ConversationState.BOT
    if result.pending is not None or result.had_pending:
        _keep_pending(session, pending.conversation_id, result, with_bot=with_bot)
    if (rating := result.rating) is not None and with_bot:  # unless a button answered it meanwhile
        record(session, survey_id=rating.survey_id, score=rating.score, comment=None, now=utcnow())
    stored = None
    if result.reply is not None and with_bot:
        survey = SurveyPart.THANKS if rating is not None else None
        stored = _insert_reply(
            session,
            pending=pending,
            reply=result.reply,
            declined=result.declined,
            push=push,
            survey=survey,
            language=result.language,
        )
    case_id = None
    if result.escalation is not None and with_bot:
        case_id = open_case(
            session, conversation_id=pending.conversation_id, message_id=pending.id, opening=result.escalation
        )
        route_case(session, case_id=case_id, now=utcnow())
    to_desk = case_id is not None
    if not with_bot:
        to_desk = mirror_to_case(session, conversation_id=pending.conversation_id, message_id=pending.id)
    return FinishedTurn(stored, case_id, to_desk)


def _keep_pending(session: Session, conversation_id: str, result: TurnResult, *, with_bot: bool) -> None:
    """Leave the action this turn asked about waiting on the customer's next message, or clear
    the one there was. Only a question the customer is sent waits: not when a person took the
    conversation meanwhile, nor when the turn handed it over."""
    waiting = result.pending if with_bot and result.escalation is None else None
    session.execute(
        update(Conversation)
        .where(Conversation.id == conversation_id)
        .values(pending_action=waiting.to_json() if waiting is not None else None)
    )


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


def _insert_reply(
    session: Session,
    *,
    pending: PendingMessage,
    reply: Reply,
    declined: bool,
    push: bool,
    survey: SurveyPart | None,
    language: str | None,
) -> StoredMessage:
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
            "survey": survey,
            "language": language,
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
        survey=survey,
        language=language,
    )


def _save_summary(session: Session, *, conversation_id: str, summary: str, upto: int) -> None:
    session.execute(
        update(Conversation)
        .where(Conversation.id == conversation_id, Conversation.summary_upto < upto)
        .values(summary=summary, summary_upto=upto)
    )


def _save_suggestion(session: Session, *, case_id: str, suggestion: str) -> None:
    session.execute(update(Case).where(Case.id == case_id).values(suggestion=suggestion))


def _save_case_summary(session: Session, *, case_id: str, summary: str) -> None:
    session.execute(update(Case).where(Case.id == case_id).values(summary=summary))
