"""Which team's queue a new case goes to and, when the team asks for it, which member gets it.

The case goes to the team whose rule fits it (`core.handoff.teams`): every list the team fills in
must hold the case's channel, its customer's language, or a topic found in the hand-over's rule
and reason or in the titles and sections of what the bot cited in the conversation (a word
that starts with it: "refund" finds "Refunds"). Of the teams
that fit, the one whose rule says most (most lists filled in) wins, then the oldest. A case no
team fits stays in everyone's queue.

With round robin on, the case goes to the member after the one who got the team's last case,
skipping whoever is not signed in (no unexpired session) or already owns `capacity` open cases;
outside the team's hours, or when every member is skipped, it stays unassigned in the team's
queue. The team's row is locked while choosing (skipping nobody on SQLite, which writes one
transaction at a time), so two processes opening cases at once do not give both to one person
or pass over capacity.

What was decided is the case's `route` event: which team and why, who got it, or why nobody did.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.handoff.hours import BusinessHours
from core.handoff.teams import hours_of, split
from core.invariants import present
from core.messages import Author
from core.store.case_tables import Case, CaseEvent, CaseEventKind, CaseState, Team, TeamMember
from core.store.db import Conversation, Message, StaffMember, StaffSession

ACTOR = "routing"
"""Who the `route` event says acted."""
CITED_REPLIES = 10
"""The bot's latest replies whose citations name the case's topics."""
OWNING = (CaseState.WAITING, CaseState.HUMAN)


@dataclass(frozen=True, slots=True)
class Routed:
    team: str | None
    owner: str | None
    note: str


@dataclass(frozen=True, slots=True)
class _Candidate:
    id: str
    name: str
    signed_in: bool
    owns: int


def route_case(session: Session, *, case_id: str, now: datetime) -> Routed | None:
    """Route the case just opened; None when there are no teams (nothing is recorded then)."""
    teams = session.execute(select(Team).order_by(Team.id)).scalars().all()
    if not teams:
        return None
    case = session.get_one(Case, case_id)
    channel = session.execute(select(Conversation.channel).where(Conversation.id == case.conversation_id)).scalar_one()
    about = _topics_text(session, case)
    fitting = [(len(why), team, why) for team in teams if (why := _fits(team, channel, case.language, about))]
    if not fitting:
        return _record(session, case, Routed(None, None, "no team's rule fits: everyone's queue"), now)
    _, best, why = max(fitting, key=lambda found: (found[0], -found[1].id))
    team = session.get_one(Team, best.id, with_for_update=True)
    case.team_id = team.id
    routed = f"to the team {team.name} ({', '.join(why)})"
    if not team.round_robin:
        return _record(session, case, Routed(team.name, None, routed), now)
    owner, nobody = _next_member(session, team, now)
    if owner is None:
        return _record(session, case, Routed(team.name, None, f"{routed}; nobody assigned: {nobody}"), now)
    case.owner = owner.name
    team.last_assigned = owner.id
    note = f"{routed}; assigned to {owner.name} by round robin ({owner.owns + 1} of {team.capacity} open cases)"
    return _record(session, case, Routed(team.name, owner.name, note), now)


def _fits(team: Team, channel: str, language: str | None, about: str) -> list[str]:
    """What of the team's rule the case meets, one entry per list filled in; [] when it fails
    one; ["any case"] for a team with no rule."""
    why = []
    if channels := split(team.channels):
        if channel.lower() not in channels:
            return []
        why.append(f"channel {channel}")
    if languages := split(team.languages):
        if language is None or language.lower() not in languages:
            return []
        why.append(f"language {language}")
    if topics := split(team.topics):
        found = [topic for topic in topics if re.search(rf"(?<!\w){re.escape(topic)}", about)]
        if not found:
            return []
        why.append(f"topic {', '.join(found)}")
    return why or ["any case"]


def _topics_text(session: Session, case: Case) -> str:
    """What a team's topics are looked for in, lower-case: the hand-over's rule and reason, and
    the titles and sections the bot's latest replies cited."""
    cited = session.execute(
        select(Message.citations)
        .where(Message.conversation_id == case.conversation_id, Message.author == Author.BOT.value)
        .order_by(Message.id.desc())
        .limit(CITED_REPLIES)
    ).scalars()
    parts = [case.rule.replace("_", " "), case.reason, *_cited_names(cited)]
    return "\n".join(parts).lower()


def _cited_names(citations: Iterable[Sequence[object]]) -> list[str]:
    names = []
    for cited in citations:
        for citation in cited:
            if isinstance(citation, dict):
                names += [str(citation.get("title", "")), str(citation.get("section", ""))]
    return names


def _next_member(session: Session, team: Team, now: datetime) -> tuple[_Candidate | None, str]:
    """Who round robin gives the case to, or None and why nobody."""
    if team.hours and not BusinessHours.of(
        present(hours_of(team.hours), "a team's hours, checked when saved,")
    ).is_open(now):
        return None, "outside the team's hours"
    members = _candidates(session, team, now)
    if not members:
        return None, "the team has no members who joined"
    after = next((index for index, member in enumerate(members) if member.id == team.last_assigned), -1)
    in_turn = members[after + 1 :] + members[: after + 1]
    for member in in_turn:
        if member.signed_in and member.owns < team.capacity:
            return member, ""
    return None, ", ".join(
        f"{member.name} not signed in" if not member.signed_in else f"{member.name} at capacity ({member.owns})"
        for member in members
    )


def _candidates(session: Session, team: Team, now: datetime) -> list[_Candidate]:
    """The team's members who joined and are not removed, by name, each with whether they are
    signed in and how many open cases they own."""
    signed_in = (
        select(StaffSession.staff_id)
        .where(StaffSession.staff_id == StaffMember.id, StaffSession.expires_at > now)
        .exists()
    )
    owns = select(func.count(Case.id)).where(Case.owner == StaffMember.name, Case.state.in_(OWNING)).scalar_subquery()
    rows = session.execute(
        select(StaffMember.id, StaffMember.name, signed_in, owns)
        .join(TeamMember, TeamMember.staff_id == StaffMember.id)
        .where(
            TeamMember.team_id == team.id,
            StaffMember.removed_at.is_(None),
            StaffMember.password_hash.is_not(None),
        )
        .order_by(StaffMember.name, StaffMember.id)
    )
    return [_Candidate(id, name, bool(signed), int(count or 0)) for id, name, signed, count in rows]


def _record(session: Session, case: Case, routed: Routed, now: datetime) -> Routed:
    session.add(CaseEvent.beside(case, kind=CaseEventKind.ROUTE, actor=ACTOR, note=routed.note, at=now))
    return routed
