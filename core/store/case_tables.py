"""The tables of a person taking over: cases, their events, the teams they are routed to, the
canned replies staff send and the cases' satisfaction ratings. Handoff writes them (only `core.handoff.cases` moves a case); they
sit here, on the store's `Base` (one schema, one migration history) and on its floor of the
house, so the stores that show a conversation can join its case."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Boolean, Float, ForeignKey, Index, Integer, SmallInteger, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from core.store.db import Base, new_id, state_type, utcnow


class CaseState(StrEnum):
    """Where a case is; `core.handoff.cases` holds the moves between them."""

    WAITING = "waiting"
    HUMAN = "human"
    RETURNED = "returned"
    CLOSED = "closed"


class Case(Base):
    """An escalation: the conversation is out of the bot's hands until a person gives it back.

    States: waiting (for a person) → human (claimed) → returned (to the bot) | closed.
    """

    __tablename__ = "cases"
    __table_args__ = (Index("ix_cases_open", "state", "opened_at"),)
    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    conversation_id: Mapped[str] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"), index=True)
    state: Mapped[CaseState] = mapped_column(state_type(CaseState))
    rule: Mapped[str] = mapped_column(String(40))
    reason: Mapped[str] = mapped_column(Text)
    frustration: Mapped[float | None] = mapped_column(Float)
    suggestion: Mapped[str | None] = mapped_column(Text)
    """The LLM's draft answer for the person taking over (only with an LLM configured)."""
    summary: Mapped[str | None] = mapped_column(Text)
    """The LLM's summary of the case for the person taking over (only with an LLM configured;
    the card's own summary is extractive)."""
    language: Mapped[str | None] = mapped_column(String(8))
    """The language the customer needs (ISO 639-1), as the conversation knew it when opened."""
    owner: Mapped[str | None] = mapped_column(String(255))
    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id", ondelete="SET NULL"), index=True)
    """The team whose queue holds the case (`core.handoff.routing`); None: everyone's queue."""
    desk_ref: Mapped[str | None] = mapped_column(String(64), index=True)
    """Where the case lives on the staff desk (the Slack thread's ts); None until posted."""
    reminded_at: Mapped[datetime | None] = mapped_column()
    """When the desk was reminded that nobody had replied within `handoff.sla_minutes`."""
    opened_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column()


class CaseEventKind(StrEnum):
    MOVE = "move"
    """The case changed state (opened, claimed, resolved, returned)."""
    NOTE = "note"
    """An internal note among staff: `note` is its text; the customer never sees it."""
    ASSIGN = "assign"
    """The case was given to a colleague: `note` names them."""
    TOLD = "told"
    """The staff were mailed that the customer waits (`core.handoff.waiting`): `note` names who."""
    ROUTE = "route"
    """The case went to a team's queue and maybe to a member (`core.handoff.routing`): `note` says
    which, and why nobody when nobody was free."""
    SUGGESTED = "suggested"
    """A reply was sent from a suggested reply (`core.handoff.copilot_uses`): `note` says which
    and how much of it was kept; the row of `CopilotUse` holds the same, to query."""


class CaseEvent(Base):
    """One thing that happened to a case: a change of state, an internal note, an
    assignment; who, when, from what to what."""

    __tablename__ = "case_events"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    from_state: Mapped[CaseState | None] = mapped_column(state_type(CaseState))
    to_state: Mapped[CaseState] = mapped_column(state_type(CaseState))
    actor: Mapped[str] = mapped_column(String(255))
    note: Mapped[str | None] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(String(16), default=CaseEventKind.MOVE, server_default=CaseEventKind.MOVE.value)
    at: Mapped[datetime] = mapped_column(default=utcnow)

    @classmethod
    def beside(
        cls, case: Case, *, kind: CaseEventKind, actor: str, note: str | None, at: datetime | None = None
    ) -> CaseEvent:
        """An event that leaves the case where it is: a note, an assignment, a mail, routing."""
        return cls(
            case_id=case.id,
            from_state=case.state,
            to_state=case.state,
            actor=actor,
            note=note,
            kind=kind,
            at=at or utcnow(),
        )


