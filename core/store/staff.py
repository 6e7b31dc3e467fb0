"""Staff accounts (`core.store.db.StaffMember`), their server-side sessions and the audit
trail of what they did. Plain functions of a `Session`, run in one transaction each
(`core.store.transactions`); password hashing happens outside, in `core.ops.access`, so no
transaction waits for argon2.

Secrets are stored as their SHA-256 only (an invitation's token, a session's token): a copy of
the database signs nobody in. Tokens are 32 random bytes, so a plain hash is enough; passwords
are people's, so they get argon2 (`core.ops.passwords`).
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from core.settings import Settings
from core.store.db import StaffAction, StaffMember, StaffRole, StaffSession, utcnow

INVITE_TTL = timedelta(days=7)
EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,255}$")
TOKEN_ACTOR = "admin token"
"""Who did it, for what was done with the shared admin token (scripts, or a browser signed in with it)."""


class StaffError(ValueError):
    """A change to the staff accounts that cannot be made, with the reason to show."""


@dataclass(frozen=True, slots=True)
class Person:
    """A staff member as the rest of the hub sees them."""

    id: str
    email: str
    name: str
    role: StaffRole
    active: bool
    """Has set a password and is not removed."""
    invited_until: datetime | None
    removed: bool

    @property
    def is_admin(self) -> bool:
        return self.role is StaffRole.ADMIN


@dataclass(frozen=True, slots=True)
class SignedIn:
    """A live session: who, and the CSRF value its forms carry."""

    person: Person
    csrf: str


def digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogateescape")).hexdigest()


def public_base(settings: Settings) -> str:
    """Where people reach the hub, for the links it gives them: `admin.public_url`, else the
    address `serve` listens on."""
    return settings.admin.public_url.rstrip("/") or f"http://{settings.server.host}:{settings.server.port}"


def invitation_link(settings: Settings, token: str) -> str:
    """Where an invitation's token is used."""
    return f"{public_base(settings)}/admin/invite/{token}"


def normal_email(email: str) -> str:
    """The email as stored and compared: trimmed, lower-case; StaffError when it is not one."""
    email = email.strip().lower()
    if not EMAIL.match(email):
        raise StaffError(f"{email!r} is not an email address")
    return email


def _person(row: StaffMember) -> Person:
    return Person(
        row.id,
        row.email,
        row.name,
        StaffRole(row.role),
        row.password_hash is not None and row.removed_at is None,
        row.invite_expires_at if row.invite_hash is not None else None,
        row.removed_at is not None,
    )


def invite(session: Session, *, email: str, name: str, role: StaffRole, actor: str, now: datetime | None = None) -> str:
    """A one-time invitation token for `email` (valid `INVITE_TTL`), creating the account or
    renewing its invitation; a removed person invited again comes back. The token is returned
    once and stored as its hash."""
    email = normal_email(email)
    now = now or utcnow()
    token = secrets.token_urlsafe(32)
    row = session.execute(select(StaffMember).where(StaffMember.email == email)).scalar_one_or_none()
    if row is None:
        row = StaffMember(email=email, name=name.strip() or email.split("@")[0], role=role.value, created_at=now)
        session.add(row)
    elif name.strip():
        row.name = name.strip()
    row.role = role.value
    row.removed_at = None
    row.invite_hash = digest(token)
    row.invite_expires_at = now + INVITE_TTL
    session.flush()
    record(session, actor=actor, staff_id=None, action="invite", target=email, now=now)
    return token


def invited(session: Session, *, token: str, now: datetime | None = None) -> Person | None:
    """Who an invitation token is for, while it is valid; None otherwise."""
    row = _by_invite(session, token, now or utcnow())
    return None if row is None else _person(row)


def _by_invite(session: Session, token: str, now: datetime) -> StaffMember | None:
    row = session.execute(select(StaffMember).where(StaffMember.invite_hash == digest(token))).scalar_one_or_none()
    if row is None or row.invite_expires_at is None or row.invite_expires_at <= now or row.removed_at is not None:
        return None
    return row


def accept(session: Session, *, token: str, name: str, password_hash: str, now: datetime | None = None) -> Person:
    """Use an invitation: set the name and password; the token works no more. StaffError when
    it is unknown, used or expired. One statement checks and uses it (an UPDATE of the row
    while it still holds the token), so of accepts arriving together the database lets one
    through: PostgreSQL makes the others wait for its commit and then finds the token gone,
    SQLite runs them one after the other."""
    now = now or utcnow()
    used = session.execute(
        update(StaffMember)
        .where(
            StaffMember.invite_hash == digest(token),
            StaffMember.invite_expires_at > now,
            StaffMember.removed_at.is_(None),
        )
        .values(
            name=name.strip() or StaffMember.name, password_hash=password_hash, invite_hash=None, invite_expires_at=None
        )
        .returning(StaffMember.id)
        .execution_options(synchronize_session=False)
    ).scalar_one_or_none()
    if used is None:
        raise StaffError("this invitation link is not valid any more; ask for a new one")
    row = session.get_one(StaffMember, used, populate_existing=True)
    session.execute(delete(StaffSession).where(StaffSession.staff_id == row.id))
    record(session, actor=row.name, staff_id=row.id, action="accept invitation", target=row.email, now=now)
    return _person(row)


