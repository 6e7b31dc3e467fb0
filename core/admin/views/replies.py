"""/admin/replies: the canned replies staff send with `!reply NAME` in a case thread or from
the inbox — listed, written, changed and deleted by the people who run support.

Every change is a staff action (`core.admin.views.dashboard`): a POST carrying the session's
CSRF value (checked before the form is read for anything else), answered by a redirect back to
the list (post/redirect/get); a reply that cannot be saved gets its page again with the reason
and what was typed, and a 4xx. With the Bearer token the same routes answer JSON (the list at
/admin/api/replies), for scripts.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from functools import partial

from aiohttp import web

from core.admin.views.dashboard import AsText, Dashboard, Form, Refusals
from core.admin.views.render import as_json
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
from core.ops.access import VISITOR

log = logging.getLogger(__name__)

PREVIEW_CUSTOMER = "Ada Lovelace"
PREVIEW_AGENT = "Sam"
SAVING: Refusals = {NameTaken: web.HTTPConflict, BadCannedReply: web.HTTPBadRequest}


class CannedReplyPages:
    def __init__(self, *, dashboard: Dashboard) -> None:
        self._dashboard = dashboard
        self._runtime, self._page = dashboard.runtime, dashboard.page

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
        visitor, posted = await self._dashboard.form(request)
        form = _fields(posted)
        return await self._dashboard.act(
            request,
            work=partial(save_canned_reply, name=form["name"], body=form["body"], actor=visitor.actor),
            action="add canned reply",
            target=lambda saved: saved.name,
            refusals=SAVING,
            again=lambda status, reason: self._index(request, form=form, problem=reason, status=status),
            then=lambda saved: log.info("admin: canned reply %s added (%s)", saved.name, saved.updated_by),
            answer=lambda saved: saved,
            location=lambda saved: f"/admin/replies?saved={saved.name}",
        )

    async def _found(self, request: web.Request) -> Canned:
        name = request.match_info["name"]
        found = await self._runtime(request).transactions.run(partial(canned_reply, name=name)) if _slug(name) else None
        if found is None:
            raise web.HTTPNotFound(text="there is no canned reply by that name\n")
        return found

    async def edit(self, request: web.Request) -> web.Response:
        reply = await self._found(request)
        return await self._edit_page(request, reply, form={"name": reply.name, "body": reply.body}, problem=None)

    async def _edit_page(
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
        reply = await self._found(request)
        visitor, posted = await self._dashboard.form(request)
        form = _fields(posted)
        return await self._dashboard.act(
            request,
            work=partial(
                save_canned_reply, name=form["name"], body=form["body"], actor=visitor.actor, replacing=reply.name
            ),
            action="change canned reply",
            target=lambda saved: saved.name,
            refusals={NoSuchCannedReply: AsText(web.HTTPNotFound), **SAVING},  # deleted since it was read: no page
            again=lambda status, reason: self._edit_page(request, reply, form=form, problem=reason, status=status),
            then=lambda saved: log.info("admin: canned reply %s changed (%s)", saved.name, saved.updated_by),
            answer=lambda saved: saved,
            location=lambda saved: f"/admin/replies?saved={saved.name}",
        )

    async def delete(self, request: web.Request) -> web.Response:
        visitor = request[VISITOR]
        reply = await self._found(request)
        return await self._dashboard.act(
            request,
            work=partial(delete_canned_reply, name=reply.name),
            action="delete canned reply",
            target=lambda _: reply.name,
            refusals={NoSuchCannedReply: web.HTTPNotFound},
            then=lambda _: log.info("admin: canned reply %s deleted (%s)", reply.name, visitor.actor),
            answer=lambda _: {"deleted": reply.name},
            location=lambda _: f"/admin/replies?deleted={reply.name}",
        )


def _fields(form: Form) -> dict[str, str]:
    """The form's name and body ("" for a missing one, or a file where text belongs)."""
    return {key: value if isinstance(value := form.get(key), str) else "" for key in ("name", "body")}


def _slug(value: str | None) -> str | None:
    """A reply's name from a URL, or None: nothing else is echoed on the page."""
    return value if value is not None and NAME.fullmatch(value) else None
