"""The pages a sitemap lists, through nested sitemap indexes, fetched like any other request
(paced, robots.txt honoured, redirects kept on the site)."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable

from knowledge.web.fetching import Fetcher, FetchError, follow
from knowledge.web.robots import Robots
from knowledge.web.scope import Scope, canonical, loggable, origin
from knowledge.web.sitemaps import SITEMAP_MAX_BYTES, SitemapEntries, SitemapError, parse_sitemap

MAX_SITEMAPS = 1000
"""Sitemaps read per crawl at most, whatever the indexes list."""


async def read_sitemaps(
    fetcher: Fetcher, url: str, *, scope: Scope, robots: Robots, offer: Callable[[str], bool]
) -> list[tuple[str, str]]:
    """Hands `offer` every page URL (canonical) the sitemap at `url` lists, directly or through
    indexes, and stops early once `offer` says no more. Returns the sitemaps that could not be
    read, each with the reason: the listing is whole only when there are none."""
    errors: list[tuple[str, str]] = []
    first = canonical(url) or url
    pending = deque([first])
    # Every sitemap ever queued, for a membership test in constant time (an index may list
    # hundreds of thousands); never more than one past the cap, which is enough to report it.
    queued = {first}
    read: set[str] = set()
    while pending:
        sitemap = pending.popleft()
        if len(read) == MAX_SITEMAPS:
            errors.append((sitemap, f"more than {MAX_SITEMAPS} sitemaps"))
            break
        read.add(sitemap)
        try:
            entries = await _read_one(fetcher, sitemap, scope=scope, robots=robots)
        except (FetchError, SitemapError) as error:
            errors.append((sitemap, str(error)))
            continue
        for child in entries.sitemaps:
            if len(queued) > MAX_SITEMAPS:
                break
            child_url = canonical(child, sitemap)
            if child_url is not None and child_url not in queued:
                queued.add(child_url)
                pending.append(child_url)
        for page in entries.pages:
            page_url = canonical(page, sitemap)
            if page_url is not None and not offer(page_url):
                return errors
    return errors


async def _read_one(fetcher: Fetcher, url: str, *, scope: Scope, robots: Robots) -> SitemapEntries:
    def allowed(target: str) -> None:
        if not scope.on_site(target):
            raise FetchError(f"on another site ({origin(target)})")
        if not robots.allows(target):
            raise FetchError(f"robots.txt disallows {loggable(target)}")

    allowed(url)
    _, answer = await follow(fetcher, url, may_follow=allowed, max_bytes=SITEMAP_MAX_BYTES)
    if answer.status != 200:
        raise FetchError(f"HTTP {answer.status}")
    return parse_sitemap(answer.body)
