"""Database schema (SQLAlchemy 2) and engine set-up. The Alembic migrations mirror these tables,
handoff's own (`core.store.case_tables`, on this `Base`) and knowledge's own (`knowledge.tables`)."""

from __future__ import annotations

import logging
import os
import uuid
from datetime import datetime
from enum import StrEnum
from functools import cache
from pathlib import Path
from typing import Any, ClassVar
from weakref import WeakKeyDictionary

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import (
    JSON,
    Boolean,
    Enum,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    event,
    false,
    text,
)
from sqlalchemy.engine import Connection, Engine, ExceptionContext, make_url
from sqlalchemy.exc import DisconnectionError, OperationalError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from core.settings import PostgresSettings
from core.store.roles import StaffRole as StaffRole  # the schema's column type; its modules take it from here
from knowledge.sql_types import UTCDateTime
from knowledge.sql_types import utcnow as utcnow  # the app's modules take it from here

log = logging.getLogger(__name__)


def new_id() -> str:
    return uuid.uuid4().hex


class ConversationState(StrEnum):
    """Who has the conversation: the bot, or a person through its open case. It is the open
    case's state as the hub reads it, written only by `core.handoff.cases` in the transaction that
    changes the case; a case that ends (returned or resolved) gives the conversation back to
    the bot."""

    BOT = "bot"
    WAITING = "waiting"
    HUMAN = "human"


class MessageStatus(StrEnum):
    """Where a customer message is in its turn (bot and staff messages have none)."""

    PENDING = "pending"
    ANSWERED = "answered"


class DeliveryStatus(StrEnum):
    PENDING = "pending"
    SENT = "sent"
    DEAD = "dead"
    """Given up after `outbox.max_attempts`."""
    DROPPED = "dropped"
    """Staff-desk work no longer wanted: its case closed before it was posted; or a reply its
    channel would no longer send (a survey question past WhatsApp's 24 hours)."""
    HELD = "held"
    """A reply the platform takes only after the customer writes again (WhatsApp's 24-hour
    rule): kept, staff told, and pending again as soon as the customer writes."""


class DeliveryKind(StrEnum):
    """What an outbox row delivers. A reply goes to the customer on their channel; the others
    are the staff desk's work for a case, delivered in their own lane (see `DESK`)."""

    REPLY = "reply"
    CARD = "card"
    """A new case's card in the staff channel."""
    LINE = "line"
    """A customer message copied into its case's thread."""
    REMINDER = "reminder"
    """A case nobody answered within the SLA, reminded in its thread."""
    HELD = "held"
    """A reply to the customer held by the platform's rule (`DeliveryStatus.HELD`), told in
    its case's thread."""


DESK = "desk"
"""The `channel` of the staff desk's rows, whose `chat_id` is their case: a conversation's
desk work is delivered in order, apart from its replies, so neither holds up the other."""


def state_type(states: type[StrEnum]) -> Enum:
    """A state column: the enum's values as VARCHAR(16), exactly the strings the column held
    when it was a plain string, with no CHECK constraint or native enum type, so adding a state
    needs no migration; a string that is not one of the values is refused on the way in."""
    return Enum(
        states,
        native_enum=False,
        create_constraint=False,
        length=16,
        values_callable=lambda members: [member.value for member in members],
        validate_strings=True,
    )


class Base(DeclarativeBase):
    type_annotation_map: ClassVar[dict[Any, Any]] = {datetime: UTCDateTime(), dict[str, Any]: JSON, list[Any]: JSON}


