"""A website source's crawl as part of an ingest run's plan (`knowledge.web` fetches).

Each page is a document named by its URL, which is also its citation's link. The validators
a page answered with (and, for a crawl by links, the links it had) are kept on its row, so the
next crawl asks "changed since?" and an unchanged page costs one 304; they are not sent when
the page was converted by an older `CONVERSION`, or when the index lost its chunks, so that
such a page is fetched and converted again.

Nothing is removed on one failed fetch: a page that answered 5xx, timed out or could not be
read keeps its old text (the run lists it, with the reason, for the dashboard), and an
incomplete crawl (robots.txt or the sitemap unreadable, `max_pages` reached) keeps every page
it did not meet. A page gone (404, 410, out of scope, or not listed by a complete crawl) is
marked gone at the first run that finds it so, kept meanwhile, and removed by the first run
after its source's `grace_hours`; back before then, it is unmarked.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any

from knowledge.conversion import CONVERSION
from knowledge.ingest import origins
from knowledge.ingest.chunking import chunk_markdown
from knowledge.ingest.plan import Plan, Planned, Stored
from knowledge.tables import SkippedFile
from knowledge.web.crawl import CrawlResult, Seen, crawl
from knowledge.web.settings import SiteSource

log = logging.getLogger(__name__)

MAX_URL_CHARS = 1000
"""A document's name is its URL, and a name is at most this long (`KnowledgeDocument.source`)."""
_VERSION = CONVERSION.decode()


def _seen(page: Mapping[str, Any] | None, *, validators: bool) -> Seen:
    page = page or {}
    current = validators and page.get("conversion") == _VERSION
    return Seen(
        etag=page.get("etag") if current else None,
        last_modified=page.get("last_modified") if current else None,
        links=tuple(page.get("links") or ()),
    )


def _kept(seen: Seen) -> dict[str, Any]:
    return {
        "etag": seen.etag,
        "last_modified": seen.last_modified,
        "links": list(seen.links),
        "conversion": _VERSION,
    }


async def plan_site(
    plan: Plan,
    source: SiteSource,
    stored: Mapping[str, Stored],
    *,
    consistent: bool,
    now: datetime,
    max_chars: int,
    progress: Callable[[int, int], None] | None = None,
) -> CrawlResult:
    """Crawl `source` and add to `plan` its new and changed pages, the rows to update (new
    validators, gone since, back) and the pages past their grace period (`plan.gone`)."""
    origin = origins.site(source.name)
    mine = {url: row for url, row in stored.items() if row.origin == origin}
    known = {url: _seen(row.page, validators=consistent) for url, row in mine.items()}
    result = await crawl(source, known, progress=progress)
    for page in result.pages:
        if len(page.url) > MAX_URL_CHARS:
            plan.skipped.append(SkippedFile(page.url[:MAX_URL_CHARS], f"a URL longer than {MAX_URL_CHARS} characters"))
            continue
        if page.url in plan.seen:  # a file, or an earlier source covering the same page, has it
            log.warning("%s is indexed already (another source covers it): %s leaves it", page.url, source.name)
            continue
        plan.seen.add(page.url)
        content_hash = hashlib.sha256(CONVERSION + b"web:" + page.markdown.encode("utf-8")).hexdigest()
        row = stored.get(page.url)
        if consistent and row is not None and row.origin == origin and row.content_hash == content_hash:
            plan.unchanged += 1  # fetched again (new validators, or none sent) with the same text
            plan.update(page.url, page=_kept(page.seen), missing_since=None)
            continue
        chunks = chunk_markdown(page.markdown, stem=page.title or page.url, max_chars=max_chars)
        title = chunks[0].title if chunks else page.title or page.url
        plan.documents.append(
            Planned(
                page.url,
                content_hash,
                title,
                chunks,
                is_new=row is None,
                origin=origin,
                url=page.url,
                page=_kept(page.seen),
            )
        )
    for url in result.unchanged:
        plan.seen.add(url)
        plan.unchanged += 1
        if url in mine and mine[url].missing_since is not None:
            plan.update(url, missing_since=None)
    for url, reason in result.failed:
        plan.seen.add(url)
        plan.skipped.append(SkippedFile(url, reason))
    for url in result.skipped_by_robots:
        if url not in mine:  # a known page disallowed now is gone (below)
            plan.skipped.append(SkippedFile(url, "disallowed by robots.txt: never fetched"))
    for url, reason in result.listing_errors:
        plan.skipped.append(SkippedFile(url, f"the crawl is incomplete, nothing of it was removed: {reason}"))
    met = {page.url for page in result.pages} | set(result.unchanged) | {url for url, _ in result.failed}
    gone = set(result.gone) | ((set(mine) - met) if result.complete else set())
    for url in set(mine) - met - gone:
        plan.seen.add(url)  # not met by an incomplete crawl: kept as it is
    grace = timedelta(hours=source.grace_hours)
    for url in sorted(gone):
        row = mine.get(url)
        if row is None:  # never indexed: nothing to keep or remove, but a listed page that is not there is news
            if url in result.gone:
                plan.skipped.append(SkippedFile(url, "listed or linked, but gone (404 or 410)"))
            continue
        plan.seen.add(url)
        since = row.missing_since or now
        if now - since >= grace:
            plan.gone.add(url)
        elif row.missing_since is None:
            plan.update(url, missing_since=now)
    return result
