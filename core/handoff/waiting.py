"""Mail the staff when a customer waits for a person and nobody is there to see it.

A case still waiting for a person (`CaseState.WAITING`: nobody claimed it)
`handoff.mail_waiting_after_minutes` after it opened, while no one on the staff is signed in (no
unexpired session of an active account), is mailed to every active member of the staff, once:
the mail is recorded on the case as an event of kind `told` naming who was mailed, in the
transaction that picks the case (skip-locked, so two processes running the job mail it once),
and a mail the relay refused takes its record back, so the next run tries again. More messages
from the same customer send nothing more. The inbox's case page and the Slack desk's SLA
reminder name who was told.

Before there are teams (issue 60's routing), "the staff" is everyone with an account.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial

from sqlalchemy import delete, exists, select
from sqlalchemy.orm import Session

from core.channel import DeliveryError
from core.desk_port import StaffMail
from core.handoff.desk_store import queued_questions
from core.store.case_tables import Case, CaseEvent, CaseEventKind, CaseState
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


def to_tell(session: Session, *, now: datetime, after: timedelta) -> list[Waiting]:
    """The cases to mail about now, each recorded as told; none while someone is signed in."""
    signed_in = session.execute(
        select(
            exists()
            .where(StaffSession.staff_id == StaffMember.id, StaffSession.expires_at > now)
            .where(StaffMember.removed_at.is_(None))
        )
    ).scalar_one()
    if signed_in:
        return []
    team = tuple(
        session.execute(
            select(StaffMember.email)
            .where(StaffMember.removed_at.is_(None), StaffMember.password_hash.is_not(None))
            .order_by(StaffMember.email)
        ).scalars()
    )
    if not team:
        return []
    told_before = exists().where(CaseEvent.case_id == Case.id, CaseEvent.kind == CaseEventKind.TOLD.value)
    cases = session.execute(
        select(Case, Conversation.channel)
        .join(Conversation, Conversation.id == Case.conversation_id)
        .where(Case.state == CaseState.WAITING, Case.opened_at <= now - after, ~told_before)
        .order_by(Case.opened_at)
        .limit(MAILS_PER_CHECK)
        .with_for_update(skip_locked=True, of=Case)
    ).all()
    asked = queued_questions(session, [case.id for case, _ in cases])
    waiting = []
    for case, channel in cases:
        event = CaseEvent(
            case_id=case.id,
            from_state=case.state,
            to_state=case.state,
            actor=ACTOR,
            note=", ".join(team),
            kind=CaseEventKind.TOLD,
            at=now,
        )
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
