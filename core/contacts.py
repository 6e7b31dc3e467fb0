"""Who wrote: the conversation a received message belongs to, and the contact behind it.

A contact is a person across channels. Each channel user (a widget session, an API contact,
a Slack user) is an identity linked to one contact; a verified email or phone is an identity
too, so a customer who proves the same address on two channels is one contact with one
memory.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from core.db import Contact, Conversation, ConversationState, Identity, new_id, utcnow
from core.messages import Address, InboundMessage

# Prebuilt: these run for every message received, and for every first message of a contact
# (see core.inbox on why).
FIND_CONVERSATION = select(Conversation.id).where(
    Conversation.channel == bindparam("channel"),
    Conversation.chat_id == bindparam("chat_id"),
    Conversation.thread_id == bindparam("thread_id"),
)
_OWNER = select(Identity.contact_id).where(
    Identity.channel == bindparam("channel"), Identity.external_user_id == bindparam("user")
)
_MOVE_IDENTITY = (
    update(Identity)
    .where(Identity.channel == bindparam("on_channel"), Identity.external_user_id == bindparam("user"))
    .values(contact_id=bindparam("owner"))
)
_NEW_CONTACT = insert(Contact)


def _per_dialect(build: Callable[[Any], Any]) -> dict[str, Any]:
    return {"postgresql": build(postgresql.insert), "sqlite": build(sqlite.insert)}


_NEW_CONVERSATION = _per_dialect(lambda insert_of: insert_of(Conversation).on_conflict_do_nothing())
_NEW_IDENTITY = _per_dialect(lambda insert_of: insert_of(Identity).on_conflict_do_nothing())


def dialect_insert(session: Session) -> Any:
    """The INSERT with ON CONFLICT of the dialect at hand (both of ours know it)."""
    return postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert


def insert_ignoring_conflicts(session: Session, table: type[Any]) -> Any:
    return dialect_insert(session)(table).on_conflict_do_nothing()


def conversation_at(session: Session, address: Address) -> str | None:
    where = {"channel": address.channel, "chat_id": address.chat_id, "thread_id": address.thread_id or ""}
    return session.connection().execute(FIND_CONVERSATION, where).scalar_one_or_none()


def conversation_for(session: Session, message: InboundMessage) -> str:
    """The conversation at the message's address, created (with its contact) on first contact;
    safe when two processes receive a first message at once."""
    conversation_id = conversation_at(session, message.address)
    if conversation_id is not None:
        if message.verified_email or message.verified_phone:  # e.g. the visitor signed in meanwhile
            session.execute(
                update(Conversation)
                .where(Conversation.id == conversation_id)
                .values(contact_id=contact_for(session, message))
            )
        return conversation_id
    now = utcnow()
    address = message.address
    connection = session.connection()
    connection.execute(_NEW_CONVERSATION[connection.dialect.name], {
        "id": new_id(),
        "contact_id": contact_for(session, message),
        "channel": address.channel,
        "chat_id": address.chat_id,
        "thread_id": address.thread_id or "",
        "state": ConversationState.BOT,
        "created_at": now,
        "updated_at": now,
    })
    found = conversation_at(session, address)
    assert found is not None  # inserted just now, or by the process that won the race
    return found


def contact_for(session: Session, message: InboundMessage) -> str:
    """The sender's contact. A verified email or phone wins: a visitor known so far only by
    a widget session becomes the contact that email belongs to on every channel, so memory
    follows them. Otherwise their identity on this channel, else a new contact."""
    own = (message.address.channel, message.sender_id)
    verified = _verified(message)
    contact_id = next(filter(None, (_owner(session, identity) for identity in verified)), None)
    if contact_id is None:
        contact_id = _owner(session, own)
    if contact_id is None:
        contact_id = new_id()
        session.connection().execute(_NEW_CONTACT, {"id": contact_id, "display_name": message.sender_name,
                                                    "created_at": utcnow()})
    _link(session, contact_id, [own, *verified])
    return contact_id


def _owner(session: Session, identity: tuple[str, str]) -> str | None:
    channel, user = identity
    return session.connection().execute(_OWNER, {"channel": channel, "user": user}).scalar_one_or_none()


def _verified(message: InboundMessage) -> list[tuple[str, str]]:
    found = []
    if message.verified_email:
        found.append(("email", message.verified_email.strip().lower()))
    if message.verified_phone:
        found.append(("phone", message.verified_phone.strip()))
    return found


def _link(session: Session, contact_id: str, identities: list[tuple[str, str]]) -> None:
    """Give the contact these identities: new ones are added; the channel identity of an
    anonymous sender moves over. A verified identity linked elsewhere stays where it is
    (first come; merging two verified contacts is a decision for a person)."""
    connection = session.connection()
    for index, (channel, user) in enumerate(identities):
        connection.execute(_NEW_IDENTITY[connection.dialect.name],
                           {"channel": channel, "external_user_id": user, "contact_id": contact_id})
        if index == 0:
            connection.execute(_MOVE_IDENTITY, {"on_channel": channel, "user": user, "owner": contact_id})
