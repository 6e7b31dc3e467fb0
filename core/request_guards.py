"""What every HTTP route gets before its handler: a deadline for the request body, quiet
client aborts, and "try again shortly" when the database cannot take a write; and the bearer
token check of the routes that take one.

Channels read their own bodies (a webhook may stream or cap it), so the deadline does not
read for them: it lets the handler run, and if the body has still not fully arrived after
`server.body_timeout_s`, cancels the handler and answers 408. A handler whose body is in is
never cancelled, so nothing half-stored can result.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware
from pydantic import SecretStr

from core.channel import StorageUnavailable

log = logging.getLogger(__name__)


def body_deadline(timeout_s: float) -> Middleware:
    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        if not request.body_exists or request.content.is_eof():
            return await handler(request)
        task = asyncio.current_task()
        assert task is not None
        expired = False

        def expire() -> None:
            nonlocal expired
            if not request.content.is_eof():
                expired = True
                task.cancel()

        timer = asyncio.get_running_loop().call_later(timeout_s, expire)
        try:
            return await handler(request)
        except asyncio.CancelledError:
            if not expired:
                raise
            task.uncancel()
            log.debug("%s %s: the body did not arrive within %g s", request.method, request.path, timeout_s)
            raise _json_error(web.HTTPRequestTimeout, f"the request body did not arrive within {timeout_s:g} s",
                              headers={"Connection": "close"}) from None
        finally:
            timer.cancel()

    return middleware


@web.middleware
async def client_aborts(request: web.Request, handler: Handler) -> web.StreamResponse:
    """A client that hangs up mid-request is one debug line, not an ERROR with a traceback."""
    try:
        return await handler(request)
    except ConnectionResetError:
        if request.transport is not None and not request.transport.is_closing():
            raise  # the connection is fine: this is some other failure
        log.debug("%s %s: the client went away", request.method, request.path)
        return web.Response(status=499)  # nginx's "client closed request"; nobody reads it


@web.middleware
async def storage_unavailable(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except StorageUnavailable as exc:
        log.warning("%s %s: answered 503, %s", request.method, request.path, exc)
        raise _json_error(web.HTTPServiceUnavailable, "the hub cannot store messages right now; try again shortly",
                          headers={"Retry-After": str(exc.retry_after_s)}) from None


def bearer_refusal(request: web.Request, token: SecretStr | None, *, named: str) -> web.HTTPError | None:
    """None when no token is set or `request` carries `Authorization: Bearer <token>` (compared
    in constant time); else the 401 to raise, asking for the `named` token."""
    if token is None:
        return None
    given = request.headers.get("Authorization", "").encode("utf-8", "surrogateescape")
    if hmac.compare_digest(given, f"Bearer {token.get_secret_value()}".encode()):
        return None
    return _json_error(web.HTTPUnauthorized, f"a valid 'Authorization: Bearer <{named}>' header is required",
                       headers={"WWW-Authenticate": "Bearer"})


def _json_error(kind: type[web.HTTPError], reason: str, *, headers: dict[str, str]) -> web.HTTPError:
    return kind(text=json.dumps({"error": reason}), content_type="application/json", headers=headers)
