"""The normalized message model every channel speaks.

Platform SDK objects never cross into core: a channel adapter turns what arrives into an
`InboundMessage` and renders a `Reply` back into its own format.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any


class Author(StrEnum):
    CUSTOMER = "customer"
    BOT = "bot"
    STAFF = "staff"


@dataclass(frozen=True, slots=True)
class Address:
    """Where a conversation lives on a channel: a chat, and optionally a thread in it."""

    channel: str
    chat_id: str
    thread_id: str | None = None


@dataclass(frozen=True, slots=True)
class Attachment:
    filename: str
    content_type: str
    data: bytes = field(repr=False)
    declared_size: int | None = None
    """The size the platform reported, where a file over `attachments.max_bytes` was not
    fetched at all (`data` is then empty): the customer is told how large it was."""
    problem: str | None = None
    """Why the file could not be fetched from the platform, in words for the customer
    ("mms-1.pdf could not be fetched"); it is then not read at all."""

    @property
    def size(self) -> int:
        return max(len(self.data), self.declared_size or 0)


@dataclass(frozen=True, slots=True)
class InboundMessage:
    """One message from a customer, as a channel adapter normalized it.

    `external_id` is the platform's id for the message; `receive()` is idempotent on
    (address.channel, external_id), so platform retries never produce a second answer.
    """

    address: Address
    external_id: str
    sender_id: str
    text: str
    sender_name: str | None = None
    attachments: tuple[Attachment, ...] = ()
    sent_at: datetime | None = None
    verified_email: str | None = None
    """Set only when the platform or the integrating site verified it: links this sender to
    the contact that has the same verified address on any channel (cross-channel memory)."""
    verified_phone: str | None = None
    sender_unproven: bool = False
    """`sender_id` is only the sender's word, which anyone can forge (a mail's From:): it is an
    identity of its own, never linked to a contact that holds a verified email or phone."""
    language_hint: str | None = None
    """The language the customer's app or browser is set to (Telegram's `language_code`, the
    widget's browser language), ISO 639-1: the conversation's language until a message is sure
    of one, so a first "Hallo" is greeted in German. Never moves a language the hub knows.
    `Hub.receive` keeps it only when it is one of `languages.detect`."""


LINK_SCHEMES = ("http://", "https://")


@dataclass(frozen=True, slots=True)
class Citation:
    source: str
    title: str
    section: str
    score: float
    url: str = ""
    """The document's public address (a web page, or a file given one); empty when it has none."""

    @property
    def link(self) -> str | None:
        """Where a channel links the citation: its public address, or its source when that is
        one (a document pushed by its URL); None when it has neither."""
        for address in (self.url, self.source):
            if address.lower().startswith(LINK_SCHEMES):
                return address
        return None


def citation_json(citation: Citation) -> dict[str, str | float]:
    """A citation as every JSON surface shows it (API, widget, CLI, the database)."""
    return {
        "source": citation.source,
        "title": citation.title,
        "section": citation.section,
        "score": citation.score,
        "url": citation.link or "",
    }


SURVEY_SCORES = (1, 2, 3, 4, 5)
"""The satisfaction survey's scale: 1 (bad) to 5 (great), one digit that any channel can carry."""


class SurveyPart(StrEnum):
    """A message of the satisfaction survey a customer gets when a person resolves their case."""

    QUESTION = "question"
    """The question: channels with buttons show the scale under it (`SURVEY_SCORES`)."""
    THANKS = "thanks"
    """The bot's thanks for a score the customer typed as a digit."""


@dataclass(frozen=True, slots=True)
class Reply:
    """What the hub says back. `handoff` is set when the bot offers a person instead of an answer."""

    text: str
    citations: tuple[Citation, ...] = ()
    handoff: bool = False


@dataclass(frozen=True, slots=True)
class StoredMessage:
    """A message as the conversation history holds it (both directions)."""

    id: int
    conversation_id: str
    author: Author
    text: str
    citations: tuple[Citation, ...]
    handoff: bool
    created_at: datetime
    reply_to: int | None = None
    """The customer message a bot reply answers (the widget swaps its streamed draft for it)."""
    survey: SurveyPart | None = None
    """Part of the satisfaction survey: no 👍/👎 under it, and the question gets the scale."""
    language: str | None = None
    """A customer message: the language it is surely in; the hub's: the language it was said
    in (the conversation's then). None when unknown."""


def stored_message_json(message: StoredMessage) -> dict[str, Any]:
    """A history message as the API lists it and the widget receives it."""
    return {
        "id": message.id,
        "author": message.author.value,
        "text": message.text,
        "citations": [citation_json(c) for c in message.citations],
        "handoff": message.handoff,
        "created_at": message.created_at.isoformat(),
        "reply_to": message.reply_to,
    }


def encoded_message_bytes(*, max_text_length: int, max_file_bytes: int, files: int) -> int:
    """Room for the largest message the settings allow, as JSON on the wire: every file in
    base64 (4 bytes per 3, plus its name and type), beside the longest text escaped (6 bytes a
    character at worst, \\uXXXX), plus slack for the JSON around them. Request bodies and
    widget frames are capped at this, so a legal message always fits and little more does."""
    return 64 * 1024 + 6 * max_text_length + files * ((max_file_bytes + 2) // 3 * 4 + 1024)
