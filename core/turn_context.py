"""What the agent sees of one turn, and what it gives back.

The hub assembles a `TurnContext` from the store (recent turns within the token budget, the
rolling summary, the contact's remembered facts, the text of the message's attachments); a
responder turns it into an `AgentOutcome` (streaming responders report progress through
`core.streaming`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from core.messages import Author, Reply


class Intent(StrEnum):
    QUESTION = "question"
    REQUEST = "request"
    COMPLAINT = "complaint"
    GREETING = "greeting"
    HUMAN_REQUEST = "human_request"
    OTHER = "other"


@dataclass(frozen=True, slots=True)
class Signals:
    """How a customer message reads: polarity in [-1, 1] (VADER's compound score),
    frustration in [0, 1], and what the customer wants."""

    polarity: float
    frustration: float
    intent: Intent


@dataclass(frozen=True, slots=True)
class PastMessage:
    """A message of the conversation as memory and the escalation policy see it."""

    id: int
    author: Author
    text: str
    signals: Signals | None = None
    """Customer messages only."""
    declined: bool = False
    """Bot messages only: the knowledge base had no answer."""


class FactKey(StrEnum):
    """What we remember about a contact: the only keys memory finds and the LLM may store."""

    NAME = "name"
    EMAIL = "email"
    PHONE = "phone"
    PLAN = "plan"
    ORDER_NUMBER = "order_number"
    PREFERENCE = "preference"


@dataclass(frozen=True, slots=True)
class Fact:
    """Something a contact told us about themselves, kept across conversations."""

    key: FactKey
    value: str
    source_message_id: int | None = None
    updated_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class AttachmentText:
    """A file of the customer's message as the agent may use it."""

    filename: str
    text: str | None
    """The extracted text (markdown), cut to `attachments.max_chars`; None when unreadable."""
    problem: str | None = None
    """Why it could not be read, in words for the customer ("larger than the 10 MB limit")."""


@dataclass(frozen=True, slots=True)
class TurnContext:
    message_id: int
    text: str
    recent: tuple[PastMessage, ...] = ()
    """Earlier messages of this conversation within the token budget, oldest first."""
    summary: str | None = None
    """A summary of the turns before `recent`, once the conversation grew long."""
    facts: tuple[Fact, ...] = ()
    attachments: tuple[AttachmentText, ...] = ()


class Responder(StrEnum):
    """Who wrote a turn's reply, for the turn-latency metric."""

    LLM = "llm"
    OFFLINE = "offline"
    """Without the model: extractive from the knowledge base, or from memory."""
    NONE = "none"
    """Nobody: a person has the conversation, or it was handed over before any answer."""


@dataclass(frozen=True, slots=True)
class AgentOutcome:
    reply: Reply
    declined: bool = False
    """The knowledge base held nothing to answer with (feeds the escalation policy)."""
    escalation: str | None = None
    """The LLM asked for a person (`escalate_to_human`), with its reason."""
    facts: tuple[Fact, ...] = ()
    """Facts to remember about the contact (the LLM's `remember_fact`)."""
    responder: Responder = Responder.OFFLINE
