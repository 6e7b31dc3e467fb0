"""/admin/rehearsals: the rehearsals' last run (`core.admin.queries.rehearsals`) — what it
rehearsed, each rehearsal's turns as the customer would have seen them, what failed and since
which change — and the runs before it, each at /admin/rehearsals/{id}. The same data is JSON at
/admin/api/rehearsals[/{id}], for scripts."""

from __future__ import annotations

from aiohttp import web

from core.admin.queries import rehearsals as queries
from core.admin.views.dashboard import Dashboard
from core.admin.views.render import as_json, row_number
from core.store.rehearsal_runs import KEPT_RUNS


class RehearsalPages:
    def __init__(self, *, dashboard: Dashboard, folder: str) -> None:
        """`folder`: where the team's rehearsals are (`knowledge.rehearsals`), for the empty page."""
        self._runtime, self._page = dashboard.runtime, dashboard.page
        self._folder = folder

    def routes(self) -> list[web.RouteDef]:
        return [
            web.get("/admin/rehearsals", self.last),
            web.get("/admin/rehearsals/{id}", self.one),
            web.get("/admin/api/rehearsals", self.last_json),
            web.get("/admin/api/rehearsals/{id}", self.one_json),
        ]

    async def _report(self, request: web.Request, run_id: int | None) -> queries.RunReport | None:
        async with self._runtime(request).sessionmaker() as session:
            return await queries.report(session, run_id)

    async def _one(self, request: web.Request) -> queries.RunReport:
        run_id = row_number(request.match_info["id"])
        report = None if run_id is None else await self._report(request, run_id)
        if report is None:
            raise web.HTTPNotFound(text=f"no such rehearsal run: the dashboard keeps the newest {KEPT_RUNS}\n")
        return report

    async def last(self, request: web.Request) -> web.Response:
        return self._page(request, "rehearsals.html", report=await self._report(request, None), folder=self._folder)

    async def one(self, request: web.Request) -> web.Response:
        return self._page(request, "rehearsals.html", report=await self._one(request), folder=self._folder)

    async def last_json(self, request: web.Request) -> web.Response:
        return as_json({"run": await self._report(request, None)})

    async def one_json(self, request: web.Request) -> web.Response:
        return as_json({"run": await self._one(request)})
