"""The company's systems as a rehearsal sees them: every declared action's URL is pointed here
(127.0.0.1), so a rehearsal never calls the live system. Each action answers what the
rehearsal's `stand_in` gives it (200 `{}` otherwise), and each request is kept for `calls:`."""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

from aiohttp import web

from core.action_settings import ActionSettings
from core.rehearsals.script import StandInAnswer
from core.sandbox.stand_in import StandIn


class CompanyStandIn(StandIn):
    def __init__(self) -> None:
        super().__init__()
        self.answers: dict[str, StandInAnswer] = {}
        """What each action answers, for the rehearsal running now."""
        self.calls: list[tuple[str, str]] = []
        """(action, its method, URL and body) of each request, in order."""

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_route("*", "/{action}/{rest:.*}", self._called)
        return app

    async def _called(self, request: web.Request) -> web.Response:
        action = request.match_info["action"]
        body = await request.text()
        self.calls.append((action, f"{request.method} {request.path_qs} {body}".strip()))
        await self.recorded()
        answer = self.answers.get(action, StandInAnswer())
        return web.json_response(answer.json_, status=answer.status)

    def pointed_here(self, actions: ActionSettings) -> ActionSettings:
        """`actions` with each declared URL's scheme and host replaced by this stand-in's, the
        action's name first in the path; the stand-in's address is the only host allowed."""
        host = f"127.0.0.1:{self.port}"
        declared = {}
        for name, declaration in actions.declared.items():
            parts = urlsplit(declaration.url)
            url = urlunsplit(("http", host, f"/{name}{parts.path or '/'}", parts.query, ""))
            declared[name] = declaration.model_copy(update={"url": url})
        return actions.model_copy(
            update={"declared": declared, "directory": None, "allowed_hosts": [], "private_hosts": [host]}
        )
