"""Staff and a customer who speak different languages, with an LLM between them.

Staff read and write `languages.staff` ("en" by default). With an LLM configured:

- **For staff.** A customer message surely in another language (`messages.language`) gets a
  translation for staff, kept beside it (`messages.translation`); the Slack card, its thread
  and the inbox show it under the original, marked "translated from German". It is done when
  the message reaches the staff side — a case opened, or a message mirrored to an open case
  (`core.pipeline.hub`) — in the task that posts to the desk, before it posts: the
  customer's reply never waits for it, and the card or line goes out with the translation.
  The conversation's latest untranslated messages are translated then (at most
  `FOR_STAFF_AT_ONCE`: those before the case are on its card). A failed translation is
  logged and the original stands. The outbox's poll may post the same card or line: the
  desk translates before it posts too (`core.handoff.desk`), and a translation is stored once
  (the update is conditional).
- **For the customer.** A staff reply (typed in the inbox or a Slack case thread, or a canned
  one) to a conversation in another language is sent translated into it (`text` is what was
  sent, `messages.original` what staff wrote). Should the translation fail, the reply is sent
  as written and staff are told in a case note (and in the Slack thread): a reply from a
  person is what the customer is waiting for, held back it helps nobody, and staff can follow
  it up — the alternative, holding it, would leave the customer without an answer for as long
  as the model is down, with nobody noticing.

Without an LLM nothing is translated: staff read the original, and their replies go as written.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from functools import partial
from typing import Protocol

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from core.languages import language_name
from core.messages import Author
from core.store.case_tables import Case, CaseEvent, CaseEventKind
from core.store.db import Conversation, Message
from core.store.transactions import Transactions

log = logging.getLogger(__name__)

FOR_STAFF_AT_ONCE = 10
"""The most customer messages of a conversation translated when it reaches staff."""
TRANSLATOR = "supporthub"
"""The actor of the case note that says a reply went untranslated."""


class Translator(Protocol):
    """What translates (`core.answering.llm_responder.LlmResponder`)."""

    async def translate(self, text: str, *, into: str, source: str | None = None) -> str: ...


@dataclass(frozen=True, slots=True)
class Outgoing:
    """A staff reply as it is sent."""

    text: str
    """What the customer gets."""
    original: str | None = None
    """What staff wrote, when `text` is its translation."""
    language: str | None = None
    """The language `text` was translated into."""
    untranslated: str | None = None
    """The customer's language, when the reply should have been translated into it and could not be."""

    def note(self) -> str | None:
        """The case note telling staff their reply went as written, if it did against the plan."""
        if self.untranslated is None:
            return None
        name = language_name(self.untranslated)
        return f"The reply could not be translated into {name}; it was sent as written."


@dataclass(frozen=True, slots=True)
class Untranslated:
    id: int
    text: str
    language: str


class StaffTranslations:
    """Translating between staff's language and customers' (see the module's docstring)."""

    def __init__(self, translator: Translator, *, staff: str, transactions: Transactions) -> None:
        self._translator = translator
        self.staff = staff
        self._run = transactions.run

    async def for_staff(self, conversation_id: str) -> int:
        """Translate the conversation's customer messages staff cannot read yet; how many were."""
        waiting = await self._run(partial(untranslated, conversation_id=conversation_id, staff=self.staff))
        done = 0
        for message in waiting:
            try:
                translation = await self._translator.translate(message.text, into=self.staff, source=message.language)
            except Exception as exc:  # noqa: BLE001 — the original stands; staff read it as written
                log.warning("translations: message %s stays untranslated for staff (%s)", message.id, exc)
                continue
            done += await self._run(partial(keep_translation, message_id=message.id, translation=translation))
        return done

    async def for_customer(self, text: str, *, language: str | None) -> Outgoing:
        """A staff reply as it goes to a customer speaking `language` (None: not known yet)."""
        if language is None or language == self.staff:
            return Outgoing(text)
        try:
            translated = await self._translator.translate(text, into=language, source=self.staff)
        except Exception as exc:  # noqa: BLE001 — never lose the reply: it goes as written, staff are told
            log.warning("translations: a staff reply goes untranslated into %s (%s)", language, exc)
            return Outgoing(text, untranslated=language)
        return Outgoing(translated, original=text, language=language)


def untranslated(session: Session, *, conversation_id: str, staff: str) -> list[Untranslated]:
    """The conversation's latest customer messages in a language other than `staff`'s and not
    translated yet, oldest first."""
    rows = session.execute(
        select(Message.id, Message.text, Message.language)
        .where(
            Message.conversation_id == conversation_id,
            Message.author == Author.CUSTOMER.value,
            Message.language.is_not(None),
            Message.language != staff,
            Message.translation.is_(None),
            Message.text != "",
        )
        .order_by(Message.id.desc())
        .limit(FOR_STAFF_AT_ONCE)
    ).all()
    return [Untranslated(row.id, row.text, row.language) for row in reversed(rows)]


def keep_translation(session: Session, *, message_id: int, translation: str) -> int:
    """Store a message's translation for staff unless one is there already; 1 if stored."""
    stored = session.connection().execute(
        update(Message).where(Message.id == message_id, Message.translation.is_(None)).values(translation=translation)
    )
    return stored.rowcount


def language_of_case(session: Session, *, case_id: str) -> str | None:
    """The language the case's customer writes in now (their conversation's)."""
    return session.execute(
        select(Conversation.language).join(Case, Case.conversation_id == Conversation.id).where(Case.id == case_id)
    ).scalar_one_or_none()


def language_at(session: Session, *, desk_ref: str) -> str | None:
    """The language of the customer whose case lives at `desk_ref` on the chat-platform desk."""
    return session.execute(
        select(Conversation.language)
        .join(Case, Case.conversation_id == Conversation.id)
        .where(Case.desk_ref == desk_ref)
        .order_by(Case.opened_at.desc())
        .limit(1)
    ).scalar_one_or_none()


def note_untranslated(session: Session, *, case: Case, outgoing: Outgoing) -> None:
    """Tell staff, in the case's notes, that a reply went as written instead of translated."""
    if (text := outgoing.note()) is not None:
        session.add(CaseEvent.beside(case, kind=CaseEventKind.NOTE, actor=TRANSLATOR, note=text))
