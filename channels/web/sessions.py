"""Who a widget visitor is: a server-signed session token, and optionally an email the
embedding site vouched for.

A visitor's session is a server-signed token holding a random session id; the widget keeps
the token in localStorage and sends it in its first frame, so no cookie is involved and a
page on any origin can embed the widget.

A token is not forever: it carries its issue time, the Origin of the page it was issued
to, and whom the embedding site had signed in (below) when it was issued. It is accepted for `web.session_days` after it was issued, and only from that Origin
(a token copied into another site's page starts a new session there); every accepted hello
answers with a fresh token, so a visitor who comes back within the period stays, and one who
stays away longer starts anew. The check needs no server state, so it holds across processes;
the price is that a copied token keeps working from its own Origin until it expires.

Identity: a site that knows its visitor may pass their email with an HMAC-SHA256 of it under
`web.identity_secret` (computed on the site's server). A valid signature makes the email
verified, linking the visitor to the same contact on every channel (memory follows them).
A session belongs to whoever was signed in when it began or first signed in during it: a token
issued to one signed-in person is refused when the page presents another person, or nobody
(someone else at the same browser), so they start a session of their own and never see the
first person's conversation. A visitor who signs in keeps their anonymous session.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import secrets
import time
from collections.abc import Callable
from pathlib import Path

from itsdangerous import BadData, URLSafeSerializer

from core.invariants import InvariantError

log = logging.getLogger(__name__)

TOKEN_SALT = "supporthub-widget"
SECRET_FILE = "web_session_secret"
CLOCK_SKEW_S = 300
"""How far ahead of this process's clock another process's may run when it issues a token."""


def load_or_create_secret(path: Path) -> str:
    """The session-signing secret stored at `path` (mode 0600), created once when missing.

    Written to a temporary file and hard-linked into place, so two processes starting at
    once agree on one secret and a crash never leaves a half-written file behind.
    """
    try:
        secret = path.read_text(encoding="ascii").strip()
    except FileNotFoundError:
        secret = ""
    if secret:
        if path.stat().st_mode & 0o077:
            log.warning("%s is readable by other users; chmod 600 it", path)
        return secret
    path.parent.mkdir(parents=True, exist_ok=True)
    candidate = secrets.token_urlsafe(48)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="ascii") as handle:
            handle.write(candidate)
        try:
            os.link(tmp, path)
        except FileExistsError:
            existing = path.read_text(encoding="ascii").strip()
            if existing:
                return existing
            os.replace(tmp, path)  # an empty leftover from a crash: take its place
            return candidate
    finally:
        tmp.unlink(missing_ok=True)
    return candidate


class SessionTokens:
    """Signs and checks widget session tokens: a random session id, the Origin it was issued
    to ("" for a client that sends none), its issue time and a digest of the verified email
    it belongs to (None for an anonymous visitor)."""

    def __init__(self, secret: str, *, max_age_s: float, clock: Callable[[], float] = time.time) -> None:
        self._serializer = URLSafeSerializer(secret, salt=TOKEN_SALT)
        self._secret = secret.encode()
        self._max_age_s = max_age_s
        self._clock = clock

    def issue(self, origin: str, email: str | None) -> tuple[str, str]:
        """A fresh session: (session_id, token)."""
        session_id = secrets.token_urlsafe(16)
        return session_id, self.sign(session_id, origin, email)

    def sign(self, session_id: str, origin: str, email: str | None) -> str:
        """A token for `session_id`, issued now, valid from `origin`, belonging to `email`
        (a verified email, or None)."""
        payload = {"sid": session_id, "origin": origin, "iat": int(self._clock()), "who": self._digest(email)}
        token = self._serializer.dumps(payload)
        if not isinstance(token, str):
            raise InvariantError(f"a session token is {type(token).__name__}, not str (URLSafeSerializer writes text)")
        return token

    def verify(self, token: str | None, origin: str, email: str | None) -> str | None:
        """The session id in a genuine, unexpired token issued to `origin` for the visitor
        signed in as `email` (a verified email, or None); None otherwise (missing, forged,
        malformed, expired, from another site, another person's). An anonymous session's
        token is good for a visitor who has signed in since; a token from before tokens named
        their person only for an anonymous visitor."""
        if not token:
            return None
        try:
            payload = self._serializer.loads(token)
        except BadData:
            return None
        if not isinstance(payload, dict):
            return None
        session_id, issued = payload.get("sid"), payload.get("iat")
        if not (isinstance(session_id, str) and session_id and type(issued) is int):
            return None
        if payload.get("origin") != origin or not -CLOCK_SKEW_S <= self._clock() - issued <= self._max_age_s:
            return None
        if "who" not in payload:
            return session_id if email is None else None
        owner = payload["who"]
        return session_id if owner is None or owner == self._digest(email) else None

    def _digest(self, email: str | None) -> str | None:
        """Whom a token belongs to, keyed with the secret: the token is signed, not encrypted,
        and a plain hash of the email in the visitor's storage would confirm a guessed address."""
        return None if email is None else hmac.new(self._secret, email.encode(), hashlib.sha256).hexdigest()[:32]


def identity_signature(secret: str, email: str) -> str:
    """What the embedding site computes on its server to vouch for a visitor's email."""
    return hmac.new(secret.encode(), email.strip().lower().encode(), hashlib.sha256).hexdigest()


def verified_email(secret: str | None, email: str | None, signature: str | None) -> str | None:
    """The email, normalized, when `signature` is its valid signature under `secret`."""
    if email is None or signature is None or secret is None:
        return None
    expected = identity_signature(secret, email)
    return email.strip().lower() if hmac.compare_digest(expected, signature.lower()) else None
