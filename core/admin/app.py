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
from sqlalchemy.orm import Session

from core.admin.inbox.views import Inbox
from core.admin.views.pages import Pages
from core.admin.views.render import SECURITY_HEADERS, environment, page
from core.admin.views.staff import StaffPage
from core.clean_text import clean
from core.invariants import InvariantError
from core.ops import passwords
from core.ops.access import SESSION_TTL, VISITOR, AdminAccess, Visitor
from core.ops.request_guards import cross_site
from core.ops.runtime import Runtime, running
from core.settings import Settings
from core.store import staff
from core.store.transactions import Transactions

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
    sign_in = _SignIn(access, env, runtime)
    app.router.add_get("/admin/login", sign_in.form)
    app.router.add_post("/admin/login", sign_in.submit)
    app.router.add_get("/admin/invite/{token}", sign_in.invitation)
    app.router.add_post("/admin/invite/{token}", sign_in.accept)
    app.router.add_post("/admin/logout", _guarded(access, sign_in.sign_out))
    app.cleanup_ctx.append(partial(_background, pages.keep_gaps_warm))
    app.on_shutdown.append(pages.close)
    inbox = Inbox(settings, runtime, env=env)
    app.on_shutdown.append(inbox.close)
    staff_page = StaffPage(settings, runtime, env=env)
    for route in [*pages.routes(), *inbox.routes(), *staff_page.routes()]:
        if not isinstance(route, web.RouteDef):
            raise InvariantError(f"{route!r} is not a web.RouteDef (the dashboard's views declare method routes only)")
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
            request[VISITOR] = visitor = await access.admit(request)
            if request.method not in ("GET", "HEAD"):
                await _csrf_checked(request, visitor)
            return await handler(request)
        except web.HTTPException as answer:  # refusals and errors echo input: the pages' headers too
            answer.headers.update(SECURITY_HEADERS)
            raise

    return guarded


async def _csrf_checked(request: web.Request, visitor: Visitor) -> None:
    """Every state-changing request of a cookie session carries its page's CSRF value, checked
    here for every route at once (a Bearer caller has no cookie to abuse, and none to carry)."""
    form = await request.post() if visitor.csrf is not None else {}
    if (refusal := AdminAccess.csrf_refusal(visitor, form.get("csrf"))) is not None:
        raise refusal


class _SignIn:
    def __init__(self, access: AdminAccess, env: Environment, runtime: web.AppKey[Runtime]) -> None:
        self._access = access
        self._env = env
        self._runtime = runtime

    async def form(self, request: web.Request) -> web.Response:
        return page(self._env, "login.html", failed=False)

    async def invitation(self, request: web.Request) -> web.Response:
        """The page an invitation link opens: the person's name and a password to choose."""
        token = request.match_info["token"]
        person = await self._transactions(request).run(lambda session: staff.invited(session, token=token))
        if person is None:
            return page(self._env, "invite.html", status=404, person=None, problem=None)
        return page(self._env, "invite.html", person=person, problem=None)

    async def accept(self, request: web.Request) -> web.Response:
        """Set the name and password an invitation asks for, and sign the person in. The link
        itself is the credential (one-time, seven days), so the form needs no CSRF value beyond
        coming from the hub's own page."""
        if cross_site(request):
            raise web.HTTPForbidden(text="Accept the invitation from the hub's own page.\n")
        token = request.match_info["token"]
        transactions = self._transactions(request)
        person = await transactions.run(lambda session: staff.invited(session, token=token))
        if person is None:
            return page(self._env, "invite.html", status=404, person=None, problem=None)
        form = await request.post()
        name, password, again = (str(form.get(field, "")) for field in ("name", "password", "again"))
        try:
            if password != again:
                raise passwords.WeakPassword("the two passwords differ")
            stored = await self._access.hashing.hashed(password)
        except passwords.WeakPassword as exc:
            return page(self._env, "invite.html", status=422, person=person, problem=str(exc))

        def join(session: Session) -> tuple[staff.Person, str]:
            joined = staff.accept(session, token=token, name=clean(name)[:255], password_hash=stored)
            return joined, staff.open_session(session, person=joined, ttl=SESSION_TTL)[0]

        try:
            member, session_token = await transactions.run(join)
        except staff.StaffError as exc:  # used meanwhile, from another tab
            return page(self._env, "invite.html", status=409, person=None, problem=str(exc))
        log.info("admin: %s accepted their invitation and signed in", member.email)
        response = web.HTTPSeeOther(location="/admin/inbox")
        self._access.staff_signed_in(response, request, session_token)
        raise response

    def _transactions(self, request: web.Request) -> Transactions:
        return running(request, self._runtime).transactions

    async def submit(self, request: web.Request) -> web.Response:
        """The right token signs in, however many wrong ones this address sent before; a wrong
        one gets 429 while the address is past its failures, else 401 (and is counted). A form
        posted from another site's page is refused first (login CSRF), and the form is never
        larger than the app's `FORM_BYTES`."""
        if cross_site(request):
            raise web.HTTPForbidden(text="Sign in from the dashboard's own page.\n")
        form = await request.post()
        email, password = form.get("email"), form.get("password")
        if isinstance(email, str) and isinstance(password, str) and email.strip():
            token = await self._access.password_sign_in(request, email=email, password=password)
            if token is None:
                return page(self._env, "login.html", status=401, failed=True)
            response = web.HTTPSeeOther(location="/admin/inbox")
            self._access.staff_signed_in(response, request, token)
            log.info("admin: %s signed in from %s", email.strip().lower(), request.remote)
            raise response
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
        response = web.HTTPSeeOther(location="/admin/login")
        await self._access.sign_out(response, request, visitor)
        raise response
