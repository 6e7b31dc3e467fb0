"""Whose queues a visitor sees (issue 60's teams): an admin every queue, or the one team they pick
(`?team=billing`); an agent their teams' queues and everyone's (cases no team's rule fits).
Without teams every visitor sees every case, as before there were any."""

from __future__ import annotations

from functools import partial

from aiohttp import web

from core.admin.queries.operations import TeamScope
from core.handoff.teams import case_team, team_names
from core.ops.access import VISITOR, Visitor
from core.ops.runtime import Runtime


async def scope_of(request: web.Request, runtime: Runtime) -> tuple[TeamScope | None, list[str]]:
    """The visitor's queues (None: all of them) and every team's name, for the page's picker;
    400 for `?team=` naming no team, 403 for an agent naming one not theirs."""
    visitor: Visitor = request[VISITOR]
    every, mine = await runtime.transactions.run(partial(team_names, staff_id=visitor.staff_id))
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


async def require_case_in_scope(request: web.Request, runtime: Runtime, case_id: str) -> None:
    """403 for an agent's request on a case in a queue they do not see; an admin sees every case."""
    if request[VISITOR].is_admin:
        return
    scope, _ = await scope_of(request, runtime)
    require_in_scope(scope, await runtime.transactions.run(partial(case_team, case_id=case_id)))


def require_in_scope(scope: TeamScope | None, team: str | None) -> None:
    """403 for a case in a queue the visitor does not see."""
    if scope is not None and not scope.allows(team):
        raise web.HTTPForbidden(text=f"This case is in the team {team}'s queue; you are not on that team.\n")
