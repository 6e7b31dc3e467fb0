"""Who may open /admin: a person on the staff, signed in with their own account (a session
stored server-side, `core.store.staff`), or the holder of `SUPPORTHUB_ADMIN__TOKEN`, by a
signed session cookie (browsers) or `Authorization: Bearer <token>` (scripts).

A staff session's cookie holds a random token; the database holds its SHA-256, the person and
the session's CSRF value. Each request looks the row up, so signing out, or removing the
person, ends the session at once, in every process. Password sign-ins are throttled (per
address and per email): unlike the long random admin token, a person's password can be
guessed, so past the failures even the right one waits. Each attempt is counted before its
password is checked, in one step that also says whether it is within the limit (`limits`'
moving-window hit: a lock in memory, one script in Redis), so attempts arriving together are
counted together, and a storm for one email has five passwords checked however many arrive at
once (in however many processes, when they share Redis). An attempt counts as failed until its password is found right;
the right one clears its address's and its email's counts (colleagues behind one office address
are not locked out by each other's sign-ins). Checking a password is argon2 work, which
`passwords.Hashing` keeps to its share of the machine.

The admin token's session:

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
in a `core.rate_limits.CounterStore`, so a down or hung Redis holds no sign-in up: one waits
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

from core.invariants import present
from core.ops import passwords
from core.ops.runtime import Runtime
from core.rate_limits import CounterStore
from core.store import staff
from core.store.staff import TOKEN_ACTOR, Person, SignedIn

log = logging.getLogger(__name__)

COOKIE = "supporthub_admin"
STAFF_COOKIE = "supporthub_staff"
COOKIE_PATH = "/admin"
SESSION_TTL = timedelta(hours=12)
"""A working day: a lead who signs in in the morning is not asked again before evening."""
FAILURES = parse("5/minute")


@dataclass(frozen=True, slots=True)
class Visitor:
    """A signed-in operator: by cookie (with the session's CSRF value) or by Bearer token."""

    csrf: str | None
    """None for a Bearer request (no cookie, so nothing to forge)."""
    person: Person | None = None
    """Who, when signed in with their own account; None for the admin token's holder."""
    session_token: str | None = None
    """The staff session's own token (to end it at sign-out)."""

    @property
    def actor(self) -> str:
        """The name what this visitor does is recorded under."""
        return self.person.name if self.person is not None else TOKEN_ACTOR

    @property
    def staff_id(self) -> str | None:
        return self.person.id if self.person is not None else None

    @property
    def is_admin(self) -> bool:
        """May manage people and the hub: an admin, or the admin token's holder."""
        return self.person is None or self.person.is_admin

    def require_admin(self, what: str) -> None:
        """403 for an agent: `what` is "manage the staff", "re-index"…"""
        if not self.is_admin:
            raise web.HTTPForbidden(text=f"Only an admin can {what}.\n")


VISITOR = web.RequestKey("admin_visitor", Visitor)
"""Who is asking, on every request the dashboard admits (set by `core.admin.app`)."""


class AdminAccess:
    def __init__(
        self,
        token: SecretStr,
        *,
        redis_url: str = "",
        session_ttl: timedelta = SESSION_TTL,
        runtime: web.AppKey[Runtime] | None = None,
    ) -> None:
        """`runtime`: where the application keeps the runtime whose database holds the staff
        sessions (None: the admin token only)."""
        self._runtime = runtime
        self._token = token.get_secret_value().encode()
        key = hmac.new(self._token, b"supporthub admin session", hashlib.sha256).hexdigest()
        self._signer = URLSafeTimedSerializer(key, salt="supporthub-admin")
        self._ttl = session_ttl
        self._failures = CounterStore(redis_url, on_failing=_count_fails, on_answering=_count_kept)
        self.hashing = passwords.Hashing()
        """Every password this application hashes or checks waits its turn here."""

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
        if (visitor := await self.staff_visitor(request)) is not None:
            return visitor
        if (wait := await self.throttled(request)) is not None:
            raise wait
        if "Authorization" in request.headers:
            await self.failed(request)
        raise unauthorized(request)

    async def staff_visitor(self, request: web.Request) -> Visitor | None:
        """The person whose live session the request's staff cookie names; None otherwise."""
        token = request.cookies.get(STAFF_COOKIE)
        runtime = request.config_dict.get(self._runtime) if self._runtime is not None else None
        if not token or runtime is None or "Authorization" in request.headers:
            return None
        found: SignedIn | None = await runtime.transactions.run(lambda session: staff.signed_in(session, token=token))
        return None if found is None else Visitor(csrf=found.csrf, person=found.person, session_token=token)

    async def password_sign_in(self, request: web.Request, *, email: str, password: str) -> str | None:
        """A new staff session's cookie token for the right email and password; None for a
        wrong pair. Raises 429, before checking the password, while the address or the email
        is past its failures (the attempts being checked now included)."""
        runtime = request.config_dict.get(self._runtime) if self._runtime is not None else None
        if runtime is None:
            raise web.HTTPServiceUnavailable(text="supporthub is still starting; try again in a moment\n")
        keys = (_address(request), f"staff:{email.strip().lower()[:320]}")
        for key in keys:  # the address first: an address past its failures uses up no email's
            if await self._failures.hit(FAILURES, "admin-sign-in", key) is False:  # None: the count is unknown
                raise await self._too_many(key)
        found = await runtime.transactions.run(lambda session: staff.password_hash_of(session, email=email))
        if not await self.hashing.matches(found[1] if found else None, password):
            log.warning("admin: refused a staff sign-in from %s", _address(request))
            return None
        found = present(found, "the staff account, without which matches() says no,")
        for key in keys:
            await self._failures.clear(FAILURES, "admin-sign-in", key)
        person, stored = found
        if passwords.needs_rehash(stored):
            fresh = await self.hashing.hashed(password)
            await runtime.transactions.run(
                lambda session: staff.rehash(session, staff_id=person.id, password_hash=fresh)
            )
        token, _ = await runtime.transactions.run(
            lambda session: staff.open_session(session, person=person, ttl=self._ttl)
        )
        return token

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
        return await self._too_many(key)

    async def _too_many(self, key: str) -> web.HTTPException:
        stats = await self._failures.window_stats(FAILURES, "admin-sign-in", key)
        retry_after = FAILURES.get_expiry() if stats is None else max(1, math.ceil(stats.reset_time - time.time()))
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

    def staff_signed_in(self, response: web.StreamResponse, request: web.Request, token: str) -> None:
        """Set a staff session's cookie on `response` (its row holds the CSRF value)."""
        response.set_cookie(
            STAFF_COOKIE,
            token,
            max_age=int(self._ttl.total_seconds()),
            path=COOKIE_PATH,
            httponly=True,
            samesite="Strict",
            secure=request.secure or request.headers.get("X-Forwarded-Proto") == "https",
        )

    async def sign_out(self, response: web.StreamResponse, request: web.Request, visitor: Visitor) -> None:
        """Forget the browser's session: a staff session's row is deleted, so the cookie is
        worthless even if kept."""
        runtime = request.config_dict.get(self._runtime) if self._runtime is not None else None
        if (token := visitor.session_token) is not None and runtime is not None:
            await runtime.transactions.run(lambda session: staff.end_session(session, token=token))
        response.del_cookie(COOKIE, path=COOKIE_PATH)
        response.del_cookie(STAFF_COOKIE, path=COOKIE_PATH)

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
