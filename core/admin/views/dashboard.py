"""What every view class of the dashboard is given (`Dashboard`): the runtime, a page for the
visitor, the posted form, and `act`, the one way a staff action is written.

A staff action is a POST that changes something. Its work runs in one transaction together
with its line in the audit trail (no change without its line, no line without its change). A
refusal — an exception the action lists in its `Refusals` — changes nothing and records nothing:
a browser gets the page again with the reason and the refusal's status, a script (the Bearer
token, `wants_json`) the reason as plain text. A success is logged and wakes what follows it (the
hub, a knowledge update), then a script gets JSON and a browser a redirect (post/redirect/get).
The CSRF value was checked before any of this, for every route at once (`core.admin.app`).
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, TypeVar

from aiohttp import web
from jinja2 import Environment
from multidict import MultiDictProxy
from sqlalchemy.orm import Session

from core.admin.views.render import SECURITY_HEADERS, as_json, back, page, wants_json
from core.ops.access import VISITOR, Visitor
from core.ops.runtime import Runtime, running
from core.store import staff

T = TypeVar("T")
Form = MultiDictProxy[str | bytes | bytearray | web.FileField]
"""A posted form, as `web.Request.post` reads it."""


@dataclass(frozen=True, slots=True)
class AsText:
    """A refusal answered alike to a browser and a script: `error`, with the reason put into
    `text` — not the page again."""

    error: type[web.HTTPException]
    text: str = "{}"


Refusals = Mapping[type[Exception], type[web.HTTPException] | AsText]
"""The exceptions an action's work refuses with, and how each is answered: an HTTP error's class
gives the status of the page shown again, and the plain-text answer a script gets (a browser
too when the action has no page to show again). The most specific class listed wins, as
`except` clauses in that order would."""

NO_REFUSALS: Refusals = MappingProxyType({})

Again = Callable[[int, str], Awaitable[web.Response]]
"""The page a refused action shows again, given the refusal's status and reason."""


class Dashboard:
    def __init__(
        self, runtime: web.AppKey[Runtime], *, env: Environment, headers: Mapping[str, str] = SECURITY_HEADERS
    ) -> None:
        """`headers`: what the pages add to the security headers (the inbox: its one script)."""
        self._runtime_key = runtime
        self._env = env
        self._headers = headers

    def runtime(self, request: web.Request) -> Runtime:
        return running(request, self._runtime_key)

    def page(self, request: web.Request, template: str, *, status: int = 200, **context: Any) -> web.Response:
        """`template` for the visitor: their CSRF value in its forms, their name in its header."""
        visitor = request[VISITOR]
        response = page(
            self._env, template, status=status, csrf=visitor.csrf or "", path=request.path, me=visitor, **context
        )
        response.headers.update(self._headers)
        return response

    async def form(self, request: web.Request, *, admin_only: str | None = None) -> tuple[Visitor, Form]:
        """Who posted, and what; `admin_only`: what an agent is refused (403) before it is read."""
        visitor = request[VISITOR]
        if admin_only is not None:
            visitor.require_admin(admin_only)
        return visitor, await request.post()  # its CSRF value was checked with the session (core.admin.app)

    async def act(
        self,
        request: web.Request,
        *,
        work: Callable[[Session], T],
        action: str,
        target: Callable[[T], str],
        location: Callable[[T], str],
        refusals: Refusals = NO_REFUSALS,
        again: Again | None = None,
        before: Callable[[Session], object] | None = None,
        then: Callable[[T], Awaitable[None] | None] | None = None,
        answer: Callable[[T], object] | None = None,
    ) -> web.Response:
        """Run `work` with its audit line (`action` on `target` of what the work returned), then
        `then` (its log line, what it wakes), then answer: `answer`'s JSON to a script (awaited
        when it reads again), else a redirect to `location` — for a script too when there is no
        `answer`. `before` is a transaction of its own, kept even when `work` then refuses (the
        edits a reviewer approves). A refusal from either is answered by `refusals` and `again`."""
        visitor = request[VISITOR]
        runtime = self.runtime(request)

        def recorded(session: Session) -> T:
            done = work(session)
            staff.record(session, actor=visitor.actor, staff_id=visitor.staff_id, action=action, target=target(done))
            return done

        try:
            if before is not None:
                await runtime.transactions.run(before)
            done = await runtime.transactions.run(recorded)
        except tuple(refusals) as exc:
            return await _refused(request, exc, refusals, again)
        if then is not None and inspect.isawaitable(following := then(done)):
            await following
        if answer is not None and wants_json(request):
            body = answer(done)
            return as_json(await body if inspect.isawaitable(body) else body)
        back(location(done))


async def _refused(request: web.Request, exc: Exception, refusals: Refusals, again: Again | None) -> web.Response:
    refusal = next(refusals[kind] for kind in type(exc).__mro__ if kind in refusals)
    if isinstance(refusal, AsText):
        raise refusal.error(text=refusal.text.format(exc) + "\n") from exc
    if again is None or wants_json(request):
        raise refusal(text=f"{exc}\n") from exc
    return await again(refusal.status_code, str(exc))
