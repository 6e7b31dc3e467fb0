"""What the hub takes as a document's public address: the one check behind a front matter
`url:`, a folder's `base_url` and a pushed article's `url`, because that address becomes a
link on every channel and in the dashboard."""

from __future__ import annotations

from urllib.parse import urlsplit

_NEVER = frozenset('<>|"`\\{}^')
"""Characters a link must not hold raw: they end or split a link in Slack's `<url|label>`,
an HTML attribute or markdown."""


def web_address(value: str) -> str | None:
    """`value` when it is an http(s) address with a host and nothing in it that could break a
    link out of its place (whitespace, control characters, `<>|"…`); None otherwise."""
    if not value or any(c.isspace() or not c.isprintable() or c in _NEVER for c in value):
        return None
    try:
        parts = urlsplit(value)
    except ValueError:  # a malformed address ("http://[::1")
        return None
    return value if parts.scheme.lower() in ("http", "https") and parts.hostname else None


def checked_address(value: str) -> str:
    """For settings and request bodies: `value` unchanged, empty allowed; raises ValueError."""
    if value and web_address(value) is None:
        raise ValueError('must be an http:// or https:// address with a host, without spaces or <>|"')
    return value
