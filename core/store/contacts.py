"""Who wrote: the conversation a received message belongs to, and the contact behind it.

A contact is a person across channels. Each channel user (a widget session, an API contact,
a Slack user, a mail sender) is an identity linked to one contact; a verified email or phone
is an identity too, of its own kind (`verified-email`, `verified-phone`), so a customer who
proves the same address on two channels is one contact with one memory. A plain mail sender
is an identity of the email channel (`email`, the From: address), never the verified kind and
never linked to a contact that holds one: From: is easy to forge.

Two rules keep one customer's data from another:
- a verified identity is never attached to a contact that holds another verified identity of
  the same kind (a different person signed in on the same widget, or named by the same API
  contact id, gets a contact of their own, and may not write into the other's conversation);
- every customer message is attributed to its writer's contact, so in a conversation several
  people write in (a Slack thread, a Telegram group) each one's memory stays their own.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, NamedTuple

from sqlalchemy import bindparam, exists, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from core.channel import IdentityConflict
from core.invariants import present
from core.messages import Address, InboundMessage
from core.store.db import (
    Contact,
    Conversation,
    ConversationState,
    DeliveryStatus,
    Identity,
    OutboxItem,
    new_id,
    utcnow,
)

VERIFIED_EMAIL = "verified-email"
VERIFIED_PHONE = "verified-phone"
_INTERNATIONAL_PHONE = re.compile(r"\+\d{7,15}")

# Prebuilt: these run for every message received, and for every first message of a contact
# (see core.store.inbox on why).
FIND_CONVERSATION = select(Conversation.id).where(
    Conversation.channel == bindparam("channel"),
    Conversation.chat_id == bindparam("chat_id"),
    Conversation.thread_id == bindparam("thread_id"),
)
_FIND_LANGUAGE = select(Conversation.language).where(
    Conversation.channel == bindparam("channel"),
    Conversation.chat_id == bindparam("chat_id"),
    Conversation.thread_id == bindparam("thread_id"),
)
_OWNER = select(Identity.contact_id).where(
    Identity.channel == bindparam("channel"), Identity.external_user_id == bindparam("user")
)


def _owner_of(kind: str, value: str) -> Any:
    return (
        select(Identity.contact_id)
        .where(Identity.channel == bindparam(kind), Identity.external_user_id == bindparam(value))
        .scalar_subquery()
    )


_CONVERSATION_AND_WRITER = select(
    Conversation.id,
    Conversation.contact_id,
    Conversation.state,
    Conversation.language,
    _OWNER.scalar_subquery().label("writer"),
    _owner_of("email_kind", "email").label("email_owner"),
    _owner_of("phone_kind", "phone").label("phone_owner"),
    Conversation.unreachable_reason.is_not(None).label("unreachable"),
    exists()
    .where(OutboxItem.conversation_id == Conversation.id, OutboxItem.status == DeliveryStatus.HELD)
    .label("holds_replies"),
).where(
    Conversation.channel == bindparam("channel"),
    Conversation.chat_id == bindparam("chat_id"),
    Conversation.thread_id == bindparam("thread_id"),
)
"""The conversation at an address, the contact its writer's channel identity belongs to, and
those of the verified email and phone the message carries, and whether the conversation is
marked unreachable or holds replies back: one round trip for the usual message (its writer,
and whatever they proved, are the conversation's contact; nothing to undo)."""
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


class Writer(NamedTuple):
    """Where a received message goes: its conversation, and the contact who wrote it."""

    conversation_id: str
    contact_id: str
    with_person: bool = False
    """A person has the conversation (a case waits or is claimed): the bot will not answer."""
    language: str | None = None
    """The conversation's language as the message found it (a new one starts in the message's
    `language_hint`)."""
    unreachable: bool = False
    """The conversation is marked unreachable (the customer had blocked the bot)."""
    holds_replies: bool = False
    """Replies wait in it for the customer's next message (`core.store.held_replies`)."""


def dialect_insert(session: Session) -> Any:
    """The INSERT with ON CONFLICT of the dialect at hand (both of ours know it)."""
    return postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert


def insert_ignoring_conflicts(session: Session, table: type[Any]) -> Any:
    return dialect_insert(session)(table).on_conflict_do_nothing()


def conversation_at(session: Session, address: Address) -> str | None:
    return session.connection().execute(FIND_CONVERSATION, _where(address)).scalar_one_or_none()


def language_at(session: Session, address: Address) -> str | None:
    """The language of the conversation at `address` (None: no conversation, or not known)."""
    return session.connection().execute(_FIND_LANGUAGE, _where(address)).scalar_one_or_none()


def conversation_for(session: Session, message: InboundMessage) -> Writer:
    """The conversation at the message's address, created (with its contact) on first contact,
    and the contact who wrote the message; safe when two processes receive a first message at
    once. Raises `IdentityConflict` when a verified person writes into the conversation of
    another verified person (the same API contact id for two people)."""
    connection = session.connection()
    verified = dict(_verified(message))
    found = connection.execute(
        _CONVERSATION_AND_WRITER,
        {
            **_where(message.address),
            "user": message.sender_id,
            "email_kind": VERIFIED_EMAIL,
            "email": verified.get(VERIFIED_EMAIL, ""),
            "phone_kind": VERIFIED_PHONE,
            "phone": verified.get(VERIFIED_PHONE, ""),
        },
    ).one_or_none()
    if found is not None:
        proved = {VERIFIED_EMAIL: found.email_owner, VERIFIED_PHONE: found.phone_owner}
        with_person = found.state != ConversationState.BOT
        if found.writer == found.contact_id and all(proved[kind] == found.contact_id for kind in verified):
            return Writer(
                found.id, found.contact_id, with_person, found.language, found.unreachable, found.holds_replies
            )
        writer = contact_for(session, message)
        if writer != found.contact_id and _holds_other(session, found.contact_id, list(verified.items())):
            raise IdentityConflict(
                "this conversation belongs to a person with another verified identity: one contact id is one person"
            )
        if writer != found.contact_id and found.writer == found.contact_id and _owner(session, _own(message)) == writer:
            # The conversation's own person proved who they are (a visitor signed in): the
            # conversation follows them to that person's contact.
            connection.execute(update(Conversation).where(Conversation.id == found.id).values(contact_id=writer))
        return Writer(found.id, writer, with_person, found.language, found.unreachable, found.holds_replies)
    now = utcnow()
    contact_id = contact_for(session, message)
    connection.execute(
        _NEW_CONVERSATION[connection.dialect.name],
        {
            "id": new_id(),
            "contact_id": contact_id,
            **_where(message.address),
            "state": ConversationState.BOT,
            "language": message.language_hint,
            "created_at": now,
            "updated_at": now,
        },
    )
    created = present(
        conversation_at(session, message.address),
        "the conversation, inserted just now or by the process that won the race,",
    )
    return Writer(created, contact_id, language=message.language_hint)


def contact_for(session: Session, message: InboundMessage) -> str:
    """The sender's contact: the first of these that holds no other verified identity of a kind
    the message proves (a different person) — the owner of a verified email or phone the
    message carries, then the owner of the sender's channel identity — else a new contact.

    A visitor known so far only by a widget session thus becomes the contact their verified
    email belongs to on every channel, and memory follows them; someone else signing in on
    that session, or naming an email and a phone of two different people, is a person of their
    own. The verified identities not yet linked are given to the contact. The channel identity
    moves over too unless it is someone else's; a sender the channel cannot prove
    (`sender_unproven`: a mail's From:) is never linked to a contact holding a verified
    identity, nor from one."""
    own = _own(message)
    verified = _verified(message)
    owner = _owner(session, own)
    candidates = [contact for contact in (_owner(session, identity) for identity in verified) if contact]
    if owner is not None and not (message.sender_unproven and verified):
        candidates.append(owner)
    contact_id = next((c for c in candidates if not _holds_other(session, c, verified)), None)
    if contact_id is not None and message.sender_unproven and not verified and _holds_any_verified(session, contact_id):
        contact_id = None  # an unproven sender once linked to a verified person (before 0009): a person of their own
    if contact_id is None:
        contact_id = new_id()
        session.connection().execute(
            _NEW_CONTACT, {"id": contact_id, "display_name": message.sender_name, "created_at": utcnow()}
        )
    keeps_own = not (message.sender_unproven and verified) and (
        owner is None or owner == contact_id or not _holds_other(session, owner, verified)
    )
    _link(session, contact_id, verified, own=own if keeps_own else None)
    return contact_id


def known_identifiers(session: Session, contact_id: str) -> list[str]:
    """What identifies the contact wherever it is written: their verified emails and phones, and
    each channel identity that is an email address or an international phone number (a WhatsApp
    or SMS number, a mail's From:); not the platforms' own ids (a Slack user, a widget session)."""
    values = session.scalars(select(Identity.external_user_id).where(Identity.contact_id == contact_id))
    return list(dict.fromkeys(value for value in values if "@" in value or _INTERNATIONAL_PHONE.fullmatch(value)))


def _where(address: Address) -> dict[str, str]:
    return {"channel": address.channel, "chat_id": address.chat_id, "thread_id": address.thread_id or ""}


def _own(message: InboundMessage) -> tuple[str, str]:
    return message.address.channel, message.sender_id


def _owner(session: Session, identity: tuple[str, str]) -> str | None:
    channel, user = identity
    return session.connection().execute(_OWNER, {"channel": channel, "user": user}).scalar_one_or_none()


def _verified(message: InboundMessage) -> list[tuple[str, str]]:
    found = []
    if message.verified_email:
        found.append((VERIFIED_EMAIL, message.verified_email.strip().lower()))
    if message.verified_phone:
        found.append((VERIFIED_PHONE, message.verified_phone.strip()))
    return found


def _holds_other(session: Session, contact_id: str, verified: list[tuple[str, str]]) -> bool:
    """Whether the contact holds a verified identity of one of these kinds other than these."""
    return any(
        session.execute(
            select(
                exists().where(
                    Identity.contact_id == contact_id, Identity.channel == kind, Identity.external_user_id != value
                )
            )
        ).scalar_one()
        for kind, value in verified
    )


def _holds_any_verified(session: Session, contact_id: str) -> bool:
    return bool(
        session.execute(
            select(
                exists().where(
                    Identity.contact_id == contact_id, Identity.channel.in_((VERIFIED_EMAIL, VERIFIED_PHONE))
                )
            )
        ).scalar_one()
    )


def _link(session: Session, contact_id: str, verified: list[tuple[str, str]], *, own: tuple[str, str] | None) -> None:
    """Give the contact these identities: new ones are added; the channel identity (`own`) of
    an anonymous sender moves over. A verified identity linked elsewhere stays where it is
    (first come; merging two verified contacts is a decision for a person)."""
    connection = session.connection()
    for channel, user in [*([own] if own is not None else []), *verified]:
        connection.execute(
            _NEW_IDENTITY[connection.dialect.name],
            {"channel": channel, "external_user_id": user, "contact_id": contact_id},
        )
    if own is not None:
        channel, user = own
        connection.execute(_MOVE_IDENTITY, {"on_channel": channel, "user": user, "owner": contact_id})
