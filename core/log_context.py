"""Ids on log lines: the request's (bound by a middleware, echoed in `X-Request-Id`), and the
conversation, message and channel a block of work is about; plus the access log line, which
aiohttp writes after the request's context is gone, so it reads the id from the request."""

from __future__ import annotations

import logging
import re
import uuid
from contextlib import AbstractContextManager

from aiohttp import web
from aiohttp.abc import AbstractAccessLogger
from aiohttp.typedefs import Handler
from aiohttp.web_request import BaseRequest
from structlog.contextvars import bound_contextvars

REQUEST_ID_HEADER = "X-Request-Id"
REQUEST_ID = web.RequestKey("request_id", str)
SAFE_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")
"""A caller's (a proxy's, a client's) id is kept only when it cannot forge a log line."""


@web.middleware
async def request_ids(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Bind `request_id` for everything logged while the request is handled: the caller's
    `X-Request-Id` when it is a short safe token, else a new one; echoed in the response."""
    incoming = request.headers.get(REQUEST_ID_HEADER, "")
    request_id = incoming if SAFE_REQUEST_ID.fullmatch(incoming) else uuid.uuid4().hex
    request[REQUEST_ID] = request_id
    with bound_contextvars(request_id=request_id):
        try:
            response = await handler(request)
        except web.HTTPException as exc:
            exc.headers[REQUEST_ID_HEADER] = request_id
            raise
    if not response.prepared:  # a stream or websocket already sent its headers
        response.headers[REQUEST_ID_HEADER] = request_id
    return response


class AccessLogger(AbstractAccessLogger):
    """One line per request — method, path, status, duration and request id, each also a
    field of a JSON line. Never the query string: it can hold a token."""

    def log(self, request: BaseRequest, response: web.StreamResponse, time: float) -> None:
        path = request.rel_url.raw_path  # percent-encoded: no line breaks to forge a line with
        duration_ms = round(time * 1000, 1)
        fields: dict[str, object] = {
            "method": request.method,
            "path": path,
            "status": response.status,
            "duration_ms": duration_ms,
        }
        request_id = request.get(REQUEST_ID)
        if request_id is not None:
            fields["request_id"] = request_id
        with bound_contextvars(**fields):  # fields of the line, like the ids
            self.logger.info("%s %s %d %.1f ms", request.method, path, response.status, duration_ms)

    @property
    def enabled(self) -> bool:
        return self.logger.isEnabledFor(logging.INFO)


def bound_ids(
    *, conversation_id: str | None = None, message_id: int | None = None, channel: str | None = None
) -> AbstractContextManager[None]:
    """Bind the given ids to every line logged in the block (and in tasks it starts)."""
    ids = {"conversation_id": conversation_id, "message_id": message_id, "channel": channel}
    return bound_contextvars(**{key: value for key, value in ids.items() if value is not None})
