"""Whose queues a visitor sees (issue 60's teams): an admin every queue, or the one team they pick
(`?team=billing`); an agent their teams' queues and everyone's (cases no team's rule fits).
Without teams every visitor sees every case, as before there were any."""

from __future__ import annotations

from functools import partial

from aiohttp import web
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.admin.queries.operations import TeamScope
from core.ops.access import VISITOR, Visitor
from core.ops.runtime import Runtime
from core.store.case_tables import Case, Team, TeamMember


def _names(session: Session, *, staff_id: str | None) -> tuple[list[str], frozenset[str]]:
    """Every team's name, and those `staff_id` is a member of."""
    every = list(session.execute(select(Team.name).order_by(Team.name)).scalars())
    if staff_id is None:
        return every, frozenset()
    mine = session.execute(
        select(Team.name).join(TeamMember, TeamMember.team_id == Team.id).where(TeamMember.staff_id == staff_id)
    ).scalars()
    return every, frozenset(mine)


async def scope_of(request: web.Request, runtime: Runtime) -> tuple[TeamScope | None, list[str]]:
    """The visitor's queues (None: all of them) and every team's name, for the page's picker;
    400 for `?team=` naming no team, 403 for an agent naming one not theirs."""
    visitor: Visitor = request[VISITOR]
    every, mine = await runtime.transactions.run(partial(_names, staff_id=visitor.staff_id))
    wanted = request.query.get("team", "").strip().lower()
    if wanted and wanted not in every:
        raise web.HTTPBadRequest(text=f"there is no team {wanted!r}\n")
    if wanted:
        if not visitor.is_admin and wanted not in mine:
            raise web.HTTPForbidden(text=f"Only the team {wanted}'s members and admins see its queue.\n")
        return TeamScope(frozenset({wanted}), unteamed=False), every
    if visitor.is_admin or not every:
        return None, every
    return TeamScope(mine), every


def team_of_case(session: Session, *, case_id: str) -> str | None:
    """The name of the team whose queue holds the case; None for everyone's (or no such case)."""
    return session.execute(
        select(Team.name).join(Case, Case.team_id == Team.id).where(Case.id == case_id)
    ).scalar_one_or_none()


def require_in_scope(scope: TeamScope | None, team: str | None) -> None:
    """403 for a case in a queue the visitor does not see."""
    if scope is not None and not scope.allows(team):
        raise web.HTTPForbidden(text=f"This case is in the team {team}'s queue; you are not on that team.\n")
