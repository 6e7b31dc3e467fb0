"""/admin/replies: the canned replies staff send with `!reply NAME` in a case thread or from
the inbox — listed, written, changed and deleted by the people who run support.

Every change is a POST carrying the session's CSRF value (checked before the form is read for
anything else), answered by a redirect back to the list (post/redirect/get); a reply that
cannot be saved gets its page again with the reason and what was typed, and a 4xx. With the
Bearer token the same routes answer JSON (the list at /admin/api/replies), for scripts.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from functools import partial
from typing import Any, Protocol

from aiohttp import web

from core.admin.views.render import as_json, back, wants_json
from core.handoff.canned import (
    MAX_BODY,
    NAME,
    PLACEHOLDERS,
    BadCannedReply,
    Canned,
    NameTaken,
    NoSuchCannedReply,
    canned_replies,
    canned_reply,
    delete_canned_reply,
    fill,
    save_canned_reply,
)
from core.ops.access import VISITOR, Visitor
from core.ops.runtime import Runtime
from core.store import staff

log = logging.getLogger(__name__)

PREVIEW_CUSTOMER = "Ada Lovelace"
PREVIEW_AGENT = "Sam"


class PageMaker(Protocol):
    def __call__(self, request: web.Request, template: str, *, status: int = 200, **context: Any) -> web.Response: ...


class CannedReplyPages:
    def __init__(
        self,
        *,
        runtime: Callable[[web.Request], Runtime],
        page: PageMaker,
    ) -> None:
        """The dashboard's own ways to reach the runtime, and render a page (`core.admin.views.pages.Pages`)."""
        self._runtime = runtime
        self._page = page

    def routes(self) -> list[web.RouteDef]:
        return [
            web.get("/admin/replies", self.index),
            web.get("/admin/api/replies", self.index_json),
            web.post("/admin/replies", self.create),
            web.get("/admin/replies/{name}", self.edit),
            web.post("/admin/replies/{name}", self.update),
            web.post("/admin/replies/{name}/delete", self.delete),
        ]

    async def _replies(self, request: web.Request) -> list[Canned]:
        return await self._runtime(request).transactions.run(canned_replies)

    async def index(self, request: web.Request) -> web.Response:
        return await self._index(request, form={"name": "", "body": ""}, problem=None)

    async def _index(
        self, request: web.Request, *, form: Mapping[str, str], problem: str | None, status: int = 200
    ) -> web.Response:
        saved, deleted = (_slug(request.query.get(key)) for key in ("saved", "deleted"))
        return self._page(
            request,
            "replies.html",
            status=status,
            replies=await self._replies(request),
            form=form,
            problem=problem,
            saved=saved,
            deleted=deleted,
            placeholders=PLACEHOLDERS,
            max_body=MAX_BODY,
        )

    async def index_json(self, request: web.Request) -> web.Response:
        return as_json(await self._replies(request))

    async def create(self, request: web.Request) -> web.Response:
        visitor: Visitor = request[VISITOR]
        form = await _fields(request)
        save = partial(save_canned_reply, name=form["name"], body=form["body"], actor=visitor.actor)
        try:
            saved = await self._runtime(request).transactions.run(save)
        except BadCannedReply as exc:
            status = 409 if isinstance(exc, NameTaken) else 400
            if wants_json(request):
                raise _refusal(status, exc) from exc
            return await self._index(request, form=form, problem=str(exc), status=status)
        log.info("admin: canned reply %s added (%s)", saved.name, saved.updated_by)
        await self._audit(request, visitor, "add canned reply", saved.name)
        if wants_json(request):
            return as_json(saved)
        back(f"/admin/replies?saved={saved.name}")

    async def _audit(self, request: web.Request, visitor: Visitor, action: str, name: str) -> None:
        record = partial(staff.record, actor=visitor.actor, staff_id=visitor.staff_id, action=action, target=name)
        await self._runtime(request).transactions.run(record)

    async def _found(self, request: web.Request) -> Canned:
        name = request.match_info["name"]
        found = await self._runtime(request).transactions.run(partial(canned_reply, name=name)) if _slug(name) else None
        if found is None:
            raise web.HTTPNotFound(text="there is no canned reply by that name\n")
        return found

    async def edit(self, request: web.Request) -> web.Response:
        reply = await self._found(request)
        return self._edit_page(request, reply, form={"name": reply.name, "body": reply.body}, problem=None)

    def _edit_page(
        self, request: web.Request, reply: Canned, *, form: Mapping[str, str], problem: str | None, status: int = 200
    ) -> web.Response:
        return self._page(
            request,
            "reply.html",
            status=status,
            reply=reply,
            form=form,
            problem=problem,
            preview=fill(reply.body, customer=PREVIEW_CUSTOMER, agent=PREVIEW_AGENT),
            preview_customer=PREVIEW_CUSTOMER,
            preview_agent=PREVIEW_AGENT,
            placeholders=PLACEHOLDERS,
            max_body=MAX_BODY,
        )

    async def update(self, request: web.Request) -> web.Response:
        visitor: Visitor = request[VISITOR]
        reply = await self._found(request)
        form = await _fields(request)
        save = partial(
            save_canned_reply, name=form["name"], body=form["body"], actor=visitor.actor, replacing=reply.name
        )
        try:
            saved = await self._runtime(request).transactions.run(save)
        except NoSuchCannedReply as exc:  # deleted since it was read
            raise web.HTTPNotFound(text=f"{exc}\n") from exc
        except BadCannedReply as exc:
            status = 409 if isinstance(exc, NameTaken) else 400
            if wants_json(request):
                raise _refusal(status, exc) from exc
            return self._edit_page(request, reply, form=form, problem=str(exc), status=status)
        log.info("admin: canned reply %s changed (%s)", saved.name, saved.updated_by)
        await self._audit(request, visitor, "change canned reply", saved.name)
        if wants_json(request):
            return as_json(saved)
        back(f"/admin/replies?saved={saved.name}")

    async def delete(self, request: web.Request) -> web.Response:
        visitor: Visitor = request[VISITOR]
        reply = await self._found(request)
        try:
            await self._runtime(request).transactions.run(partial(delete_canned_reply, name=reply.name))
        except NoSuchCannedReply as exc:
            raise web.HTTPNotFound(text=f"{exc}\n") from exc
        log.info("admin: canned reply %s deleted (%s)", reply.name, visitor.actor)
        await self._audit(request, visitor, "delete canned reply", reply.name)
        if wants_json(request):
            return as_json({"deleted": reply.name})
        back(f"/admin/replies?deleted={reply.name}")


async def _fields(request: web.Request) -> dict[str, str]:
    """The form's name and body ("" for a missing one, or a file where text belongs)."""
    form = await request.post()
    return {key: value if isinstance(value := form.get(key), str) else "" for key in ("name", "body")}


def _slug(value: str | None) -> str | None:
    """A reply's name from a URL, or None: nothing else is echoed on the page."""
    return value if value is not None and NAME.fullmatch(value) else None


def _refusal(status: int, exc: Exception) -> web.HTTPException:
    return (web.HTTPConflict if status == 409 else web.HTTPBadRequest)(text=f"{exc}\n")
