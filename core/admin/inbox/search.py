"""What narrows the inbox's queue: a search and "mine".

A search is words; a case is found when every word is found in one of three places (not
necessarily the same one for each word), case-insensitively in every alphabet and literally
(`core.store.text_match`):

- the customer: their display name, a verified email or phone, the name, email or phone they
  told the bot, or the email address or phone number they wrote from — what their label in the
  queue is made of (`core.admin.queries.contact_labels`), so a Telegram or Slack user id,
  which says nothing to a person, finds nothing;
- any message of the case's conversation, the customer's, the bot's or staff's;
- the case's reference (`core.handoff.references`), for a word that quotes one; a word written
  as a reference is written ("#3F2A9C1E") is looked for there only.

Each place is looked up per open case, through an index by conversation or contact (`_any`), so
the search reads only what the open cases own, however many closed cases and messages the hub
holds.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import ColumnElement, Select, and_, false, literal, or_, select

from core.admin.queries.contact_labels import ADDRESS_ORDER, IDENTITY_ORDER, MEMORY_ORDER
from core.admin.queries.operations import TeamScope
from core.handoff.references import id_prefix
from core.store.case_tables import Case
from core.store.db import Contact, Conversation, Identity, Memory, Message
from core.store.text_match import holds

ADDRESSES = (*IDENTITY_ORDER, *ADDRESS_ORDER)
"""The identities whose id a person recognises: what a customer's label is made of."""
FACTS = tuple(str(key) for key in MEMORY_ORDER)
HEX_AFTER_F = "g"
"""Sorts after every hex digit: the ids starting with a prefix are [prefix, prefix + "g")."""


@dataclass(frozen=True, slots=True)
class QueueSearch:
    words: tuple[str, ...] = ()
    owner: str | None = None
    """Only the cases this person has ("mine"): `Case.owner`, as staff actions write it."""
    scope: TeamScope | None = None
    """Only the cases of these queues (`core.admin.inbox.scope`); None: every queue."""


def conditions(search: QueueSearch) -> list[ColumnElement[bool]]:
    """Conditions on `Case`: all hold for a case found."""
    found = [_found(word) for word in search.words]
    if search.owner is not None:
        found.append(Case.owner == search.owner)
    if search.scope is not None:
        found.append(search.scope.holds())
    return found


def _found(word: str) -> ColumnElement[bool]:
    if word.startswith("#") and id_prefix(word) is not None:
        return _case_is(word)  # written as a reference is written: nothing else is looked at
    return or_(_customer_is(word), _said(word), _case_is(word))


def _customer_is(word: str) -> ColumnElement[bool]:
    """One lookup per case, from its conversation to the contact and on to the contact's few
    addresses and facts (outer joins: a contact with none is still found by name). Three
    lookups, one per table, each finding the contact again, took half as long again."""
    return _any(
        select(literal(1))
        .select_from(Conversation)
        .join(Contact, Contact.id == Conversation.contact_id)
        .outerjoin(Identity, and_(Identity.contact_id == Contact.id, Identity.channel.in_(ADDRESSES)))
        .outerjoin(Memory, and_(Memory.contact_id == Contact.id, Memory.key.in_(FACTS)))
        .where(
            Conversation.id == Case.conversation_id,
            or_(holds(Contact.display_name, word), holds(Identity.external_user_id, word), holds(Memory.value, word)),
        )
    )


def _said(word: str) -> ColumnElement[bool]:
    return _any(select(literal(1)).where(Message.conversation_id == Case.conversation_id, holds(Message.text, word)))


def _case_is(word: str) -> ColumnElement[bool]:
    """A range on the primary key rather than LIKE 'prefix%': PostgreSQL answers a range from
    the index under any collation, LIKE only under "C"."""
    prefix = id_prefix(word)
    if prefix is None:
        return false()
    return and_(Case.id >= prefix, Case.id < prefix + HEX_AFTER_F)


def _any(rows: Select[int]) -> ColumnElement[bool]:
    """Whether the case has one of `rows`: the first one found, looked up for each case. Not EXISTS:
    PostgreSQL 15 answers an EXISTS under OR with one hashed pass over the whole table — every
    message of 100,000 cases, 270 ms in `tests/bench/bench_inbox_queue.py` — where the few
    thousand open cases' rows are all that is asked; it runs a scalar subquery per case."""
    return rows.limit(1).correlate(Case).scalar_subquery().is_not(None)