def password_hash_of(session: Session, *, email: str) -> tuple[Person, str] | None:
    """An active person's stored hash, to check a password against; None when there is none."""
    try:
        email = normal_email(email)
    except StaffError:
        return None
    row = session.execute(select(StaffMember).where(StaffMember.email == email)).scalar_one_or_none()
    if row is None or row.password_hash is None or row.removed_at is not None:
        return None
    return _person(row), row.password_hash


def rehash(session: Session, *, staff_id: str, password_hash: str) -> None:
    """Store a hash made with newer parameters (argon2's `check_needs_rehash`)."""
    row = session.get(StaffMember, staff_id)
    if row is not None:
        row.password_hash = password_hash


def open_session(session: Session, *, person: Person, ttl: timedelta, now: datetime | None = None) -> tuple[str, str]:
    """A new session for `person`: (the cookie's token, the CSRF value its forms carry)."""
    now = now or utcnow()
    token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(24)
    session.add(
        StaffSession(token_hash=digest(token), staff_id=person.id, csrf=csrf, created_at=now, expires_at=now + ttl)
    )
    record(session, actor=person.name, staff_id=person.id, action="sign in", target=person.email, now=now)
    return token, csrf


def signed_in(session: Session, *, token: str, now: datetime | None = None) -> SignedIn | None:
    """The person a session token belongs to while the session lasts and they are active."""
    now = now or utcnow()
    found = session.execute(
        select(StaffSession, StaffMember)
        .join(StaffMember, StaffMember.id == StaffSession.staff_id)
        .where(StaffSession.token_hash == digest(token))
    ).first()
    if found is None:
        return None
    row, member = found
    if row.expires_at <= now or member.removed_at is not None or member.password_hash is None:
        return None
    return SignedIn(_person(member), row.csrf)


def still_signed_in(session: Session, *, tokens: Collection[str], now: datetime | None = None) -> set[str]:
    """Those of the session `tokens` that `signed_in` would still let in, in one statement
    however many (the inbox's live pages check theirs at every change)."""
    now = now or utcnow()
    by_digest = {digest(token): token for token in tokens}
    live = session.scalars(
        select(StaffSession.token_hash)
        .join(StaffMember, StaffMember.id == StaffSession.staff_id)
        .where(
            StaffSession.token_hash.in_(list(by_digest)),
            StaffSession.expires_at > now,
            StaffMember.removed_at.is_(None),
            StaffMember.password_hash.is_not(None),
        )
    )
    return {by_digest[found] for found in live}


def end_session(session: Session, *, token: str) -> None:
    session.execute(delete(StaffSession).where(StaffSession.token_hash == digest(token)))


def remove(session: Session, *, email: str, actor: str, now: datetime | None = None) -> Person:
    """Take a person's access away: every session of theirs ends now, their invitation too.
    Their row stays, so their name stays on what they did. StaffError when unknown."""
    now = now or utcnow()
    email = normal_email(email)
    row = session.execute(select(StaffMember).where(StaffMember.email == email)).scalar_one_or_none()
    if row is None:
        raise StaffError(f"nobody on the staff has the email {email}")
    row.removed_at = now
    row.invite_hash = None
    row.invite_expires_at = None
    session.execute(delete(StaffSession).where(StaffSession.staff_id == row.id))
    record(session, actor=actor, staff_id=None, action="remove", target=email, now=now)
    return _person(row)


def people(session: Session) -> list[Person]:
    """Everyone ever invited, by name."""
    return [_person(row) for row in session.execute(select(StaffMember).order_by(StaffMember.name)).scalars()]


def active_people(session: Session) -> list[Person]:
    """Who can work cases now: signed up and not removed."""
    return [person for person in people(session) if person.active]


def has_active_staff(session: Session) -> bool:
    """Someone can answer in the inbox: joined (a password set) and not removed."""
    found = session.execute(
        select(StaffMember.id).where(StaffMember.password_hash.is_not(None), StaffMember.removed_at.is_(None)).limit(1)
    ).first()
    return found is not None


def record(
    session: Session, *, actor: str, staff_id: str | None, action: str, target: str, now: datetime | None = None
) -> None:
    """One line of the audit trail."""
    session.add(
        StaffAction(actor=actor[:255], staff_id=staff_id, action=action[:40], target=target[:255], at=now or utcnow())
    )


@dataclass(frozen=True, slots=True)
class Done:
    at: datetime
    actor: str
    action: str
    target: str


def recent_actions(session: Session, *, limit: int = 50) -> list[Done]:
    rows = session.execute(select(StaffAction).order_by(StaffAction.at.desc(), StaffAction.id.desc()).limit(limit))
    return [Done(row.at, row.actor, row.action, row.target) for row in rows.scalars()]
