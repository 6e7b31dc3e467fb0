"""What every HTTP route gets before its handler: a deadline for the request body, quiet
client aborts, and "try again shortly" when the database cannot take a write; the checks of
who is calling that routes share (a bearer token, another site's page, the Host a browser
was pointed at); and numbers read from headers and paths without trusting their length.

Channels read their own bodies (a webhook may stream or cap it), so the deadline does not
read for them: it lets the handler run, and if the body has still not fully arrived after
`server.body_timeout_s`, cancels the handler and answers 408. A handler whose body is in is
never cancelled, so nothing half-stored can result.
"""

from __future__ import annotations

import asyncio
import hmac
import ipaddress
import json
import logging
from collections.abc import Collection
from typing import TypeVar
from urllib.parse import urlsplit

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError
from aiohttp.typedefs import Handler, Middleware
from pydantic import SecretStr

from core.channel import StorageUnavailable
from core.invariants import present

log = logging.getLogger(__name__)

HttpError = TypeVar("HttpError", bound=web.HTTPError)


def body_deadline(timeout_s: float) -> Middleware:
    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        if not request.body_exists or request.content.is_eof():
            return await handler(request)
        task = present(asyncio.current_task(), "the request's task, in which aiohttp runs every handler,")
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
            raise json_error(
                web.HTTPRequestTimeout,
                f"the request body did not arrive within {timeout_s:g} s",
                headers={"Connection": "close"},
            ) from None
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
        raise json_error(
            web.HTTPServiceUnavailable,
            "the hub cannot store messages right now; try again shortly",
            headers={"Retry-After": str(exc.retry_after_s)},
        ) from None


def bearer_refusal(request: web.Request, token: SecretStr | None, *, named: str) -> web.HTTPError | None:
    """None when no token is set or `request` carries `Authorization: Bearer <token>` (compared
    in constant time); else the 401 to raise, asking for the `named` token."""
    if token is None:
        return None
    given = request.headers.get("Authorization", "").encode("utf-8", "surrogateescape")
    if hmac.compare_digest(given, f"Bearer {token.get_secret_value()}".encode()):
        return None
    return json_error(
        web.HTTPUnauthorized,
        f"a valid 'Authorization: Bearer <{named}>' header is required",
        headers={"WWW-Authenticate": "Bearer"},
    )


def cross_site(request: web.Request) -> bool:
    """A request another site's page made the browser send (login CSRF, or a page posting to
    the API as a contact). Browsers send Sec-Fetch-Site; older ones at least Origin, which must
    then name the host the request was sent to."""
    site = request.headers.get("Sec-Fetch-Site")
    if site is not None:
        return site not in ("same-origin", "none")
    origin = request.headers.get("Origin")
    if origin is None:
        return False
    try:
        return urlsplit(origin).netloc != request.host
    except ValueError:  # "http://[::1": no page's origin
        return True


def known_host(request: web.Request, names: Collection[str]) -> bool:
    """Whether the Host header names this hub: an IP address, `localhost`, or one of `names`
    (lower case). A page on a host name that an attacker's DNS points at 127.0.0.1 (DNS
    rebinding) is "same-origin" to the browser, so only its Host header gives it away; a
    request without one did not come from a browser."""
    host = request.headers.get("Host")
    if host is None:
        return True
    try:
        name = urlsplit(f"//{host}").hostname
    except ValueError:  # "[::1", a port that is not a number
        return False
    if not name:
        return False
    name = name.rstrip(".")
    if name == "localhost" or name in names:
        return True
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True  # a browser sends an IP address only when the page itself was loaded from it


def bounded_int(text: str, *, max_digits: int) -> int | None:
    """`text` as a non-negative integer when it is 1 to `max_digits` ASCII digits; None for
    anything else. `int` refuses more than 4,300 digits, and `str.isdigit` is true for "²",
    which `int` refuses too."""
    if not 0 < len(text) <= max_digits or not text.isascii() or not text.isdigit():
        return None
    return int(text)


def could_be_row_id(text: str) -> bool:
    """Whether `text` (from a path) could be the id of one of the hub's rows: at most 32
    printable characters. Anything else names no row, and a NUL would make PostgreSQL refuse
    the query rather than find nothing."""
    return 0 < len(text) <= 32 and text.isprintable()


class MalformedRequests(logging.Filter):
    """aiohttp answers a request it cannot parse (a URL over 8 KB, a header line that is not
    HTTP) with 400 itself, but logs it at ERROR with a traceback as if the hub had failed. On
    `aiohttp.server`'s logger, this makes that one DEBUG line naming the kind of fault, without
    quoting the request (aiohttp's message does, and a request may carry anything)."""

    def filter(self, record: logging.LogRecord) -> bool:
        fault = record.exc_info[1] if record.exc_info else None
        if not isinstance(fault, HttpProcessingError):
            return True
        remote = record.args[0] if isinstance(record.args, tuple) and record.args else "?"
        record.msg, record.args = (
            "refused a malformed request from %s (HTTP %s, %s)",
            (remote, fault.code, type(fault).__name__),
        )
        record.levelno, record.levelname = logging.DEBUG, logging.getLevelName(logging.DEBUG)
        record.exc_info, record.exc_text = None, None
        return logging.getLogger(record.name).isEnabledFor(logging.DEBUG)


def quiet_malformed_requests() -> None:
    """Install `MalformedRequests` on aiohttp's server logger, once however many apps are made."""
    logger = logging.getLogger("aiohttp.server")
    if not any(isinstance(f, MalformedRequests) for f in logger.filters):
        logger.addFilter(MalformedRequests())


def json_error(kind: type[HttpError], reason: str, *, headers: dict[str, str] | None = None) -> HttpError:
    """The `kind` of refusal with `{"error": reason}` as its JSON body, as every route answers one."""
    return kind(text=json.dumps({"error": reason}), content_type="application/json", headers=headers)
