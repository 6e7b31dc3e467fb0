"""Mail the staff when a customer waits for a person and nobody is there to see it.

A case still waiting for a person (`CaseState.WAITING`: nobody claimed it)
`handoff.mail_waiting_after_minutes` after it opened is mailed about once: a case in a team's
queue (`core.handoff.routing`) to the team's members while none of them is signed in (no unexpired
session of an active account), any other case to every active member of the staff while nobody
is signed in:
the mail is recorded on the case as an event of kind `told` naming who was mailed, in the
transaction that picks the case (skip-locked, so two processes running the job mail it once),
and a mail the relay refused takes its record back, so the next run tries again. More messages
from the same customer send nothing more. The inbox's case page and the Slack desk's SLA
reminder name who was told.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial

from sqlalchemy import delete, exists, or_, select
from sqlalchemy.orm import Session
from sqlalchemy.sql import ColumnElement

from core.channel import DeliveryError
from core.desk_port import StaffMail
from core.handoff.desk_store import queued_questions
from core.store.case_tables import Case, CaseEvent, CaseEventKind, CaseState, TeamMember
from core.store.db import Conversation, StaffMember, StaffSession
from core.store.transactions import Transactions

log = logging.getLogger(__name__)

ACTOR = "supporthub"
"""Who the `told` event says acted."""
MAILS_PER_CHECK = 10
"""The most cases one check mails about (oldest first): a backlog found when the setting is first
turned on reaches the staff over a few checks, not as a flood."""


@dataclass(frozen=True, slots=True)
class Waiting:
    """A case to mail about, and what the mail says of it."""

    case_id: str
    event_id: int
    channel: str
    opened_at: datetime
    question: str | None
    to: tuple[str, ...]


def told_by_mail(session: Session, *, case_id: str) -> str | None:
    """Who was mailed about the case (the `told` event's note), if anyone."""
    return session.execute(
        select(CaseEvent.note)
        .where(CaseEvent.case_id == case_id, CaseEvent.kind == CaseEventKind.TOLD.value)
        .order_by(CaseEvent.id.desc())
        .limit(1)
    ).scalar_one_or_none()


@dataclass(frozen=True, slots=True)
class _Staff:
    """Who may be mailed: everyone who joined, whether anyone of them is signed in, and per team
    with active members, theirs (`to_tell` for a team none of whom is signed in)."""

    everyone: tuple[str, ...]
    anyone_in: bool
    teams_out: dict[int, tuple[str, ...]]
    teamed: frozenset[int]


def _staff(session: Session, now: datetime) -> _Staff:
    is_in = exists().where(StaffSession.staff_id == StaffMember.id, StaffSession.expires_at > now)
    people = session.execute(
        select(StaffMember.id, StaffMember.email, is_in)
        .where(StaffMember.removed_at.is_(None), StaffMember.password_hash.is_not(None))
        .order_by(StaffMember.email)
    ).all()
    email_of = {staff_id: email for staff_id, email, _ in people}
    present = {staff_id for staff_id, _, signed_in in people if signed_in}
    members: dict[int, list[str]] = {}
    for team_id, staff_id in session.execute(select(TeamMember.team_id, TeamMember.staff_id)):
        if staff_id in email_of:
            members.setdefault(team_id, []).append(staff_id)
    return _Staff(
        tuple(email_of.values()),
        bool(present),
        {
            team_id: tuple(sorted(email_of[i] for i in ids))
            for team_id, ids in members.items()
            if not present.intersection(ids)
        },
        frozenset(members),
    )


def to_tell(session: Session, *, now: datetime, after: timedelta) -> list[Waiting]:
    """The cases to mail about now, each recorded as told: a team's case to its members while
    none of them is signed in; any other case to the whole staff while nobody is signed in."""
    staff = _staff(session, now)
    if not staff.everyone:
        return []
    whom: ColumnElement[bool] = Case.team_id.in_(list(staff.teams_out))
    if not staff.anyone_in:
        whom = or_(whom, Case.team_id.is_(None), Case.team_id.not_in(list(staff.teamed)))
    told_before = exists().where(CaseEvent.case_id == Case.id, CaseEvent.kind == CaseEventKind.TOLD.value)
    cases = session.execute(
        select(Case, Conversation.channel)
        .join(Conversation, Conversation.id == Case.conversation_id)
        .where(Case.state == CaseState.WAITING, Case.opened_at <= now - after, ~told_before, whom)
        .order_by(Case.opened_at)
        .limit(MAILS_PER_CHECK)
        .with_for_update(skip_locked=True, of=Case)
    ).all()
    asked = queued_questions(session, [case.id for case, _ in cases])
    waiting = []
    for case, channel in cases:
        team = staff.teams_out.get(case.team_id, staff.everyone) if case.team_id is not None else staff.everyone
        event = CaseEvent.beside(case, kind=CaseEventKind.TOLD, actor=ACTOR, note=", ".join(team), at=now)
        session.add(event)
        session.flush()
        question = asked.get(case.id)
        waiting.append(Waiting(case.id, event.id, channel, case.opened_at, question.text if question else None, team))
    return waiting


def untold(session: Session, *, event_id: int) -> None:
    """Take back a `told` record whose mail did not go: the next run tries again."""
    session.execute(delete(CaseEvent).where(CaseEvent.id == event_id))


class WaitingMail:
    """The job that mails the staff about waiting cases (`to_tell`), through a channel that can
    (`StaffMail`: the email channel)."""

    def __init__(
        self, transactions: Transactions, mail: StaffMail, *, after: timedelta, case_url: Callable[[str], str]
    ) -> None:
        self._run = transactions.run
        self._mail = mail
        self._after = after
        self._case_url = case_url

    async def tell(self, *, now: datetime | None = None) -> int:
        """Mail about each case that waits past the threshold with nobody signed in; how many."""
        now = now or datetime.now(UTC)
        mailed = 0
        for case in await self._run(partial(to_tell, now=now, after=self._after)):
            try:
                await self._mail.mail_staff(case.to, *self._mail_of(case, now))
            except DeliveryError as exc:
                log.warning(
                    "desk: the staff could not be mailed about case %s (tried again next time): %s", case.case_id, exc
                )
                await self._run(partial(untold, event_id=case.event_id))
                continue
            mailed += 1
        return mailed

    def _mail_of(self, case: Waiting, now: datetime) -> tuple[str, str]:
        minutes = int((now - case.opened_at).total_seconds() // 60)
        subject = f"A customer has waited {minutes} minutes for a person ({case.channel})"
        asked = f"They asked: {case.question}\n\n" if case.question else ""
        text = (
            f"A customer on {case.channel} has waited for a person since {case.opened_at:%Y-%m-%d %H:%M} UTC, "
            "and nobody on the staff is signed in.\n\n"
            f"{asked}Open the case: {self._case_url(case.case_id)}\n\n"
            f"Sent once for this case, to {', '.join(case.to)}.\n"
        )
        return subject, text
