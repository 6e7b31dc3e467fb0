"""The knowledge API: a help centre's editor (its CMS webhook) pushes a changed article, or
withdraws one, and customers get answers from it seconds later. Behind the admin token.

    POST   /api/knowledge/documents        {"id", "content", "format"?, "title"?, "url"?}
    DELETE /api/knowledge/documents/{id}

Either answers 202 once the change is stored, and starts an index run (the one the dashboard's
approved answers start: folders, written and pushed documents, no website crawl); with
`?wait=true` it answers 200 when that run has indexed the change, with what the run did. A
document is kept in `knowledge.ingest.pushed` as sent and converted by every run like a file of its
format; its citation links to its `url`.
"""

from __future__ import annotations

import json
import logging
from functools import partial
from typing import Annotated, Any, Literal

from aiohttp import web
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError

from core.ops.access import AdminAccess
from core.ops.reindex_process import ReindexFailed
from core.ops.request_guards import json_error
from core.ops.runtime import Runtime
from core.request_bodies import read_at_most, too_large
from knowledge.ingest import pushed
from knowledge.ingest.addresses import checked_address

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 2 * 1024 * 1024
"""A pushed article's request, its content with room for JSON's escapes."""
MAX_CONTENT_CHARS = 1_000_000
TURN_ON = (
    "the knowledge API needs the admin token: set admin.token (SUPPORTHUB_ADMIN__TOKEN) and call it "
    "with `Authorization: Bearer <token>`"
)


def _some_text(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be empty")
    return value


class PushedArticle(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=rf"^{pushed.ID.pattern}$", description="the help centre's id of the article")
    content: Annotated[str, AfterValidator(_some_text)] = Field(max_length=MAX_CONTENT_CHARS)
    format: Literal["markdown", "html", "text"] = "markdown"
    title: str = Field("", max_length=500)
    url: Annotated[str, AfterValidator(checked_address)] = Field("", max_length=2000)


class KnowledgeApi:
    def __init__(self, runtime: web.AppKey[Runtime], access: AdminAccess | None) -> None:
        self._runtime = runtime
        self._access = access

    def routes(self) -> list[web.RouteDef]:
        return [
            web.post("/api/knowledge/documents", self.put),
            web.delete("/api/knowledge/documents/{id}", self.delete),
        ]

    async def _admitted(self, request: web.Request) -> Runtime:
        if self._access is None:
            raise json_error(web.HTTPForbidden, TURN_ON)
        await self._access.admit_bearer(request)
        runtime = request.app.get(self._runtime)
        if runtime is None:
            raise json_error(web.HTTPServiceUnavailable, "supporthub is still starting; try again in a moment")
        return runtime

    async def put(self, request: web.Request) -> web.Response:
        runtime = await self._admitted(request)
        article = await _article(request)
        put = partial(
            pushed.put,
            document_id=article.id,
            title=article.title,
            url=article.url,
            format=article.format,
            content=article.content,
        )
        try:
            new = await runtime.transactions.run(put)
        except pushed.NameTaken as exc:
            raise json_error(web.HTTPConflict, str(exc)) from None
        log.info("knowledge API: %s document %s", "added" if new else "updated", article.id)
        return await self._indexed(request, runtime, article.id, "added" if new else "updated")

    async def delete(self, request: web.Request) -> web.Response:
        runtime = await self._admitted(request)
        document_id = request.match_info["id"]
        if not pushed.ID.fullmatch(document_id):
            raise json_error(web.HTTPNotFound, f"no pushed document {document_id!r}")
        if not await runtime.transactions.run(lambda session: pushed.remove(session, document_id=document_id)):
            raise json_error(web.HTTPNotFound, f"no pushed document {document_id!r}")
        log.info("knowledge API: removed document %s", document_id)
        return await self._indexed(request, runtime, document_id, "removed")

    async def _indexed(self, request: web.Request, runtime: Runtime, document_id: str, change: str) -> web.Response:
        """Start the index run that takes the change in; wait for it when asked."""
        body: dict[str, Any] = {"id": document_id, "source": pushed.source_of(document_id), "change": change}
        run = runtime.reindexer.soon(f"api:{change} {document_id}"[:100])
        if request.query.get("wait", "").lower() not in ("1", "true", "yes"):
            return web.json_response({**body, "indexed": False}, status=202)
        try:
            summary = await run
        except ReindexFailed as exc:
            raise json_error(
                web.HTTPServiceUnavailable, f"stored, but the index run failed ({exc}); the next run takes it in"
            ) from None
        return web.json_response({**body, "indexed": True, "run": summary.line})


async def _article(request: web.Request) -> PushedArticle:
    raw = await read_at_most(request, MAX_BODY_BYTES)
    if raw is None:
        raise too_large(request, MAX_BODY_BYTES)
    try:
        return PushedArticle.model_validate(json.loads(raw))
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise json_error(web.HTTPBadRequest, "the body is not JSON") from None
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in error['loc']) or 'body'}: {error['msg']}" for error in exc.errors()
        )
        raise json_error(web.HTTPBadRequest, problems) from None
