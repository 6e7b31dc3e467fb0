"""Who may open /admin: the holder of `SUPPORTHUB_ADMIN__TOKEN`, by a signed session cookie
(browsers) or `Authorization: Bearer <token>` (scripts).

The cookie holds no secret: itsdangerous signs `{"csrf": <random>}` with a key derived from
the token, and `loads(max_age=…)` refuses it once the session has expired — so changing the
token signs every browser out, and nothing is stored server-side. It is HttpOnly (no script
reads it), SameSite=Strict (no other site's page sends it) and scoped to /admin. Every
state-changing form carries the session's CSRF value as a hidden field, compared in constant
time; a Bearer request carries no ambient credential, so it needs none.

A wrong token gets 401 and nothing more (not whether a token is set, nor how close it was).
Failed attempts are counted per client address with the `limits` library (a moving window, in
Redis when `redis_url` is set so several processes share it): past `FAILURES`, the address
gets 429 with Retry-After for every wrong token until the window moves on. The count is kept
in a `core.pipeline.rate_limits.CounterStore`, so a down or hung Redis holds no sign-in up: one waits
half a second, then nothing is throttled for 30 s before Redis is tried again. The right token
always gets in, at the sign-in form as with a Bearer header: an operator who mistyped it five
times, or shares a reverse proxy's address with someone guessing, is never locked out. So the
count flags guessing rather than slowing it; what makes guessing hopeless is the token's
length (`openssl rand -hex 32`).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import math
import secrets
import time
from dataclasses import dataclass
from datetime import timedelta

from aiohttp import web
from itsdangerous import BadSignature, URLSafeTimedSerializer
from limits import parse
from pydantic import SecretStr

from core.pipeline.rate_limits import CounterStore

log = logging.getLogger(__name__)

COOKIE = "supporthub_admin"
COOKIE_PATH = "/admin"
SESSION_TTL = timedelta(hours=12)
"""A working day: a lead who signs in in the morning is not asked again before evening."""
FAILURES = parse("5/minute")


@dataclass(frozen=True, slots=True)
class Visitor:
    """A signed-in operator: by cookie (with the session's CSRF value) or by Bearer token."""

    csrf: str | None
    """None for a Bearer request (no cookie, so nothing to forge)."""


class AdminAccess:
    def __init__(self, token: SecretStr, *, redis_url: str = "", session_ttl: timedelta = SESSION_TTL) -> None:
        self._token = token.get_secret_value().encode()
        key = hmac.new(self._token, b"supporthub admin session", hashlib.sha256).hexdigest()
        self._signer = URLSafeTimedSerializer(key, salt="supporthub-admin")
        self._ttl = session_ttl
        self._failures = CounterStore(redis_url, on_failing=_count_fails, on_answering=_count_kept)

    def visitor(self, request: web.Request) -> Visitor | None:
        """Who `request` comes from, or None when it carries neither a valid cookie nor the token."""
        header = request.headers.get("Authorization", "")
        if header:
            given = header.encode("utf-8", "surrogateescape")
            return Visitor(csrf=None) if hmac.compare_digest(given, b"Bearer " + self._token) else None
        cookie = request.cookies.get(COOKIE)
        if not cookie or not cookie.isascii():  # a signed value is ASCII; itsdangerous would fail encoding it
            return None
        try:
            session = self._signer.loads(cookie, max_age=int(self._ttl.total_seconds()))
        except BadSignature:  # also SignatureExpired
            return None
        csrf = session.get("csrf") if isinstance(session, dict) else None
        return Visitor(csrf=csrf) if isinstance(csrf, str) else None

    async def admit(self, request: web.Request) -> Visitor:
        """The visitor `request` comes from; else raises what to answer. A valid session or
        token always gets in (someone guessing must not lock the operators out); otherwise 429
        for an address past its failures, 401 for a wrong Bearer token (counted as a failure),
        and for a request with no (or an expired) session the way to the sign-in page."""
        if (visitor := self.visitor(request)) is not None:
            return visitor
        if (wait := await self.throttled(request)) is not None:
            raise wait
        if "Authorization" in request.headers:
            await self.failed(request)
        raise unauthorized(request)

    async def admit_bearer(self, request: web.Request) -> None:
        """For what scripts call (`/metrics`): the Bearer token only, its failures counted and
        throttled with the sign-in page's."""
        if "Authorization" in request.headers and self.visitor(request) is not None:
            return
        if (wait := await self.throttled(request)) is not None:
            raise wait
        if "Authorization" in request.headers:
            await self.failed(request)
        raise web.HTTPUnauthorized(text="Unauthorized\n", headers={"WWW-Authenticate": "Bearer"})

    async def throttled(self, request: web.Request) -> web.HTTPException | None:
        """429 for an address that failed too often lately; None otherwise, and None while the
        count's store (Redis) fails: a long random token is safe from guessing for that long,
        and operators must not be shut out of the dashboard that shows what is wrong."""
        key = _address(request)
        if await self._failures.test(FAILURES, "admin-sign-in", key) in (True, None):  # None: the count is unknown
            return None
        if (stats := await self._failures.window_stats(FAILURES, "admin-sign-in", key)) is None:
            return None
        retry_after = max(1, math.ceil(stats.reset_time - time.time()))
        return web.HTTPTooManyRequests(
            text="Too many failed sign-ins; try again later.\n", headers={"Retry-After": str(retry_after)}
        )

    async def failed(self, request: web.Request) -> None:
        log.warning("admin: refused a sign-in from %s", _address(request))
        await self._failures.hit(FAILURES, "admin-sign-in", _address(request))

    def token_matches(self, given: str) -> bool:
        return hmac.compare_digest(given.encode("utf-8", "surrogateescape"), self._token)

    def sign_in(self, response: web.StreamResponse, request: web.Request) -> None:
        """Set a fresh session cookie (a new CSRF value) on `response`."""
        value = self._signer.dumps({"csrf": secrets.token_urlsafe(24)})
        # Secure behind a TLS-terminating proxy too; a forged header can only add the flag
        secure = request.secure or request.headers.get("X-Forwarded-Proto") == "https"
        response.set_cookie(
            COOKIE,
            value,
            max_age=int(self._ttl.total_seconds()),
            path=COOKIE_PATH,
            httponly=True,
            samesite="Strict",
            secure=secure,
        )

    @staticmethod
    def sign_out(response: web.StreamResponse) -> None:
        response.del_cookie(COOKIE, path=COOKIE_PATH)

    @staticmethod
    def csrf_refusal(visitor: Visitor, form_value: object) -> web.HTTPException | None:
        """None when a state-changing request may proceed: a Bearer request, or a cookie
        session whose form carries its CSRF value."""
        if visitor.csrf is None:
            return None
        if isinstance(form_value, str) and hmac.compare_digest(form_value.encode(), visitor.csrf.encode()):
            return None
        return web.HTTPForbidden(text="This form has expired; reload the page and try again.\n")


def unauthorized(request: web.Request) -> web.HTTPException:
    """401 with no hint; a browser asking for a page is sent to the sign-in form instead."""
    if request.method == "GET" and "text/html" in request.headers.get("Accept", "") and not _is_json(request):
        return web.HTTPSeeOther(location=f"{COOKIE_PATH}/login")
    return web.HTTPUnauthorized(text="Unauthorized\n", headers={"WWW-Authenticate": "Bearer"})


def _is_json(request: web.Request) -> bool:
    return request.path.startswith(f"{COOKIE_PATH}/api/")


def _address(request: web.Request) -> str:
    return request.remote or "unknown"


def _count_fails(exc: Exception) -> None:
    # the exception's type only: a Redis error may quote its URL, password included
    log.warning("admin: the sign-in failure count cannot be kept (%s); not throttling until it can", type(exc).__name__)


def _count_kept() -> None:
    log.info("admin: the sign-in failure count is kept again")