class Team(Base):
    """A group of staff with a queue of its own (`supporthub staff team`, /admin/staff). A new case
    goes to the team whose rule fits it best (`core.handoff.routing`); with `round_robin`, to one of
    its members in turn among those signed in and under `capacity` open cases, inside its hours."""

    __tablename__ = "teams"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(40), unique=True)
    """A slug, [a-z0-9-]{1,40}, as canned replies' names."""
    channels: Mapped[str] = mapped_column(String(400), default="")
    """The channels whose cases it takes, comma-separated ("email,whatsapp"); empty: any."""
    languages: Mapped[str] = mapped_column(String(400), default="")
    """The customer languages it takes (ISO 639-1, comma-separated); empty: any."""
    topics: Mapped[str] = mapped_column(String(1000), default="")
    """Words matched against the hand-over's rule and reason and the help centre sections the bot
    cited, comma-separated ("billing,refund"); empty: any."""
    round_robin: Mapped[bool] = mapped_column(Boolean, default=False)
    capacity: Mapped[int] = mapped_column(Integer, default=5)
    """The open cases a member may own before round robin passes them over."""
    hours: Mapped[str] = mapped_column(String(1000), default="")
    """When round robin gives members cases, as `weekdays=09:00-17:00; timezone=Europe/Berlin`
    (`core.handoff.teams.hours_of`); empty: whenever a member is signed in."""
    last_assigned: Mapped[str | None] = mapped_column(String(32))
    """The staff id round robin gave the last case to: the next goes to whoever follows them."""
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class TeamMember(Base):
    __tablename__ = "team_members"
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"), primary_key=True)
    staff_id: Mapped[str] = mapped_column(ForeignKey("staff.id", ondelete="CASCADE"), primary_key=True, index=True)


class CannedReply(Base):
    """A reply staff keep under a short name and send into a case (`!reply refund-policy` in
    its Slack thread, or from the inbox): markdown with placeholders, filled for the customer
    and the person sending it (`core.handoff.canned`). Edited in /admin/replies."""

    __tablename__ = "canned_replies"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(40), unique=True)
    """A slug, [a-z0-9-]{1,40}: what staff type after `!reply`."""
    body: Mapped[str] = mapped_column(Text)
    updated_by: Mapped[str] = mapped_column(String(255))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class CopilotUse(Base):
    """A staff reply that started from one of the case page's suggested replies
    (`core.handoff.copilot`): which suggestion, and how much of it was sent unchanged — what the
    learning loop reads (`core.handoff.copilot_uses.uses_of_case`)."""

    __tablename__ = "copilot_uses"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("messages.id", ondelete="CASCADE"), unique=True)
    """The staff message it became."""
    kind: Mapped[str] = mapped_column(String(16))
    """`core.handoff.copilot.SuggestionKind`: help centre, team answer, canned reply, the model's draft."""
    source: Mapped[str] = mapped_column(String(500))
    """The knowledge document's source, the canned reply's name, or "model"."""
    title: Mapped[str] = mapped_column(String(500))
    """What staff read it under ("Reset your password › Steps")."""
    section: Mapped[str] = mapped_column(String(500), default="")
    """A passage's section in its document ("Steps"), what a question is linked to; else empty."""
    kept: Mapped[float] = mapped_column(Float)
    """How alike the sent text and the suggestion are, 0 to 1 (1: sent as suggested)."""
    actor: Mapped[str] = mapped_column(String(255))
    at: Mapped[datetime] = mapped_column(default=utcnow)


class CaseRating(Base):
    """The satisfaction survey of a resolved case (`handoff.survey`): asked once, in the
    customer's own channel, right after they are told the case is resolved; answered at most
    once, with a score from 1 (bad) to 5 (great); credited to the person who had the case."""

    __tablename__ = "case_ratings"
    __table_args__ = (
        Index("ix_case_ratings_asked_at", "asked_at"),
        Index("ix_case_ratings_answered_at", "answered_at"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), unique=True)
    conversation_id: Mapped[str] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"), index=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("messages.id", ondelete="CASCADE"), unique=True)
    """The question as the customer got it (the widget's and Slack's buttons name it)."""
    staff: Mapped[str] = mapped_column(String(255))
    """Who the rating is for: the case's owner, else the person who resolved it."""
    channel: Mapped[str] = mapped_column(String(40))
    score: Mapped[int | None] = mapped_column(SmallInteger)
    comment: Mapped[str | None] = mapped_column(Text)
    asked_at: Mapped[datetime] = mapped_column(default=utcnow)
    answered_at: Mapped[datetime | None] = mapped_column()
