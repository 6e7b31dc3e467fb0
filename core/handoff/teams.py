"""Teams of staff (`core.store.case_tables.Team`): made, changed and removed from the command line
(`supporthub staff team`) and /admin/staff, each change a line of the audit trail. Routing a new
case to one of them is `core.handoff.routing`.

A team's rule is three lists, each empty for "any": channels, customer languages, and topics
(words looked for in the hand-over's rule and reason and in the sections the bot cited). Its
hours are written as `[handoff.hours]` is, on one line: `weekdays=09:00-17:00; saturday=10:00-14:00;
timezone=Europe/Berlin` (`weekdays` stands for Monday to Friday); a team without hours of its
own takes cases whenever a member is signed in.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from pydantic import ValidationError
from pydantic_core import ErrorDetails
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from core.settings import HoursSettings
from core.store.case_tables import Case, Team, TeamMember
from core.store.db import StaffMember
from core.store.staff import StaffError, normal_email, record

NAME = re.compile(r"^[a-z0-9-]{1,40}$")
LIST_ITEM = re.compile(r"^[\w .&'/-]{1,60}$")
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday")
MAX_CAPACITY = 1000


class TeamError(ValueError):
    """A change to the teams that cannot be made, with the reason to show."""


@dataclass(frozen=True, slots=True)
class Member:
    id: str
    name: str
    email: str


@dataclass(frozen=True, slots=True)
class TeamView:
    """A team as the staff page and `supporthub staff team list` show it."""

    id: int
    name: str
    channels: tuple[str, ...]
    languages: tuple[str, ...]
    topics: tuple[str, ...]
    round_robin: bool
    capacity: int
    hours: str
    members: tuple[Member, ...]

    @property
    def rule(self) -> str:
        """ "channel email · language de, fr", or "any case"."""
        parts = [
            f"{label} {', '.join(values)}"
            for label, values in (("channel", self.channels), ("language", self.languages), ("topic", self.topics))
            if values
        ]
        return " · ".join(parts) or "any case"


def _listed(text: str, *, what: str) -> tuple[str, ...]:
    """A comma-separated list as stored: trimmed, lower-case, no repeats; TeamError for an item
    that cannot be one."""
    found: list[str] = []
    for item in (part.strip().lower() for part in text.split(",")):
        if not item:
            continue
        if not LIST_ITEM.match(item):
            raise TeamError(f"{item!r} cannot be a {what} (letters, digits, spaces and - . & ' / only)")
        if item not in found:
            found.append(item)
    return tuple(found)


def hours_of(text: str) -> HoursSettings | None:
    """A team's hours (see the module's docstring); None when it has none. TeamError names what
    is wrong."""
    values: dict[str, object] = {}
    for part in (part.strip() for part in re.split(r"[;\n]", text)):
        if not part:
            continue
        key, equals, value = part.partition("=")
        key = key.strip().lower()
        if not equals:
            raise TeamError(f"{part!r}: write each day as day=hours, as in monday=09:00-17:00")
        for day in WEEKDAYS if key == "weekdays" else (key,):
            values[day] = value.strip()
    if not values:
        return None
    try:
        return HoursSettings.model_validate(values)
    except ValidationError as exc:
        raise TeamError("the hours: " + "; ".join(_problem(error) for error in exc.errors())) from None


def _problem(error: ErrorDetails) -> str:
    where = ".".join(str(part) for part in error["loc"])
    return f"{where}: {error['msg']}" if where else error["msg"]


def _checked(name: str) -> str:
    name = name.strip().lower()
    if not NAME.match(name):
        raise TeamError(f"{name!r} cannot be a team's name: use 1-40 of a-z, 0-9 and -")
    return name


def save_team(
    session: Session,
    *,
    name: str,
    channels: str = "",
    languages: str = "",
    topics: str = "",
    round_robin: bool = False,
    capacity: int = 5,
    hours: str = "",
    actor: str,
) -> TeamView:
    """Make the team, or change its rule, routing and hours (its members stay)."""
    name = _checked(name)
    if not 1 <= capacity <= MAX_CAPACITY:
        raise TeamError(f"the capacity is the open cases one member may own at once: 1 to {MAX_CAPACITY}")
    hours_of(hours)
    row = session.execute(select(Team).where(Team.name == name)).scalar_one_or_none()
    if row is None:
        row = Team(name=name)
        session.add(row)
    row.channels = ",".join(_listed(channels, what="channel"))
    row.languages = ",".join(_listed(languages, what="language"))
    row.topics = ",".join(_listed(topics, what="topic"))
    row.round_robin = round_robin
    row.capacity = capacity
    row.hours = "; ".join(part.strip() for part in re.split(r"[;\n]", hours) if part.strip())
    session.flush()
    record(session, actor=actor, staff_id=None, action="save team", target=name)
    return _one(session, row)


def remove_team(session: Session, *, name: str, actor: str) -> None:
    """Remove the team: its cases go back to everyone's queue."""
    row = _team(session, name)
    session.delete(row)
    record(session, actor=actor, staff_id=None, action="remove team", target=row.name)