class Contact(Base):
    __tablename__ = "contacts"
    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    display_name: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Identity(Base):
    """A channel user (web session, API contact, Slack user…) linked to a contact."""

    __tablename__ = "identities"
    __table_args__ = (UniqueConstraint("channel", "external_user_id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    channel: Mapped[str] = mapped_column(String(40))
    external_user_id: Mapped[str] = mapped_column(String(255))
    contact_id: Mapped[str] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"), index=True)


class Conversation(Base):
    __tablename__ = "conversations"
    __table_args__ = (
        UniqueConstraint("channel", "chat_id", "thread_id"),
        Index("ix_conversations_updated_at", "updated_at"),
        Index("ix_conversations_language", "language", "updated_at"),  # the dashboard's language filter
    )
    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    contact_id: Mapped[str] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"), index=True)
    channel: Mapped[str] = mapped_column(String(40))
    chat_id: Mapped[str] = mapped_column(String(255))
    thread_id: Mapped[str] = mapped_column(String(255), default="")
    state: Mapped[ConversationState] = mapped_column(state_type(ConversationState), default=ConversationState.BOT)
    summary: Mapped[str | None] = mapped_column(Text)
    """A rolling summary of the messages up to `summary_upto` (memory of long conversations)."""
    summary_upto: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    """The last message in either direction; retention expires conversations by it."""
    pending_action: Mapped[str | None] = mapped_column(Text)
    """An action waiting on the customer's next message (`core.turn_context.PendingAction`, JSON)."""
    language: Mapped[str | None] = mapped_column(String(8))
    """The customer's language (ISO 639-1), once a message was sure of it (`core.answering.language`)."""
    unreachable_reason: Mapped[str | None] = mapped_column(Text)
    """Set when the platform said the customer cannot be written to any more (a Telegram
    user who blocked the bot): replies are dead-lettered unsent until the customer writes again."""


class Message(Base):
    """Both directions of a conversation; `id` order is conversation order.

    Inbound messages carry a processing `status` (pending → answered); a lease
    (`claimed_until`) lets another process take over work a crashed process held.
    """

    __tablename__ = "messages"
    __table_args__ = (
        UniqueConstraint("channel", "external_id", name="uq_messages_channel_external_id"),
        Index("ix_messages_pending", "status", "conversation_id"),
        Index("ix_messages_conversation", "conversation_id", "id"),
        Index("ix_messages_author_created", "author", "created_at", "channel"),  # the dashboard's periods
        # one author's messages in a conversation since a time (`core.handoff.desk_store.past_sla`):
        # without it SQLite answers that from the index above, through every staff message since
        Index("ix_messages_conversation_author", "conversation_id", "author", "created_at"),
        Index("ix_messages_reply_to", "reply_to", "author", "created_at"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    conversation_id: Mapped[str] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"))
    contact_id: Mapped[str | None] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"), index=True)
    """The customer who wrote it (customer messages): in a conversation several people write
    in (a Slack thread, a Telegram group), each one's own contact; its memory is theirs."""
    channel: Mapped[str] = mapped_column(String(40))
    external_id: Mapped[str | None] = mapped_column(String(255))
    author: Mapped[str] = mapped_column(String(16))  # customer | bot | staff
    text: Mapped[str] = mapped_column(Text)
    citations: Mapped[list[Any]] = mapped_column(default=list)
    handoff: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[str | None] = mapped_column(String(16))  # a MessageStatus, for customer messages
    claimed_until: Mapped[datetime | None] = mapped_column()
    reply_to: Mapped[int | None] = mapped_column(ForeignKey("messages.id", ondelete="SET NULL"))
    intent: Mapped[str | None] = mapped_column(String(20))  # customer messages, once analysed
    polarity: Mapped[float | None] = mapped_column(Float)
    frustration: Mapped[float | None] = mapped_column(Float)
    declined: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())  # bot: KB had no answer
    sender: Mapped[str | None] = mapped_column(String(255))
    """Staff messages: the name of the person who wrote it (None before staff accounts)."""
    survey: Mapped[str | None] = mapped_column(String(8))  # a core.messages.SurveyPart (bot messages)
    language: Mapped[str | None] = mapped_column(String(8))
    """Customer messages: the language the message is surely in; the hub's: the one it spoke."""
    translation: Mapped[str | None] = mapped_column(Text)
    """Customer messages in another language than staff's: the text translated for staff (LLM)."""
    original: Mapped[str | None] = mapped_column(Text)
    """Staff messages sent translated: the text as staff wrote it (`text` is what was sent)."""
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class AttachmentRow(Base):
    __tablename__ = "attachments"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("messages.id", ondelete="CASCADE"), index=True)
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(120))
    size: Mapped[int] = mapped_column(Integer)
    data: Mapped[bytes | None] = mapped_column(LargeBinary)
    """The file as received, kept until its text is extracted (a restart loses nothing)."""
    text: Mapped[str | None] = mapped_column(Text)
    problem: Mapped[str | None] = mapped_column(Text)
    """Why the file could not be read, as the customer was told."""


class Memory(Base):
    """A fact about a contact (name, email, plan, order number…), with the message it came from."""

    __tablename__ = "memories"
    __table_args__ = (UniqueConstraint("contact_id", "key", "value"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    contact_id: Mapped[str] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"), index=True)
    key: Mapped[str] = mapped_column(String(40))
    value: Mapped[str] = mapped_column(String(500))
    source_message_id: Mapped[int | None] = mapped_column(ForeignKey("messages.id", ondelete="SET NULL"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class Feedback(Base):
    """A customer's thumbs up or down on one bot reply; a second vote replaces the first."""

    __tablename__ = "feedback"
    __table_args__ = (Index("ix_feedback_created_at", "created_at"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("messages.id", ondelete="CASCADE"), unique=True)
    rating: Mapped[str] = mapped_column(String(4))  # up | down
    comment: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class OutboxItem(Base):
    """A delivery, persisted before any send: a reply for a push channel, or the staff desk's
    work for a case (`kind`)."""

    __tablename__ = "outbox"
    __table_args__ = (
        Index("ix_outbox_due", "status", "next_attempt_at"),
        Index("ix_outbox_external", "channel", "external_id"),
        Index("ix_outbox_sent", "channel", "sent_at"),  # the last delivery per channel
        UniqueConstraint("message_id", "kind", name="uq_outbox_message_kind"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("messages.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16), default=DeliveryKind.REPLY, server_default=DeliveryKind.REPLY.value)
    conversation_id: Mapped[str] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"), index=True)
    channel: Mapped[str] = mapped_column(String(40))
    chat_id: Mapped[str] = mapped_column(String(255))
    thread_id: Mapped[str] = mapped_column(String(255), default="")
    status: Mapped[str] = mapped_column(String(16), default=DeliveryStatus.PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    claimed_until: Mapped[datetime | None] = mapped_column()
    claims: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    """How often the row was claimed: after the first, the staff desk looks for its post on
    the desk before posting (an attempt may have posted and died before recording it)."""
    last_error: Mapped[str | None] = mapped_column(Text)
    external_id: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column()
    platform_status: Mapped[str | None] = mapped_column(String(20))
    """What the platform reported after accepting it (Twilio: sent, delivered, failed…)."""
    platform_status_rank: Mapped[int | None] = mapped_column(Integer)
    """The status's place in the platform's order: a report arriving late never moves it back."""


class DeliveredPart(Base):
    """One delivered part of a reply a channel had to split (Telegram's 4,096 characters): a
    retry of the reply sends only the parts not recorded here."""

    __tablename__ = "delivered_parts"
    message_id: Mapped[int] = mapped_column(ForeignKey("messages.id", ondelete="CASCADE"), primary_key=True)
    part: Mapped[int] = mapped_column(Integer, primary_key=True)
    external_id: Mapped[str] = mapped_column(String(255))
    sent_at: Mapped[datetime] = mapped_column(default=utcnow)


class OptOut(Base):
    """A customer who said STOP on a channel (an SMS number): nothing is sent to them until they
    opt in again."""

    __tablename__ = "opt_outs"
    channel: Mapped[str] = mapped_column(String(40), primary_key=True)
    chat_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    opted_out_at: Mapped[datetime] = mapped_column(default=utcnow)


class ChannelValue(Base):
    """A channel's own key-value store (`core.store.channel_values`): where its intake stands on its
    platform (Telegram's getUpdates offset, an IMAP folder's last UID), so a restart resumes
    there, and what it must find again later (an email thread's subject)."""

    __tablename__ = "channel_values"
    channel: Mapped[str] = mapped_column(String(40), primary_key=True)
    key: Mapped[str] = mapped_column(String(100), primary_key=True)
    value: Mapped[str] = mapped_column(String(255))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class AnswerCalibration(Base):
    """What `supporthub eval --calibrate` learned from the operator's labelled questions about a
    knowledge collection: the bar the offline answer-or-hand-over decision uses
    (`core.answering.calibration`), and the figures it reached on those lines."""

    __tablename__ = "answer_calibrations"
    collection: Mapped[str] = mapped_column(String(255), primary_key=True)
    bar: Mapped[float] = mapped_column(Float)
    answerable: Mapped[int] = mapped_column(Integer)
    out_of_scope: Mapped[int] = mapped_column(Integer)
    answered: Mapped[float] = mapped_column(Float)
    right_first: Mapped[float] = mapped_column(Float)
    declined_out: Mapped[float | None] = mapped_column(Float)
    source: Mapped[str] = mapped_column(String(1000))
    fitted_at: Mapped[datetime] = mapped_column(default=utcnow)


class StaffMember(Base):
    """A person who signs in to /admin (`core.store.staff`). Invited by a one-time link
    (`supporthub staff invite`): `password_hash` is None until they set one through it. A
    removed person keeps their row (their name stays on what they did) and loses every session."""

    __tablename__ = "staff"
    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    name: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16))  # a StaffRole
    password_hash: Mapped[str | None] = mapped_column(String(255))
    """argon2id, as argon2-cffi writes it (parameters and salt included)."""
    invite_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    """SHA-256 of the invitation link's token; None once used (or never invited)."""
    invite_expires_at: Mapped[datetime | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    removed_at: Mapped[datetime | None] = mapped_column()


class StaffSession(Base):
    """A signed-in browser: the cookie holds a random token, the row its SHA-256, so a stolen
    database holds no usable session; deleting the row signs the browser out at once."""

    __tablename__ = "staff_sessions"
    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    staff_id: Mapped[str] = mapped_column(ForeignKey("staff.id", ondelete="CASCADE"), index=True)
    csrf: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column()


class StaffAction(Base):
    """What a person did in /admin or on a staff desk, under their name: the audit trail."""

    __tablename__ = "staff_actions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    actor: Mapped[str] = mapped_column(String(255))
    """The person's name (their email when they gave none); the admin token's holder is "admin token"."""
    staff_id: Mapped[str | None] = mapped_column(ForeignKey("staff.id", ondelete="SET NULL"), index=True)
    action: Mapped[str] = mapped_column(String(40))
    target: Mapped[str] = mapped_column(String(255))
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


class SuggestionOrigin(StrEnum):
    CASE = "case"
    """A person answered a customer and resolved the case."""
    THUMBS_DOWN = "thumbs down"
    """A customer voted a bot answer down: the answer is for the reviewer to write."""
    GAP = "knowledge gap"
    """Written from a group of questions on the Knowledge gaps page."""


class SuggestionState(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    """Live: indexed as a support team answer (`source`, `section`)."""
    LINKED = "linked"
    """Live: its question is linked to an article's section (`source`, `section`) as a phrasing."""
    HAND_OVER = "hand over"
    """Live: its question is linked to the questions a person answers
    (`core.answering.answer_decision.HAND_OVER_SOURCE`): the bot hands questions like it over."""
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"
    """Was approved, linked or kept for a person, and taken out of the index."""


class ActionCall(Base):
    """One call of an action, for the audit trail in /admin (`core.store.action_calls`): who, which
    action, its arguments with personal data masked, how it ended, how long it took. Never a
    header, never the verified identity's value."""

    __tablename__ = "action_calls"
    __table_args__ = (Index("ix_action_calls_at", "at"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    action: Mapped[str] = mapped_column(String(64))
    contact_id: Mapped[str | None] = mapped_column(ForeignKey("contacts.id", ondelete="SET NULL"), index=True)
    conversation_id: Mapped[str | None] = mapped_column(ForeignKey("conversations.id", ondelete="SET NULL"))
    arguments: Mapped[dict[str, Any]] = mapped_column(default=dict)
    """Masked: what the model or the customer gave, personal data shown as `12•••89`."""
    identity: Mapped[list[Any]] = mapped_column(default=list)
    """The verified identity fields passed (`email`, `phone`), never their values."""
    outcome: Mapped[str] = mapped_column(String(24))
    """ok, unverified, invalid, refused, timeout, connection, too_large, http_<status>, redirect, declined."""
    http_status: Mapped[int | None] = mapped_column(Integer)
    duration_ms: Mapped[int] = mapped_column(Integer, default=0)
    detail: Mapped[str] = mapped_column(Text, default="")


class Suggestion(Base):
    """A question and the answer the support team gave it, for a person to review before the
    bot uses it (`core.store.suggestions`). Nothing here is live until it is approved or
    linked; then it is knowledge (`knowledge.ingest.written`)."""

    __tablename__ = "suggestions"
    __table_args__ = (Index("ix_suggestions_state", "state", "created_at"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    origin: Mapped[str] = mapped_column(String(16))  # a SuggestionOrigin
    state: Mapped[SuggestionState] = mapped_column(state_type(SuggestionState))
    question: Mapped[str] = mapped_column(Text)
    answer: Mapped[str] = mapped_column(Text)
    """Markdown; empty until someone writes it (a thumbs down)."""
    phrasings: Mapped[list[Any]] = mapped_column(default=list)
    """Other wordings of the question (a knowledge gap's), linked with it when it goes live."""
    bot_reply: Mapped[str | None] = mapped_column(Text)
    """What the bot had answered: the reply voted down, or its answer before the case opened."""
    conversation_id: Mapped[str | None] = mapped_column(ForeignKey("conversations.id", ondelete="SET NULL"), index=True)
    case_id: Mapped[str | None] = mapped_column(ForeignKey("cases.id", ondelete="SET NULL"), unique=True)
    message_id: Mapped[int | None] = mapped_column(ForeignKey("messages.id", ondelete="SET NULL"), unique=True)
    """The bot reply voted down (thumbs down)."""
    answered_by: Mapped[str | None] = mapped_column(String(255))
    """Who wrote the answer: the person who answered the case, or the reviewer."""
    source: Mapped[str | None] = mapped_column(String(1000))
    section: Mapped[str | None] = mapped_column(String(500))
    reviewed_by: Mapped[str | None] = mapped_column(String(255))
    reviewed_at: Mapped[datetime | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class HealthProbe(Base):
    """One row the readiness probe rewrites: a database that answers reads but cannot write
    (locked, disk full, read-only) is not ready."""

    __tablename__ = "health_probes"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    written_at: Mapped[datetime] = mapped_column(default=utcnow)


SQLITE_LOWER = "unicode_lower"
"""SQLite's own lower() folds only ASCII ("DÍAZ" stays "dÍaz"): this one is Python's, which
folds as PostgreSQL's lower() does (`core.store.text_match`)."""


def sqlite_pragmas(engine: Engine) -> None:
    """WAL (readers never wait for the writer), a relaxed fsync that WAL makes safe against
    corruption, foreign keys, and `SQLITE_LOWER` — on every new SQLite connection of `engine`."""

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()
        dbapi_connection.create_function(SQLITE_LOWER, 1, _lower, deterministic=True)


def _lower(text: str | None) -> str | None:
    return text.lower() if isinstance(text, str) else text


SQLITE_BUSY_TIMEOUT_S = 5.0
"""How long a write waits for another process's lock (a CLI re-index, `forget`) before the
request is answered 503 "try again"; every transaction of a process queues on its one SQLite
thread, so a longer wait stalls reads too."""


POSTGRES_POOL_SIZE = 20
"""Connections a process keeps to PostgreSQL, and never more: a busier moment queues for one.
Connections opened past the pool for a burst and closed after it ("overflow") cost a
PostgreSQL backend each and re-prepare every statement: under 50 clients a pool of 10 with
10 more on overflow opened ~1,000 connections in two rounds and answered 35/s; 20 and none
on overflow opened 23 and answered 42/s (bench_traffic's setting)."""
_POSTGRES_SETTINGS: WeakKeyDictionary[Engine, PostgresSettings] = WeakKeyDictionary()
"""Each PostgreSQL engine's settings, for the migrations' own engine (`prepare_database`)."""


def make_engine(url: str, postgres: PostgresSettings | None = None, *, bounded: bool = True) -> AsyncEngine:
    """An async engine; SQLite gets WAL and a busy timeout so a CLI and a server can share it.

    `hide_parameters`: a failing statement's error (and so the ERROR line that logs it) never
    shows its bound values — a customer's message, a file's bytes — only the SQL; on
    PostgreSQL, nor does the row a constraint refused (`_drop_row_values`).

    On PostgreSQL every wait is bounded (`postgres`, the `[postgres]` settings): for a pooled
    connection, for a new one to open (asyncpg's own default is 60 s, all of it spent on a
    server that accepts and never answers; measured here: 4 ms a connection, 47 ms at most for
    20 opened at once), and for each statement's answer (`_discard_timed_out`). `bounded=False`
    leaves statements unbounded: the migrations' own engine, whose statements may rightly take
    minutes."""
    if url.startswith("sqlite"):
        _private_sqlite_file(make_url(url).database)
        # One async connection per process (the store has its own, see core.store.transactions):
        # SQLite has one writer at a time anyway, and queueing in the pool is cheap where
        # lock contention between connections means sleeping.
        engine = create_async_engine(
            url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_S}, pool_size=1, max_overflow=0, hide_parameters=True
        )
        sqlite_pragmas(engine.sync_engine)
        return engine
    settings = postgres or PostgresSettings()
    engine = create_async_engine(
        url,
        pool_size=POSTGRES_POOL_SIZE,
        max_overflow=0,
        pool_timeout=settings.pool_timeout_s,
        hide_parameters=True,
        connect_args={
            "timeout": settings.connect_timeout_s,
            "command_timeout": settings.statement_timeout_s if bounded else None,
        },
    )
    _POSTGRES_SETTINGS[engine.sync_engine] = settings
    _track_backends(engine)
    _skip_closed_connections(engine)
    _drop_row_values(engine)
    _discard_timed_out(engine, settings.statement_timeout_s)
    return engine


def _drop_row_values(engine: AsyncEngine) -> None:
    """`hide_parameters` hides a failing statement's values, but PostgreSQL's DETAIL repeats
    those a constraint refused ("Key (v)=(…) already exists", "Failing row contains (…)") and
    asyncpg prints it with its error, so a logged traceback would show what a customer wrote.
    Dropped from every error the engine raises, as it is raised: the store's transactions, the
    dashboard, the scheduler and the re-index alike, whoever logs it and however. The message
    and the SQL still say what failed."""

    @event.listens_for(engine.sync_engine, "handle_error")
    def _dropped(context: ExceptionContext) -> None:
        cause: BaseException | None = context.original_exception
        while cause is not None:
            if getattr(cause, "detail", None):
                cause.detail = None  # type: ignore[attr-defined]
            cause = cause.__cause__


def _skip_closed_connections(engine: AsyncEngine) -> None:
    """Hand out no pooled connection the server has closed (a restart, a terminated backend):
    the driver has seen its socket close, so asking costs no round trip — SQLAlchemy's
    `pool_pre_ping` costs three on asyncpg (BEGIN, a ping, ROLLBACK; 1.5 ms of a message's four
    transactions). A connection that dies after this check fails its first statement, and the
    store's transactions then run once more (`core.store.transactions.AsyncDriverTransactions`)."""

    @event.listens_for(engine.sync_engine, "checkout")
    def _closed(dbapi_connection: Any, record: Any, proxy: Any) -> None:
        if dbapi_connection.driver_connection.is_closed():
            raise DisconnectionError("the server closed this pooled connection")  # the pool opens another


def _discard_timed_out(engine: AsyncEngine, timeout_s: float) -> None:
    """A statement unanswered for `timeout_s` (asyncpg's `command_timeout`: a stalled server, a
    network that swallows what is sent, a lock held too long) loses its connection: thrown away,
    never back in the pool, so no stall leaves the pool full of connections waiting forever. Its
    error becomes an `OperationalError` whose connection was invalidated: the store's
    transactions run once more on another connection, then answer `StorageUnavailable` (503
    "try again"), never a 500. Before the COMMIT nothing was written, so running it again is
    safe; a timed-out COMMIT may have been applied, and is not run again (`core.store.transactions`).

    Only that connection goes (the pool's others may be fine), and asyncpg first asks the server
    to cancel the statement, waiting up to 2 s (SQLAlchemy's graceful close), so a slow query
    does not run on without anyone waiting for it. Bounded on the client, as PgBouncer allows:
    a server-side `statement_timeout` would be a startup parameter, which PgBouncer refuses, and
    would not see a request the network lost. TCP keep-alives are not needed for this: every
    statement is bounded, and an idle connection whose server vanished fails its next one. Nor
    is `pool_pre_ping`: in a stall its ping waits out the same timeout, and it costs three round
    trips on every checkout (`_skip_closed_connections`) — measured here, a `SELECT 1`
    transaction took 0.58-0.68 ms without it and 0.96-1.24 ms with it (medians of 3,000, three
    rounds each, on a busy machine)."""

    @event.listens_for(engine.sync_engine, "handle_error")
    def _timed_out(context: ExceptionContext) -> BaseException | None:
        if context.connection is None or not isinstance(context.original_exception, TimeoutError):
            return None
        context.is_disconnect = True
        context.invalidate_pool_on_disconnect = False
        return OperationalError(
            context.statement,
            None,
            TimeoutError(f"the database did not answer within {timeout_s:g} s"),
            hide_parameters=True,
            connection_invalidated=True,
        )


def _private_sqlite_file(database: str | None) -> None:
    """Create the SQLite file readable by its owner only (0600) before SQLite creates it with
    the umask's mode (its -wal and -shm files take the database file's mode); warn about an
    existing one that others can read. An empty file is an empty database to SQLite."""
    if not database or database == ":memory:" or database.startswith("file:"):
        return
    path = Path(database)
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except FileExistsError:
        if path.stat().st_mode & 0o077:
            log.warning("%s is readable by other users; chmod 600 it", path)
    except FileNotFoundError:
        pass  # no such folder: SQLite's own error names it when the engine connects


def libpq_url(url: str) -> str | None:
    """The URL asyncpg connects with directly (for the dedicated connections that listen and
    hold the leader's lock); None for SQLite."""
    parsed = make_url(url)
    if not parsed.drivername.startswith("postgresql"):
        return None
    return parsed.set(drivername="postgresql").render_as_string(hide_password=False)


_BACKENDS: WeakKeyDictionary[Engine, set[int]] = WeakKeyDictionary()


def own_backends(engine: AsyncEngine) -> set[int]:
    """The PostgreSQL backend process ids of `engine`'s pooled connections, kept up to date
    from the engine's creation on: a notification sent from one of them came from this process."""
    return _BACKENDS.setdefault(engine.sync_engine, set())


def _track_backends(engine: AsyncEngine) -> None:
    pids = own_backends(engine)

    @event.listens_for(engine.sync_engine, "connect")
    def _opened(dbapi_connection: Any, record: Any) -> None:
        record.info["backend_pid"] = dbapi_connection.driver_connection.get_server_pid()
        pids.add(record.info["backend_pid"])

    def _closed(dbapi_connection: Any, record: Any, *_: Any) -> None:
        pids.discard(record.info.get("backend_pid", -1))  # PostgreSQL reuses process ids

    event.listen(engine.sync_engine, "close", _closed)
    event.listen(engine.sync_engine, "invalidate", _closed)


def make_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)


MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def _alembic_config(connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["connection"] = connection
    return config


def _upgrade(connection: Connection) -> None:
    command.upgrade(_alembic_config(connection), "head")


MIGRATION_LOCK = 0x5375_7070_6F72_7401
"""PostgreSQL advisory lock key under which migrations run ("Support" + 1 as bytes)."""


@cache
def head_revision() -> str | None:
    """The newest migration's revision, read from the scripts once per process."""
    return ScriptDirectory.from_config(_alembic_config()).get_current_head()


def _at_head(connection: Connection) -> bool:
    return MigrationContext.configure(connection).get_current_revision() == head_revision()


async def prepare_database(engine: AsyncEngine) -> None:
    """Bring the schema to the newest migration (creates every table on a new database).

    A database already at the newest revision is left as it is, after one read of its
    revision: Alembic's upgrade is not started at all (every process start, and every test's
    copy of the migrated template database, opens one).

    On PostgreSQL the upgrade holds a transaction-level advisory lock: processes starting
    together queue on it, the first migrates, and the others find the schema at head (DDL is
    transactional there, so the lock is released exactly when the migrated schema is visible).
    It runs on an engine of its own without the statement timeout: a migration may take minutes
    (an index built over a long history), and so may waiting for another process's."""
    async with engine.connect() as connection:
        if await connection.run_sync(_at_head):
            return
    settings = _POSTGRES_SETTINGS.get(engine.sync_engine)
    if settings is None:
        await _migrate(engine)
        return
    unbounded = make_engine(engine.url.render_as_string(hide_password=False), settings, bounded=False)
    try:
        await _migrate(unbounded)
    finally:
        await unbounded.dispose()


async def _migrate(engine: AsyncEngine) -> None:
    async with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            await connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})
        await connection.run_sync(_upgrade)
