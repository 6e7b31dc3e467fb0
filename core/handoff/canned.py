"""Canned replies: answers staff keep under a short name (`refund-policy`) and send into a
case — with `!reply refund-policy` in its Slack thread (`core.handoff.desk`) or from the inbox in
/admin — as if they had typed them, with the placeholders filled for this customer.

Placeholders are `{name}`, `{first_name}` and `{agent}`, replaced by a plain lookup, never by
`str.format` (whose `{name.__class__}` reaches attributes): a placeholder this module does not
know is refused when the reply is saved and, should one be stored anyway, left as written. The
values filled in are made literal markdown (`core.quoting.literal`): a customer named
`[click](https://evil.example)` is greeted by that text, not by a link.

Every function here is a plain function of a synchronous `Session`, like the desk's other
transactions: the desk runs them with `Transactions.run`, the dashboard with
`AsyncSession.run_sync`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from core.clean_text import clean
from core.handoff.desk_store import open_case_at
from core.quoting import literal
from core.store.case_tables import CannedReply
from core.store.db import Contact, Conversation, Memory, utcnow
from core.turn_context import FactKey

NAME = re.compile(r"[a-z0-9-]{1,40}")
MAX_BODY = 5_000
"""Characters: a long answer, and still one Telegram message (4,096) after few placeholders."""
PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")
PLACEHOLDERS = {
    "name": "the customer's name (“there” when nobody knows it: “Hi {name}” reads “Hi there”)",
    "first_name": "the first word of the customer's name (also “there” when unknown)",
    "agent": "the name of the person sending the reply (“the support team” when unknown)",
}
"""Each placeholder and what it becomes, as the admin page and the docs explain it."""
NO_NAME = "there"
NO_AGENT = "the support team"


class BadCannedReply(ValueError):
    """A canned reply that cannot be saved; the message says why, for the person editing it."""


class NameTaken(BadCannedReply):
    """Another canned reply has that name."""


class NoSuchCannedReply(LookupError):
    """No canned reply has that name."""


@dataclass(frozen=True, slots=True)
class Canned:
    name: str
    body: str
    """Markdown with placeholders, as stored."""
    updated_by: str
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class UnknownCanned:
    """`!reply NAME` named no canned reply: what to tell the person who typed it."""

    name: str
    names: tuple[str, ...]

    def explanation(self) -> str:
        asked = self.name if len(self.name) <= 60 else f"{self.name[:60]}…"
        if not self.names:
            return f"No canned reply named {asked!r}: there are none yet (add them at /admin/replies)."
        return f"No canned reply named {asked!r}; the names are: {', '.join(self.names)}."


def checked_name(name: str) -> str:
    """`name` as stored (trimmed, lower case); BadCannedReply unless it is a slug."""
    slug = clean(name).strip().lower()
    if not NAME.fullmatch(slug):
        raise BadCannedReply(
            "a canned reply's name is 1 to 40 lower-case letters, digits and hyphens (e.g. refund-policy)"
        )
    return slug


def checked_body(body: str) -> str:
    """`body` as stored (line ends as \\n, trimmed); BadCannedReply when it is empty, too long
    or uses a placeholder nobody fills."""
    text = clean(body).replace("\r\n", "\n").replace("\r", "\n").strip()
    if not text:
        raise BadCannedReply("the reply is empty: write what the customer should read")
    if len(text) > MAX_BODY:
        raise BadCannedReply(f"the reply is {len(text):,} characters; at most {MAX_BODY:,}")
    unknown = sorted({m.group(1) for m in PLACEHOLDER.finditer(text)} - PLACEHOLDERS.keys())
    if unknown:
        known = ", ".join(f"{{{key}}}" for key in PLACEHOLDERS)
        raise BadCannedReply(
            f"unknown placeholder {', '.join(f'{{{key}}}' for key in unknown)}; the placeholders are {known}"
        )
    return text


def canned_replies(session: Session) -> list[Canned]:
    """Every canned reply, by name."""
    rows = session.execute(select(CannedReply).order_by(CannedReply.name)).scalars()
    return [_canned(row) for row in rows]


def canned_reply(session: Session, name: str) -> Canned | None:
    row = _row(session, name)
    return _canned(row) if row is not None else None


def save_canned_reply(session: Session, *, name: str, body: str, actor: str, replacing: str | None = None) -> Canned:
    """Create the canned reply `name`, or change the one named `replacing` (its name too).
    Raises BadCannedReply (NameTaken when another reply has `name`), NoSuchCannedReply when
    `replacing` names none."""
    slug, text = checked_name(name), checked_body(body)
    row = None
    if replacing is not None:
        row = _row(session, replacing)
        if row is None:
            raise NoSuchCannedReply(f"there is no canned reply named {replacing!r}")
    if (row is None or row.name != slug) and _row(session, slug) is not None:
        raise NameTaken(f"a canned reply named {slug!r} exists already: edit it, or choose another name")
    if row is None:
        row = CannedReply(name=slug)
        session.add(row)
    row.name, row.body, row.updated_by, row.updated_at = slug, text, actor, utcnow()
    session.flush()
    return _canned(row)


def delete_canned_reply(session: Session, name: str) -> None:
    """Raises NoSuchCannedReply when no reply has `name`."""
    if not session.execute(delete(CannedReply).where(CannedReply.name == name)).rowcount:  # type: ignore[attr-defined]
        raise NoSuchCannedReply(f"there is no canned reply named {name!r}")


def fill(body: str, *, customer: str | None, agent: str | None) -> str:
    """`body` with its placeholders replaced (an unknown one is left as written)."""
    name = literal(clean(customer)) if customer and customer.strip() else NO_NAME
    values = {
        "name": name,
        "first_name": name.split()[0] if name.split() else NO_NAME,
        "agent": literal(clean(agent)) if agent and agent.strip() else NO_AGENT,
    }
    return PLACEHOLDER.sub(lambda found: values.get(found.group(1), found.group(0)), body)


def render_canned_reply(session: Session, *, name: str, conversation_id: str, agent: str | None) -> str:
    """The canned reply `name` as the customer of `conversation_id` should read it, sent by
    `agent` (the person's name; None when unknown). Raises NoSuchCannedReply."""
    row = _row(session, name)
    if row is None:
        raise NoSuchCannedReply(f"there is no canned reply named {name!r}")
    conversation = session.get(Conversation, conversation_id)
    customer = customer_name(session, conversation.contact_id) if conversation is not None else None
    return fill(row.body, customer=customer, agent=agent)


def canned_for_case(session: Session, *, desk_ref: str, name: str, agent: str | None) -> str | UnknownCanned | None:
    """`!reply NAME` in the thread at `desk_ref`: the reply filled for the customer of the case
    open there; UnknownCanned when no reply has that name; None when no case is open there."""
    row = _row(session, name)
    if row is None:
        return UnknownCanned(
            name, tuple(session.execute(select(CannedReply.name).order_by(CannedReply.name)).scalars())
        )
    case = open_case_at(session, desk_ref)
    if case is None:
        return None
    return render_canned_reply(session, name=row.name, conversation_id=case.conversation_id, agent=agent)


def customer_name(session: Session, contact_id: str) -> str | None:
    """The name a contact is greeted by: their display name (a channel's profile name, or the
    one a signed-in visitor gave), else the newest name they told the bot — the dashboard's
    order (`core.admin.queries.contact_labels`), without its addresses and ids, which are not names."""
    contact = session.get(Contact, contact_id)
    if contact is not None and contact.display_name and contact.display_name.strip():
        return contact.display_name.strip()
    told = session.execute(
        select(Memory.value)
        .where(Memory.contact_id == contact_id, Memory.key == str(FactKey.NAME))
        .order_by(Memory.updated_at.desc(), Memory.id.desc())
        .limit(1)
    ).scalar_one_or_none()
    return told.strip() if told and told.strip() else None


def _row(session: Session, name: str) -> CannedReply | None:
    return session.execute(select(CannedReply).where(CannedReply.name == name)).scalar_one_or_none()


def _canned(row: CannedReply) -> Canned:
    return Canned(row.name, row.body, row.updated_by, row.updated_at)