def join_team(session: Session, *, name: str, email: str, actor: str) -> TeamView:
    row, person = _team(session, name), _person(session, email)
    if session.get(TeamMember, (row.id, person.id)) is None:
        session.add(TeamMember(team_id=row.id, staff_id=person.id))
        session.flush()
    record(session, actor=actor, staff_id=None, action=f"add to team {row.name}", target=person.email)
    return _one(session, row)


def leave_team(session: Session, *, name: str, email: str, actor: str) -> TeamView:
    row, person = _team(session, name), _person(session, email)
    session.execute(delete(TeamMember).where(TeamMember.team_id == row.id, TeamMember.staff_id == person.id))
    record(session, actor=actor, staff_id=None, action=f"take off team {row.name}", target=person.email)
    return _one(session, row)


def teams(session: Session) -> list[TeamView]:
    """Every team, by name, with its members (removed people left out)."""
    rows = session.execute(select(Team).order_by(Team.name)).scalars().all()
    members = _members(session)
    return [_view(row, members.get(row.id, ())) for row in rows]


def team_names(session: Session, *, staff_id: str | None) -> tuple[list[str], frozenset[str]]:
    """Every team's name, and those `staff_id` is a member of."""
    every = list(session.execute(select(Team.name).order_by(Team.name)).scalars())
    if staff_id is None:
        return every, frozenset()
    mine = session.execute(
        select(Team.name).join(TeamMember, TeamMember.team_id == Team.id).where(TeamMember.staff_id == staff_id)
    ).scalars()
    return every, frozenset(mine)


def case_team(session: Session, *, case_id: str) -> str | None:
    """The name of the team whose queue holds the case; None for everyone's (or no such case)."""
    return session.execute(
        select(Team.name).join(Case, Case.team_id == Team.id).where(Case.id == case_id)
    ).scalar_one_or_none()


def _team(session: Session, name: str) -> Team:
    row = session.execute(select(Team).where(Team.name == name.strip().lower())).scalar_one_or_none()
    if row is None:
        raise TeamError(f"there is no team {name.strip()!r}")
    return row


def _person(session: Session, email: str) -> StaffMember:
    try:
        email = normal_email(email)
    except StaffError as exc:
        raise TeamError(str(exc)) from None
    row = session.execute(select(StaffMember).where(StaffMember.email == email)).scalar_one_or_none()
    if row is None or row.removed_at is not None:
        raise TeamError(f"nobody on the staff has the email {email}")
    return row


def _members(session: Session, team_id: int | None = None) -> dict[int, tuple[Member, ...]]:
    query = (
        select(TeamMember.team_id, StaffMember.id, StaffMember.name, StaffMember.email)
        .join(StaffMember, StaffMember.id == TeamMember.staff_id)
        .where(StaffMember.removed_at.is_(None))
        .order_by(StaffMember.name, StaffMember.email)
    )
    if team_id is not None:
        query = query.where(TeamMember.team_id == team_id)
    found: dict[int, list[Member]] = {}
    for team, *person in session.execute(query):
        found.setdefault(team, []).append(Member(*person))
    return {team: tuple(people) for team, people in found.items()}


def _one(session: Session, row: Team) -> TeamView:
    return _view(row, _members(session, row.id).get(row.id, ()))


def _view(row: Team, members: tuple[Member, ...]) -> TeamView:
    return TeamView(
        row.id,
        row.name,
        split(row.channels),
        split(row.languages),
        split(row.topics),
        row.round_robin,
        row.capacity,
        row.hours,
        members,
    )


def split(stored: str) -> tuple[str, ...]:
    """A stored comma-separated list."""
    return tuple(item for item in stored.split(",") if item)
