"""/admin on the hub's application: off (404, and the log says how to turn it on) unless
`SUPPORTHUB_ADMIN__TOKEN` is set; then the sign-in and sign-out routes, and every page and
JSON route behind `AdminAccess`."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Sequence
from functools import partial
from typing import Any

from aiohttp import web
from jinja2 import Environment

from core.admin.pages import VISITOR, Pages
from core.admin.render import SECURITY_HEADERS, environment, page
from core.ops.access import AdminAccess
from core.ops.request_guards import cross_site
from core.ops.runtime import Runtime
from core.settings import Settings

log = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
TURN_ON = "the dashboard at /admin is off: set SUPPORTHUB_ADMIN__TOKEN (environment only) to turn it on"


def install_admin(
    app: web.Application,
    settings: Settings,
    runtime: web.AppKey[Runtime],
    *,
    channels: Sequence[str],
    access: AdminAccess | None,
    case_url: Callable[[str], str | None] | None,
) -> None:
    """Add /admin to `app`; call it after the runtime's cleanup context is added, so the
    dashboard's background work stops before the runtime closes."""
    if access is None:
        log.info(TURN_ON)
        off = _Off()
        app.router.add_route("*", "/admin", off.handle)
        app.router.add_route("*", "/admin/{tail:.*}", off.handle)
        return
    log.info("the dashboard is on at /admin (sign in with SUPPORTHUB_ADMIN__TOKEN)")
    env = environment()
    pages = Pages(settings, runtime, channels=channels, env=env, case_url=case_url)
    sign_in = _SignIn(access, env)
    app.router.add_get("/admin/login", sign_in.form)
    app.router.add_post("/admin/login", sign_in.submit)
    app.router.add_post("/admin/logout", _guarded(access, sign_in.sign_out))
    app.cleanup_ctx.append(partial(_background, pages.keep_gaps_warm))
    app.on_shutdown.append(pages.close)
    for route in pages.routes():
        assert isinstance(route, web.RouteDef)
        app.router.add_route(route.method, route.path, _guarded(access, route.handler), name=route.kwargs.get("name"))


async def _background(
    work: Callable[[web.Application], Coroutine[Any, Any, None]], app: web.Application
) -> AsyncIterator[None]:
    task = asyncio.create_task(work(app), name="admin-gaps-warm-up")
    try:
        yield
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


class _Off:
    """404 for every /admin path; the first request also says in the log how to turn it on."""

    def __init__(self) -> None:
        self._told = False

    async def handle(self, request: web.Request) -> web.Response:
        if not self._told:
            self._told = True
            log.warning("%s asked for %s; %s", request.remote, request.path, TURN_ON)
        raise web.HTTPNotFound()


def _guarded(access: AdminAccess, handler: Handler) -> Handler:
    async def guarded(request: web.Request) -> web.StreamResponse:
        try:
            request[VISITOR] = await access.admit(request)
            return await handler(request)
        except web.HTTPException as answer:  # refusals and errors echo input: the pages' headers too
            answer.headers.update(SECURITY_HEADERS)
            raise

    return guarded


class _SignIn:
    def __init__(self, access: AdminAccess, env: Environment) -> None:
        self._access = access
        self._env = env

    async def form(self, request: web.Request) -> web.Response:
        return page(self._env, "login.html", failed=False)

    async def submit(self, request: web.Request) -> web.Response:
        """The right token signs in, however many wrong ones this address sent before; a wrong
        one gets 429 while the address is past its failures, else 401 (and is counted). A form
        posted from another site's page is refused first (login CSRF), and the form is never
        larger than the app's `FORM_BYTES`."""
        if cross_site(request):
            raise web.HTTPForbidden(text="Sign in from the dashboard's own page.\n")
        form = await request.post()
        given = form.get("token")
        if not isinstance(given, str) or not self._access.token_matches(given.strip()):
            if (wait := await self._access.throttled(request)) is not None:
                raise wait
            await self._access.failed(request)
            return page(self._env, "login.html", status=401, failed=True)
        response = web.HTTPSeeOther(location="/admin")
        self._access.sign_in(response, request)
        log.info("admin: signed in from %s", request.remote)
        raise response

    async def sign_out(self, request: web.Request) -> web.Response:
        visitor = request[VISITOR]
        form = await request.post()
        if (refusal := AdminAccess.csrf_refusal(visitor, form.get("csrf"))) is not None:
            raise refusal
        response = web.HTTPSeeOther(location="/admin/login")
        AdminAccess.sign_out(response)
        raise response
