"""Erasing a contact on request, and expiring idle conversations after the retention period.

Deleting rows relies on the schema's ON DELETE CASCADE (SQLite enforces it with the
`foreign_keys` pragma every connection sets): a contact takes its identities, facts and
conversations with it, and the messages it wrote in other people's conversations (a Slack
thread); a conversation takes its messages, files, cases, deliveries and feedback.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, func, or_, select
from sqlalchemy.orm import Session

from core.handoff.cases import OPEN_STATES
from core.store import suggestions
from core.store.case_tables import Case
from core.store.contacts import VERIFIED_EMAIL, VERIFIED_PHONE
from core.store.db import Contact, Conversation, Identity, Memory, Message, MessageStatus


@dataclass(frozen=True, slots=True)
class Erased:
    contact_id: str
    conversations: int
    messages: int
    facts: int
    identities: int

    @property
    def line(self) -> str:
        return (
            f"forgot contact {self.contact_id}: {self.conversations} conversations, "
            f"{self.messages} messages, {self.facts} facts, {self.identities} identities"
        )


def find_contacts(session: Session, selector: str) -> list[str]:
    """The contacts a selector names: a contact id, or an identity written `channel:user`
    (`api:crm-42`, `web:<session id>`, `verified-email:alice@example.com`). `email:` names
    everyone behind that address — the verified person and the plain mail sender, who are
    contacts apart — and `phone:` the verified person and the texter."""
    if session.get(Contact, selector) is not None:
        return [selector]
    channel, _, user = selector.partition(":")
    if not user:
        return []
    if channel in ("email", VERIFIED_EMAIL):
        user = user.strip().lower()  # stored lower-cased, like every verified email
    kinds = {"email": (VERIFIED_EMAIL, "email"), "phone": (VERIFIED_PHONE, "sms")}.get(channel, (channel,))
    found = session.execute(
        select(Identity.contact_id).where(Identity.channel.in_(kinds), Identity.external_user_id == user)
    ).scalars()
    return list(dict.fromkeys(found))


def forget_contacts(session: Session, *, selector: str) -> list[Erased]:
    """Delete everything kept about the contacts `selector` names; [] when none matches."""
    return [_forget(session, contact_id) for contact_id in find_contacts(session, selector)]


def _forget(session: Session, contact_id: str) -> Erased:
    conversations = select(Conversation.id).where(Conversation.contact_id == contact_id)
    erased = Erased(
        contact_id=contact_id,
        conversations=_count(session, conversations.subquery()),
        messages=_count(
            session,
            select(Message.id)
            .where(or_(Message.conversation_id.in_(conversations), Message.contact_id == contact_id))
            .subquery(),
        ),
        facts=_count(session, select(Memory.id).where(Memory.contact_id == contact_id).subquery()),
        identities=_count(session, select(Identity.id).where(Identity.contact_id == contact_id).subquery()),
    )
    suggestions.forget_conversations(session, conversations)
    session.execute(delete(Contact).where(Contact.id == contact_id))
    return erased


RETENTION_BATCH = 500
"""Conversations one transaction of the retention job deletes at most, so that each statement
stays well inside PostgreSQL's statement timeout (`postgres.statement_timeout_s`) however long
the history: measured here, 20,000 idle conversations of 10 messages took 11.5 s in one
statement; in 40 transactions of 500, 0.28 s each (0.5 s at most)."""


def expire_conversations(session: Session, *, idle_since: datetime, limit: int = RETENTION_BATCH) -> int:
    """Delete up to `limit` conversations with no message since `idle_since`, except those a
    person still owes an answer (an open case) or one just written to; how many went. Facts
    about the contact stay (long-term memory)."""
    open_cases = select(Case.conversation_id).where(Case.state.in_(OPEN_STATES))
    unanswered = select(Message.conversation_id).where(Message.status == MessageStatus.PENDING)
    idle = (
        Conversation.updated_at < idle_since,
        Conversation.id.not_in(open_cases),
        Conversation.id.not_in(unanswered),  # a message arrived meanwhile
    )
    batch = list(session.scalars(select(Conversation.id).where(*idle).limit(limit)))
    expiring = (Conversation.id.in_(batch), *idle)
    suggestions.forget_conversations(session, select(Conversation.id).where(*expiring))
    result = session.execute(delete(Conversation).where(*expiring))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def _count(session: Session, subquery: object) -> int:
    return int(session.execute(select(func.count()).select_from(subquery)).scalar_one())  # type: ignore[arg-type]
