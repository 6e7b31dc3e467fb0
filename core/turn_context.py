"""What the agent sees of one turn, and what it gives back.

The hub assembles a `TurnContext` from the store (recent turns within the token budget, the
rolling summary, the contact's remembered facts, the text of the message's attachments); a
responder turns it into an `AgentOutcome` (streaming responders report progress through
`core.streaming`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from core.languages import _
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
class VerifiedIdentity:
    """What the platform or the company's site proved about the customer writing (a signed
    widget email, the API's identity behind its token, a Telegram or SMS phone number, a
    DMARC-passed email): the only identity an action is given, never one the model wrote."""

    email: str | None = None
    phone: str | None = None

    def get(self, name: str) -> str | None:
        return {"email": self.email, "phone": self.phone}.get(name)


@dataclass(frozen=True, slots=True)
class PendingAction:
    """An action waiting on the customer between two turns: a parameter asked for, or the
    confirmation of a write. Kept on the conversation (`conversations.pending_action`)."""

    action: str
    arguments: dict[str, Any] = field(default_factory=dict)
    awaiting: str | None = None
    """The parameter asked for; None: the customer is asked to confirm."""
    asked_at: datetime | None = None
    """When the customer was asked: an answer long after is not taken for this (`PENDING_FOR`)."""
    contact_id: str = ""
    """Who was asked: in a conversation several people write in (a group, a thread), only they answer."""

    def to_json(self) -> str:
        asked = self.asked_at.isoformat() if self.asked_at is not None else None
        return json.dumps(
            {
                "action": self.action,
                "arguments": self.arguments,
                "awaiting": self.awaiting,
                "asked_at": asked,
                "contact_id": self.contact_id,
            }
        )

    @classmethod
    def from_json(cls, text: str | None) -> PendingAction | None:
        """None for nothing stored, or for something that no longer reads (it is dropped)."""
        if not text:
            return None
        try:
            data = json.loads(text)
            asked = datetime.fromisoformat(data["asked_at"]) if data.get("asked_at") else None
            return cls(str(data["action"]), dict(data["arguments"]), data["awaiting"], asked, str(data["contact_id"]))
        except (ValueError, KeyError, TypeError):
            return None


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
    contact_id: str = ""
    """Who wrote the message: the only customer whose cases and identity the turn may use."""
    conversation_id: str = ""
    pending: PendingAction | None = None
    """An action this conversation is in the middle of."""
    language: str | None = None
    """The customer's language, once a message was sure of it (the reply is said in it)."""
    reach: str | None = None
    """None: a person from staff can join this conversation (a desk takes cases), so a reply may
    offer one. Else nobody can, and this is where the customer can reach the team instead, said
    in their language (`core.handoff.reach`): a reply says it where it would offer a person, and
    never offers one. "": say nothing there (the turn tells them itself)."""

    @property
    def staffed(self) -> bool:
        """A person can come: replies offer one rather than saying where to write."""
        return self.reach is None


def person_or_reach(reach: str | None, *, person: str, instead: str) -> str:
    """A sentence that would offer a person, said in the language spoken now: the catalog's
    `person` when one can come (`reach` None, as `TurnContext.reach`), else `instead` followed
    by where to reach the team."""
    return _(person) if reach is None else f"{_(instead)} {reach}".strip()


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
    pending: PendingAction | None = None
    """The action left waiting on the customer's next message (None: none, or it is over)."""
    acted: bool = False
    """An action answered (or was asked for): not a question the help centre failed."""
