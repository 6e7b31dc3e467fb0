"""Crawl one website source, politely and incrementally: what changed, what is unchanged,
what is gone and what could not be read this time.

    result = await crawl(source, known)      # known: url -> Seen, as the last crawl left them

robots.txt is read first (unreadable: nothing is fetched, the result is incomplete). Then the
pages the sitemap lists (kind `sitemap`) or the pages reached by links from the start page
(kind `site`) are fetched by `source.concurrency` workers sharing one pace, each known page
with its validators, so an unchanged page costs one 304. The caller stores the results and
decides, when the result is `complete`, that a known page not met at all is gone.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from knowledge.web.extraction import UnreadablePage, read_page
from knowledge.web.fetching import Answer, Fetcher, FetchError, follow
from knowledge.web.listing import read_sitemaps
from knowledge.web.robots import Robots, RobotsUnreachable, read_robots
from knowledge.web.scope import Scope, canonical, loggable, origin
from knowledge.web.settings import SiteSource, product_token

log = logging.getLogger(__name__)

HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})


@dataclass(frozen=True, slots=True)
class Seen:
    """What a crawl keeps of a page for the next one (the caller stores it)."""

    etag: str | None
    last_modified: str | None
    links: tuple[str, ...] = ()
    """The in-scope links the page had (kind `site` only): followed again when it answers 304."""


@dataclass(frozen=True, slots=True)
class Page:
    """A page fetched with 200."""

    url: str
    """Canonical (no fragment): the URL listed, or where a redirect on the site led."""
    title: str
    markdown: str
    """The main content only, `# title` first; headings, lists and tables kept."""
    seen: Seen


@dataclass(frozen=True, slots=True)
class CrawlResult:
    pages: list[Page]
    """New or changed pages."""
    unchanged: list[str]
    """Known pages that answered 304 Not Modified."""
    gone: list[str]
    """Pages that answered 404 or 410, redirect out of scope, or are known but now out of scope
    or disallowed by robots.txt."""
    failed: list[tuple[str, str]]
    """(url, reason): a 5xx or other error status, a timeout, a connection error, too big, not
    HTML, a redirect off the site. The old content is to be kept."""
    complete: bool
    """The listing was read whole (robots.txt read, every sitemap read; or every link followed,
    from a start page that answered) within max_pages: only then may a known page not met at
    all count as gone."""
    skipped_by_robots: list[str] = field(default_factory=lambda: [])
    """Pages listed or linked that robots.txt disallows: never requested."""
    listing_errors: list[tuple[str, str]] = field(default_factory=lambda: [])
    """(url, reason): robots.txt or a sitemap that could not be read (why `complete` is False)."""
    request_interval_s: float = 0.0
    """The spacing between requests the crawl kept: 1 / requests_per_second, or robots.txt's
    Crawl-delay when slower."""


class _Gone(Exception):
    """A redirect leads out of scope: the page listed has no content of its own here any more."""


class _Alias(Exception):
    """A redirect leads to a page the crawl already has in hand."""


async def crawl(
    source: SiteSource, known: Mapping[str, Seen], *, progress: Callable[[int, int], None] | None = None
) -> CrawlResult:
    """Crawl `source`; `known` is what the last crawl kept of each page, by URL. `progress` is
    called with (pages done, pages listed so far) as each page completes."""
    scope = source.scope()
    async with Fetcher.open(source) as fetcher:
        try:
            robots = await read_robots(fetcher, scope.origin, token=product_token(source.user_agent))
        except RobotsUnreachable as error:
            log.warning("%s: robots.txt unreadable, nothing fetched: %s", source.name, error)
            return CrawlResult(
                pages=[],
                unchanged=[],
                gone=[],
                failed=[],
                complete=False,
                listing_errors=[(f"{scope.origin}/robots.txt", str(error))],
                request_interval_s=fetcher.pacer.interval_s,
            )
        fetcher.pacer.slow_to(robots.interval_s())
        run = _Crawl(source, scope=scope, robots=robots, known=known, fetcher=fetcher, progress=progress)
        result = await run.run()
    log.info(
        "%s: %d new or changed, %d unchanged, %d gone, %d failed%s",
        source.name,
        len(result.pages),
        len(result.unchanged),
        len(result.gone),
        len(result.failed),
        "" if result.complete else " (incomplete)",
    )
    return result


class _Crawl:
    """One crawl's state: the URLs met, the queue, and the outcomes so far."""

    def __init__(
        self,
        source: SiteSource,
        *,
        scope: Scope,
        robots: Robots,
        known: Mapping[str, Seen],
        fetcher: Fetcher,
        progress: Callable[[int, int], None] | None,
    ) -> None:
        self.source = source
        self.scope = scope
        self.robots = robots
        self.known = known
        self.fetcher = fetcher
        self.progress = progress
        self.follows_links = source.kind == "site"
        self.start = canonical(source.url) or source.url
        self.queue: asyncio.Queue[str] = asyncio.Queue()
        self.met: set[str] = set()
        self.listed = 0
        self.done = 0
        self.truncated = False
        self.blind = False
        """A page failed whose links were never known: the walk may have missed pages."""
        self.start_answered = False
        self.pages: list[Page] = []
        self.unchanged: list[str] = []
        self.gone: list[str] = []
        self.failed: list[tuple[str, str]] = []
        self.skipped: list[str] = []

    async def run(self) -> CrawlResult:
        self._retire_known()
        listing_errors: list[tuple[str, str]] = []
        if self.follows_links:
            self.offer(self.start)
        else:
            listing_errors = await read_sitemaps(
                self.fetcher, self.source.url, scope=self.scope, robots=self.robots, offer=self.offer
            )
        await self._drain()
        walked = self.start_answered and not self.blind if self.follows_links else not listing_errors
        return CrawlResult(
            pages=self.pages,
            unchanged=self.unchanged,
            gone=self.gone,
            failed=self.failed,
            complete=walked and not self.truncated,
            skipped_by_robots=list(dict.fromkeys(self.skipped)),  # a page may be met by link and by redirect
            listing_errors=listing_errors,
            request_interval_s=self.fetcher.pacer.interval_s,
        )

    def _retire_known(self) -> None:
        """Known pages now out of scope or disallowed are gone, and never requested."""
        for url in self.known:
            if not self.scope.contains(url):
                self.gone.append(url)
            elif not self.robots.allows(url):
                self.gone.append(url)
                self.skipped.append(url)
            else:
                continue
            self.met.add(url)

    def offer(self, url: str) -> bool:
        """Queue `url` (canonical) unless it was met before, is out of scope or disallowed;
        False once max_pages are queued, and the crawl is then incomplete."""
        if url in self.met or not self.scope.contains(url):
            return True
        self.met.add(url)
        if not self.robots.allows(url):
            self.skipped.append(url)
            return True
        if self.listed == self.source.max_pages:
            self.met.discard(url)
            self.truncated = True
            return False
        self.listed += 1
        self.queue.put_nowait(url)
        return True

    async def _drain(self) -> None:
        """Run the workers until the queue is empty and none holds a page; an error outside
        one page's handling (a failing progress callback) ends the crawl with it."""
        async with asyncio.TaskGroup() as group:
            workers = [group.create_task(self._work()) for _ in range(self.source.concurrency)]
            await self.queue.join()
            for worker in workers:
                worker.cancel()

    async def _work(self) -> None:
        while True:
            url = await self.queue.get()
            try:
                await self._visit(url)
            except Exception:  # one page's surprise never ends the crawl; its old text is kept
                log.warning("%s: unexpected error", loggable(url), exc_info=True)
                self._fail([url], "unexpected error")
            finally:
                self.done += 1
                self.queue.task_done()
            if self.progress is not None:
                self.progress(self.done, self.listed)

    async def _visit(self, url: str) -> None:
        chain = [url]

        def may_follow(target: str) -> None:
            if not self.scope.on_site(target):
                raise FetchError(f"redirected off the site, to {origin(target)}")
            if not self.scope.contains(target):
                raise _Gone(f"redirected out of scope, to {loggable(target)}")
            if not self.robots.allows(target):
                self.skipped.append(target)
                raise _Gone(f"redirected to {loggable(target)}, which robots.txt disallows")
            if target in self.met and target not in chain:
                raise _Alias
            self.met.add(target)
            chain.append(target)

        try:
            final, answer = await follow(
                self.fetcher, url, may_follow=may_follow, headers_for=self._validators, content_types=HTML_TYPES
            )
        except FetchError as error:
            self._fail(chain, str(error))
        except _Gone as error:
            log.info("%s: %s", loggable(url), error)
            self.gone.extend(chain)
        except _Alias:
            log.debug("%s: redirects to a page already in hand", loggable(url))
        else:
            answered = await self._settle(chain, final, answer)
            self.start_answered = self.start_answered or (answered and url == self.start)

    async def _settle(self, chain: list[str], final: str, answer: Answer) -> bool:
        """File the final answer; True when the page answered with its content (200 or 304)."""
        if answer.status == 200:
            try:
                text = await asyncio.to_thread(read_page, answer.body, url=final, charset=answer.charset)
            except UnreadablePage as error:
                self._fail(chain, str(error))
                return False
            links = tuple(link for link in text.links if self.scope.contains(link)) if self.follows_links else ()
            seen = Seen(etag=answer.etag, last_modified=answer.last_modified, links=links)
            self.pages.append(Page(url=final, title=text.title, markdown=text.markdown, seen=seen))
            self._follow(links)
            return True
        if answer.status == 304 and self._validators(final):
            self.unchanged.append(final)
            self._follow_known(chain)
            return True
        if answer.status in (404, 410):
            log.info("%s: gone (HTTP %d)", loggable(final), answer.status)
            self.gone.extend(chain)
        else:
            self._fail(chain, f"HTTP {answer.status}")
        return False

    def _fail(self, chain: list[str], reason: str) -> None:
        """Every URL of a redirect chain that ended badly keeps its old content; for kind site,
        their known links are followed as if they had answered."""
        log.warning("%s: %s", loggable(chain[0]), reason)
        self.failed.extend((url, reason) for url in chain)
        if self.follows_links and not any(url in self.known for url in chain):
            self.blind = True
        self._follow_known(chain)

    def _follow_known(self, chain: list[str]) -> None:
        for url in chain:
            if url in self.known:
                self._follow(self.known[url].links)

    def _follow(self, links: tuple[str, ...]) -> None:
        if self.follows_links:
            for link in links:
                self.offer(link)

    def _validators(self, url: str) -> dict[str, str]:
        """The conditional request headers for a known page (none for a new one)."""
        seen = self.known.get(url)
        headers: dict[str, str] = {}
        if seen is not None and seen.etag:
            headers["If-None-Match"] = seen.etag
        if seen is not None and seen.last_modified:
            headers["If-Modified-Since"] = seen.last_modified
        return headers
