"""The staff desk's port: what the desk needs of a chat platform, and the neutral shapes it
speaks in (a case card, the actions on it). A channel adapter implements `DeskPort` and
renders a `CaseCard` in its own format, without loading any of the desk's database code."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Protocol, runtime_checkable


class CaseAction(StrEnum):
    """The buttons on a case card, and the thread commands `!claim`, `!resolve`, `!bot`."""

    CLAIM = "claim"
    RESOLVE = "resolve"
    RETURN = "return"


@dataclass(frozen=True, slots=True)
class CaseCard:
    """What staff see of a case: a neutral structure the desk's channel renders."""

    case_id: str
    state: str
    channel: str
    customer: str
    reason: str
    frustration: float | None
    owner: str | None
    last_messages: tuple[tuple[str, str], ...]
    """(author, text) of the conversation's latest messages, oldest first."""
    suggestion: str | None = None
    question: str | None = None
    """What the customer asked last before the case opened (a sentence that asks), if anything."""
    answered: str | None = None
    """The bot's last answer (a reply citing the help centre) before the case opened, as it was
    sent (markdown); None when it had answered nothing."""
    summary: str | None = None
    """The model's summary of the case for staff (with an LLM configured), else None."""
    facts: tuple[tuple[str, str], ...] = ()
    """(key, value) the customer told the bot about themselves: name, email, plan, order…"""
    for_staff: tuple[str | None, ...] = ()
    """Beside each of `last_messages`, what staff read of it in their language: a customer
    message's translation, a staff reply's original (it was sent translated); None: nothing."""
    language: str | None = None
    """The language the customer writes in (ISO 639-1), when known."""


@runtime_checkable
class DeskPort(Protocol):
    """What a staff desk needs of a chat platform."""

    desk_ready: bool
    """Configured to hold the desk (Slack: a staff channel is set)."""
    note_prefix: str
    """A staff message in a case's thread starting with it stays among staff."""

    def case_url(self, desk_ref: str) -> str | None:
        """A link for people to the case's thread, built without asking the platform; None
        when there is none."""
        ...

    async def post_case(self, card: CaseCard) -> str:
        """Post a new case card; return the reference of its thread."""
        ...

    async def find_case(self, case_id: str, *, since: datetime) -> str | None:
        """The thread reference of the case's card if it was posted since `since` (a process
        may have died after posting it, before recording where); None when it is not there."""
        ...

    async def update_case(self, desk_ref: str, card: CaseCard) -> None: ...

    async def post_to_case(self, desk_ref: str, text: str, *, key: str | None = None) -> str:
        """Write in the case's thread; the reference of the line. `key` marks the line so
        `find_in_case` can find it."""
        ...

    async def find_in_case(self, desk_ref: str, key: str, *, since: datetime) -> str | None:
        """The reference of the line posted with `key` in the case's thread since `since`
        (an attempt that may have posted it ended unrecorded); None when it is not there."""
        ...


@runtime_checkable
class PeopleNames(Protocol):
    """A desk that can name the people who work on it — optional: what a canned reply's
    `{agent}` becomes (a desk that cannot say gets the reply's neutral stand-in)."""

    async def person_name(self, actor: str) -> str | None:
        """The name customers may read for `actor` (a desk's own person id, as staff events
        carry it); None when the platform will not say."""
        ...


@runtime_checkable
class StaffMail(Protocol):
    """A channel that can mail the staff — optional: the email channel, through the relay it
    replies through. The hub mails the team when a customer waits with nobody signed in."""

    async def mail_staff(self, to: Sequence[str], subject: str, text: str) -> None:
        """One plain-text mail to `to` from the support address; `core.channel.DeliveryError`
        when the relay refuses it or cannot be reached."""
        ...
