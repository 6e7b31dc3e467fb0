"""Who a widget visitor is: a server-signed session token, and optionally an email the
embedding site vouched for.

A visitor's session is a server-signed token holding a random session id; the widget keeps
the token in localStorage and sends it in its first frame, so no cookie is involved and a
page on any origin can embed the widget.

Identity: a site that knows its visitor may pass their email with an HMAC-SHA256 of it under
`web.identity_secret` (computed on the site's server). A valid signature makes the email
verified, linking the visitor to the same contact on every channel (memory follows them).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import secrets
from pathlib import Path

from itsdangerous import BadData, URLSafeSerializer

log = logging.getLogger(__name__)

TOKEN_SALT = "supporthub-widget"
SECRET_FILE = "web_session_secret"


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
    """Signs and checks widget session tokens; a token carries only a random session id."""

    def __init__(self, secret: str) -> None:
        self._serializer = URLSafeSerializer(secret, salt=TOKEN_SALT)

    def issue(self) -> tuple[str, str]:
        """A fresh session: (session_id, token)."""
        session_id = secrets.token_urlsafe(16)
        return session_id, self.sign(session_id)

    def sign(self, session_id: str) -> str:
        token = self._serializer.dumps({"sid": session_id})
        assert isinstance(token, str)
        return token

    def verify(self, token: str | None) -> str | None:
        """The session id in a genuine token; None for a missing, forged or malformed one."""
        if not token:
            return None
        try:
            payload = self._serializer.loads(token)
        except BadData:
            return None
        session_id = payload.get("sid") if isinstance(payload, dict) else None
        return session_id if isinstance(session_id, str) and session_id else None


def identity_signature(secret: str, email: str) -> str:
    """What the embedding site computes on its server to vouch for a visitor's email."""
    return hmac.new(secret.encode(), email.strip().lower().encode(), hashlib.sha256).hexdigest()


def verified_email(secret: str | None, email: str | None, signature: str | None) -> str | None:
    """The email, normalized, when `signature` is its valid signature under `secret`."""
    if email is None or signature is None or secret is None:
        return None
    expected = identity_signature(secret, email)
    return email.strip().lower() if hmac.compare_digest(expected, signature.lower()) else None
