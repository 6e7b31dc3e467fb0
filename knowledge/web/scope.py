"""Which URLs a source covers, and the one spelling of a URL the crawl and its results use."""

from __future__ import annotations

import re
from dataclasses import dataclass

from yarl import URL


def canonical(url: str, base: str | None = None) -> str | None:
    """`url` (resolved against `base` when relative) as the crawl spells it: http(s) only, with
    a host, the fragment dropped, the host lower-cased, a default port and an empty path
    normalised (yarl's spelling). None for anything else (`mailto:`, `javascript:`, garbage)."""
    try:
        parsed = URL(url.strip())
        if base is not None and not parsed.is_absolute():
            parsed = URL(base).join(parsed)
    except ValueError:
        return None
    if parsed.scheme not in ("http", "https") or not parsed.host:
        return None
    if parsed.raw_path == "/" and not parsed.raw_query_string:
        parsed = parsed.with_path("/")  # yarl prints `https://host` for both; the crawl says `https://host/`
    return str(parsed.with_fragment(None))


def loggable(url: str) -> str:
    """`url` without its query string, which may carry a token: what logs and reasons show."""
    try:
        return str(URL(url).with_query(None).with_fragment(None))
    except ValueError:
        return "<malformed URL>"


def origin(url: str) -> str:
    """Scheme, host and port: `https://help.example.com`."""
    return str(URL(url).origin())


@dataclass(frozen=True, slots=True)
class Scope:
    """A page is in scope when it is on the source's origin (same scheme, host and port), its
    path starts with one of `allow` (any path when empty), its URL matches one of `include`
    (any when empty) and none of `exclude`."""

    origin: str
    allow: tuple[str, ...] = ()
    include: tuple[re.Pattern[str], ...] = ()
    exclude: tuple[re.Pattern[str], ...] = ()

    def on_site(self, url: str) -> bool:
        return origin(url) == self.origin

    def contains(self, url: str) -> bool:
        """`url` must be canonical (see `canonical`)."""
        if not self.on_site(url):
            return False
        if self.allow and not URL(url).path.startswith(self.allow):
            return False
        if self.include and not any(pattern.search(url) for pattern in self.include):
            return False
        return not any(pattern.search(url) for pattern in self.exclude)
