"""Whether a URL a request names may be called: its host is one the settings list, or under one,
over https (plain http only on this machine's loopback, where tests and the sandbox serve)."""

from __future__ import annotations

from collections.abc import Sequence
from urllib.parse import urlsplit

LOOPBACK = ("127.0.0.1", "::1", "localhost")


def allowed(url: str, hosts: Sequence[str]) -> bool:
    """`url` is https (or http on loopback) and its host is one of `hosts` or a subdomain of one."""
    try:
        parts = urlsplit(url)
        host = (parts.hostname or "").lower().rstrip(".")
        parts.port  # noqa: B018 — a port that is not a number raises here
    except ValueError:
        return False
    if not host or parts.username is not None or parts.password is not None:
        return False
    if parts.scheme != "https" and not (parts.scheme == "http" and host in LOOPBACK):
        return False
    return any(host == allowed or host.endswith("." + allowed) for allowed in hosts)
