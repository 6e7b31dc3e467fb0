"""/admin/staff: who is on the staff, inviting and removing people, the teams cases are routed
to (`core.handoff.teams`: made or changed, members put on and taken off, removed), and the audit
trail of what everyone did. An admin's page: an agent gets 403 (as for re-indexing and retrying
deliveries, `Visitor.require_admin`).

An invitation's link is shown once, on the page the invitation's POST answers (not in a URL
the browser keeps in its history), as `supporthub staff invite` prints it once.

Inviting and removing are not written with `Dashboard.act`: they answer every caller, a script
too, with this page (a refusal as well), and the store writes their audit lines itself
(`staff.invite`, `staff.remove`), as it does for the command line."""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import partial
from typing import Any

from aiohttp import web
from jinja2 import Environment
from sqlalchemy.orm import Session

from core.admin.views.dashboard import Dashboard
from core.handoff import teams
from core.handoff.teams import TeamError
from core.ops.access import VISITOR, Visitor
from core.ops.runtime import Runtime
from core.settings import Settings
from core.store import staff
from core.store.db import StaffRole
from core.store.staff import invitation_link

log = logging.getLogger(__name__)


class StaffPage:
    def __init__(self, settings: Settings, runtime: web.AppKey[Runtime], *, env: Environment) -> None:
        self._settings = settings
        self._dashboard = Dashboard(runtime, env=env)
        self._runtime = self._dashboard.runtime

    def routes(self) -> list[web.RouteDef]:
        return [
            web.get("/admin/staff", self.show),
            web.post("/admin/staff/invite", self.invite),
            web.post("/admin/staff/remove", self.remove),
            web.post("/admin/staff/team", self.save_team),
            web.post("/admin/staff/team/{name}/join", self.join_team),
            web.post("/admin/staff/team/{name}/leave", self.leave_team),
            web.post("/admin/staff/team/{name}/remove", self.remove_team),
        ]

    async def _render(self, request: web.Request, *, status: int = 200, **context: Any) -> web.Response:
        runtime = self._runtime(request)
        people = await runtime.transactions.run(staff.people)
        done = await runtime.transactions.run(staff.recent_actions)
        found = await runtime.transactions.run(teams.teams)
        context = {"link": None, "invited": None, "problem": None, **context}
        return self._dashboard.page(
            request,
            "staff.html",
            status=status,
            people=people,
            done=done,
            roles=list(StaffRole),
            teams=found,
            **context,
        )

    async def show(self, request: web.Request) -> web.Response:
        request[VISITOR].require_admin("manage the staff")
        return await self._render(request)

    async def invite(self, request: web.Request) -> web.Response:
        visitor, form = await self._dashboard.form(request, admin_only="manage the staff")
        email, name, role = (str(form.get(field, "")) for field in ("email", "name", "role"))
        if role not in {r.value for r in StaffRole}:
            return await self._render(request, status=400, problem="the role is admin or agent")
        try:
            token = await self._runtime(request).transactions.run(
                partial(staff.invite, email=email, name=name[:255], role=StaffRole(role), actor=visitor.actor)
            )
        except staff.StaffError as exc:
            return await self._render(request, status=400, problem=str(exc))
        log.info("admin: %s invited %s as %s", visitor.actor, email.strip().lower(), role)
        return await self._render(request, link=invitation_link(self._settings, token), invited=email.strip().lower())

    async def remove(self, request: web.Request) -> web.Response:
        visitor, form = await self._dashboard.form(request, admin_only="manage the staff")
        email = str(form.get("email", ""))
        try:
            person = await self._runtime(request).transactions.run(
                partial(staff.remove, email=email, actor=visitor.actor)
            )
        except staff.StaffError as exc:
            return await self._render(request, status=404, problem=str(exc))
        log.info("admin: %s removed %s; their sessions ended", visitor.actor, person.email)
        self._runtime(request).hub.pulse.beat()  # their open inbox pages check their session now
        raise web.HTTPSeeOther(location="/admin/staff")

    # -- teams --------------------------------------------------------------------------------

    async def _team_change(
        self, request: web.Request, visitor: Visitor, work: Callable[[Session], object], what: str
    ) -> web.Response:
        """A change to the teams (its audit line written by `core.handoff.teams`), answered with
        this page: again with the reason (400) when refused."""
        try:
            await self._runtime(request).transactions.run(work)
        except TeamError as exc:
            return await self._render(request, status=400, problem=str(exc))
        log.info("admin: %s: %s", visitor.actor, what)
        raise web.HTTPSeeOther(location="/admin/staff#teams")

    async def save_team(self, request: web.Request) -> web.Response:
        visitor, form = await self._dashboard.form(request, admin_only="manage the teams")
        try:
            capacity = int(str(form.get("capacity", "5")) or "5")
        except ValueError:
            return await self._render(request, status=400, problem="the capacity is a whole number")
        name = str(form.get("name", ""))
        work = partial(
            teams.save_team,
            name=name,
            channels=str(form.get("channels", "")),
            languages=str(form.get("languages", "")),
            topics=str(form.get("topics", "")),
            round_robin=form.get("round_robin") == "on",
            capacity=capacity,
            hours=str(form.get("hours", "")),
            actor=visitor.actor,
        )
        return await self._team_change(request, visitor, work, f"saved the team {name}")

    async def join_team(self, request: web.Request) -> web.Response:
        visitor, form = await self._dashboard.form(request, admin_only="manage the teams")
        name, email = request.match_info["name"], str(form.get("email", ""))
        work = partial(teams.join_team, name=name, email=email, actor=visitor.actor)
        return await self._team_change(request, visitor, work, f"put {email} on the team {name}")

    async def leave_team(self, request: web.Request) -> web.Response:
        visitor, form = await self._dashboard.form(request, admin_only="manage the teams")
        name, email = request.match_info["name"], str(form.get("email", ""))
        work = partial(teams.leave_team, name=name, email=email, actor=visitor.actor)
        return await self._team_change(request, visitor, work, f"took {email} off the team {name}")

    async def remove_team(self, request: web.Request) -> web.Response:
        visitor, _ = await self._dashboard.form(request, admin_only="manage the teams")
        name = request.match_info["name"]
        work = partial(teams.remove_team, name=name, actor=visitor.actor)
        return await self._team_change(request, visitor, work, f"removed the team {name}")
