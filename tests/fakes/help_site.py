"""A local help-centre website, for the crawler (`knowledge.web`) and the tests above it.

    async with FakeHelpSite() as site:                  # or the `help_site` fixture
        source = SiteSource(kind="sitemap", name="help", url=site.url_of("/sitemap.xml"))
        site.change("/help/billing", article("Billing", "<p>New prices.</p>"))   # new ETag too
        site.remove("/help/billing")                    # 404 from now on
        site.fail("/help/billing", status=500)          # until the next change
        site.redirect("/help/old", "/help/new")         # or to an absolute URL elsewhere
        site.serve("/robots.txt", "", status=503)       # any answer at any path
        site.requests_to("/private/")                   # what arrived, with its answer's status

What it serves from the start (`HELP_CENTRE`): articles under `/help/` wrapped in the chrome a
real help centre has (a cookie banner, a header navigation, a sidebar, a footer with
"© Example Inc"), the rich one (`/help/getting-started`) with headings, lists and a table;
`/help/billing/refunds`, linked only from `/help/billing`'s text; `/help/whats-new`, which
answers 404 to its first request and is there afterwards; `/private/staff-notes`, which
robots.txt (`ROBOTS`) disallows; `/blog/launch`, outside `/help/`; and `/sitemap.xml`, built
on each request from the pages added as listed (every page above but the blog post).

Pages carry an ETag and a Last-Modified and answer 304 to a request whose `If-None-Match`
(or, without one, `If-Modified-Since`) still matches. Every request is recorded once
answered, with its headers and the status it got.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime, parsedate_to_datetime
from html import escape
from types import TracebackType

from aiohttp import web
from aiohttp.typedefs import Handler
from multidict import CIMultiDict, CIMultiDictProxy

from core.sandbox.stand_in import StandIn

ROBOTS = "User-agent: *\nDisallow: /private/\n"
CHROME_PHRASES = (
    "We use cookies",
    "Accept all cookies",
    "Help home",
    "Staff notes",
    "Popular articles",
    "© Example Inc",
)
"""Words of the navigation, banner, sidebar and footer around every article: none belongs in a
page's main content."""
_EPOCH = datetime(2025, 1, 6, 9, 0, tzinfo=UTC)
_CHUNK = 64 * 1024


def article(title: str, body: str) -> str:
    """A help-centre page: `title` as its `<title>` (with the site's suffix) and `<h1>`, and
    `body` (HTML) inside the `<article>`, amid the site's chrome."""
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{escape(title)} | Example Help Center</title></head>
<body>
<div class="cookie-banner" id="cookie-consent"><p>We use cookies to make this help centre better.</p>
<button>Accept all cookies</button></div>
<header class="site-header"><a class="logo" href="/help/">Example Help Center</a>
<nav class="main-nav"><ul>
<li><a href="/help/">Help home</a></li><li><a href="/help/getting-started">Getting started</a></li>
<li><a href="/help/billing">Billing</a></li><li><a href="/help/whats-new">What's new</a></li>
<li><a href="/private/staff-notes">Staff notes</a></li><li><a href="/blog/launch">Blog</a></li>
<li><a href="https://status.example.invalid/">Status</a></li>
</ul></nav></header>
<div class="layout">
<aside class="sidebar"><h3>Popular articles</h3><ul>
<li><a href="/help/getting-started">Getting started</a></li><li><a href="/help/billing">Billing and invoices</a></li>
</ul></aside>
<main><article><h1>{escape(title)}</h1>
{body}
</article></main>
</div>
<footer class="site-footer"><p>© Example Inc. All rights reserved.</p></footer>
</body></html>
"""


GETTING_STARTED = article(
    "Getting started",
    """<p>Welcome to Example. This guide walks you through creating a workspace and inviting your
team, so that everyone can work together from the first day.</p>
<h2>Create your workspace</h2>
<ol><li>Sign in to your account.</li><li>Choose <strong>New workspace</strong>.</li><li>Give it a name and confirm.</li></ol>
<h2>Invite your team</h2>
<p>Invitations are sent by email and expire after seven days.</p>
<ul><li>Admins can invite anyone.</li><li>Members can invite guests only.</li></ul>
<h2>Plans and seats</h2>
<table><thead><tr><th>Plan</th><th>Seats</th><th>Price</th></tr></thead>
<tbody><tr><td>Starter</td><td>5</td><td>$10</td></tr><tr><td>Team</td><td>50</td><td>$99</td></tr></tbody></table>
<p>Need more seats? Contact sales from the billing page.</p>""",
)
HELP_CENTRE: Mapping[str, str] = {
    "/help/": article(
        "Example Help Center",
        """<p>Answers about your Example account, from the first sign-in to the last invoice.</p>
<ul><li><a href="/help/getting-started">Getting started</a></li><li><a href="/help/billing">Billing and invoices</a></li></ul>""",
    ),
    "/help/getting-started": GETTING_STARTED,
    "/help/billing": article(
        "Billing and invoices",
        """<p>Invoices are issued on the first day of each month and sent to the billing contact.
Read the <a href="/help/billing/refunds">refund policy</a> before cancelling a yearly plan.</p>
<h2>Changing the billing contact</h2><p>Owners change it under Settings, then Billing.</p>""",
    ),
    "/help/billing/refunds": article(
        "Refund policy",
        "<p>Yearly plans are refunded in full within 30 days of purchase, and pro rata afterwards.</p>",
    ),
    "/help/whats-new": article("What's new", "<p>Dark mode arrived for every workspace in March.</p>"),
    "/private/staff-notes": article("Staff notes", "<p>Internal only: the refund override code is 4711.</p>"),
}
UNLISTED: Mapping[str, str] = {
    "/blog/launch": article("We launched", "<p>Example is live. Read all about it.</p>"),
}
FLAKY = "/help/whats-new"


@dataclass(frozen=True, slots=True)
class SiteRequest:
    """One request as it was answered. `headers` look up in any case."""

    method: str
    path: str
    query: Mapping[str, str]
    headers: Mapping[str, str]
    status: int


@dataclass(slots=True)
class _Resource:
    body: bytes
    content_type: str = "text/html"
    status: int = 200
    etag: str | None = None
    last_modified: datetime | None = None
    location: str | None = None
    chunked: bool = False
    stalled: bool = False
    failures_left: int = 0
    failure_status: int = 404
    headers: dict[str, str] = field(default_factory=lambda: {})


def urlset(urls: Iterable[str]) -> bytes:
    """A sitemap listing `urls`."""
    entries = "".join(f"<url><loc>{escape(url)}</loc></url>" for url in urls)
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{entries}</urlset>\n'
    ).encode()


def sitemap_index(urls: Iterable[str]) -> bytes:
    """A sitemap index listing the sitemaps at `urls`."""
    entries = "".join(f"<sitemap><loc>{escape(url)}</loc></sitemap>" for url in urls)
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{entries}</sitemapindex>\n'
    ).encode()


def generated_help_centre(count: int) -> dict[str, str]:
    """`count` articles at `/help/articles/NNNNN`, each linking the next three (so a crawl from
    the first reaches them all) and holding a list and a table."""
    pages: dict[str, str] = {}
    for number in range(count):
        following = "".join(
            f'<li><a href="/help/articles/{other:05d}">Article {other}</a></li>'
            for other in range(number + 1, min(number + 4, count))
        )
        pages[f"/help/articles/{number:05d}"] = article(
            f"Article {number}",
            f"""<p>This article explains feature {number} of Example in enough words to be a page
of its own: what it does, who may use it and where to find it in the settings.</p>
<h2>How to use feature {number}</h2><ol><li>Open Settings.</li><li>Choose feature {number}.</li><li>Save.</li></ol>
<h2>Limits</h2><table><tr><th>Plan</th><th>Uses per day</th></tr><tr><td>Starter</td><td>{number % 50}</td></tr></table>
<h2>Read next</h2><ul>{following}</ul>""",
        )
    return pages


class FakeHelpSite(StandIn):
    def __init__(
        self,
        pages: Mapping[str, str] = HELP_CENTRE,
        *,
        unlisted: Mapping[str, str] = UNLISTED,
        robots: str | None = ROBOTS,
        flaky: Iterable[str] = (FLAKY,),
    ) -> None:
        """A site serving `pages` (path -> HTML, listed in /sitemap.xml) and `unlisted` ones,
        with `robots` at /robots.txt (None: 404); each of `flaky` answers 404 once first."""
        super().__init__()
        self.requests: list[SiteRequest] = []
        self.listed: list[str] = []
        """The paths /sitemap.xml lists, in order."""
        self._resources: dict[str, _Resource] = {}
        self._without_etag: set[str] = set()
        self._clock = 0
        self._closing = asyncio.Event()
        for path, html in pages.items():
            self.add(path, html)
        for path, html in unlisted.items():
            self.add(path, html, listed=False)
        if robots is not None:
            self.serve("/robots.txt", robots, content_type="text/plain")
        for path in flaky:
            self.flaky(path)

    def url_of(self, path: str) -> str:
        return f"{self.url}{path}"

    def add(self, path: str, html: str, *, listed: bool = True, etag: bool = True) -> None:
        """Serve `html` at `path` with a Last-Modified, and an ETag unless `etag` is False;
        listed in /sitemap.xml when `listed`. (`serve` answers with neither.)"""
        if listed and path not in self.listed:
            self.listed.append(path)
        if not etag:
            self._without_etag.add(path)
        self._resources[path] = self._page(html, etag=etag)

    def change(self, path: str, html: str) -> None:
        """New content at `path` (a new ETag, a later Last-Modified); clears a `fail` or `remove`."""
        self._resources[path] = self._page(html, etag=path not in self._without_etag)

    def remove(self, path: str) -> None:
        """`path` answers 404 from now on (and leaves the sitemap)."""
        self._resources.pop(path, None)
        if path in self.listed:
            self.listed.remove(path)

    def fail(self, path: str, *, status: int = 500) -> None:
        """`path` answers `status` until it is changed."""
        self._resources[path] = _Resource(body=f"error {status}".encode(), content_type="text/plain", status=status)

    def flaky(self, path: str, *, failures: int = 1, status: int = 404) -> None:
        """The next `failures` requests for `path` answer `status`; then it is served as before."""
        resource = self._resources.setdefault(path, _Resource(body=b"", status=404))
        resource.failures_left, resource.failure_status = failures, status

    def redirect(self, path: str, location: str, *, status: int = 301, listed: bool = False) -> None:
        """`path` redirects to `location` (a path on this site, or any absolute URL)."""
        self._resources[path] = _Resource(body=b"", status=status, location=location)
        if listed and path not in self.listed:
            self.listed.append(path)

    def serve(
        self,
        path: str,
        body: str | bytes,
        *,
        content_type: str = "text/html",
        status: int = 200,
        chunked: bool = False,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        """Answer `path` with exactly this (no validators); `chunked`: streamed with no
        Content-Length. Serving /sitemap.xml replaces the generated one."""
        data = body.encode() if isinstance(body, str) else body
        self._resources[path] = _Resource(
            body=data, content_type=content_type, status=status, chunked=chunked, headers=dict(headers or {})
        )

    def stall(self, path: str) -> None:
        """`path` answers only once the site is closing (a request that times out)."""
        self._resources[path] = _Resource(body=b"", stalled=True)

    def requests_to(self, path_prefix: str) -> list[SiteRequest]:
        """The requests whose path starts with `path_prefix`, in the order they were answered."""
        return [request for request in self.requests if request.path.startswith(path_prefix)]

    def sitemap(self) -> bytes:
        return urlset(self.url_of(path) for path in self.listed)

    def app(self) -> web.Application:
        app = web.Application(middlewares=[self._record])
        app.router.add_get("/{path:.*}", self._answer)
        return app

    async def stop(self) -> None:
        self._closing.set()  # lets a stalled path answer, so the shutdown does not wait on it
        await super().stop()

    async def __aenter__(self) -> FakeHelpSite:
        await self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()

    def _page(self, html: str, *, etag: bool) -> _Resource:
        self._clock += 1
        body = html.encode()
        tag = f'"{hashlib.sha256(body).hexdigest()[:16]}"' if etag else None
        return _Resource(body=body, etag=tag, last_modified=_EPOCH + timedelta(minutes=self._clock))

    @web.middleware
    async def _record(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        response = await handler(request)
        self.requests.append(
            SiteRequest(
                method=request.method,
                path=request.path,
                query=dict(request.query),
                headers=CIMultiDictProxy(CIMultiDict(request.headers)),
                status=response.status,
            )
        )
        return response

    async def _answer(self, request: web.Request) -> web.StreamResponse:
        resource = self._resources.get(request.path)
        if resource is None and request.path == "/sitemap.xml":
            return web.Response(body=self.sitemap(), content_type="application/xml")
        if resource is None:
            return web.Response(status=404, text="not found")
        if resource.failures_left > 0:
            resource.failures_left -= 1
            return web.Response(status=resource.failure_status, text="not yet")
        if resource.stalled:
            await self._closing.wait()
        if resource.location is not None:
            return web.Response(status=resource.status, headers={"Location": resource.location})
        headers = dict(resource.headers)
        if resource.etag is not None:
            headers["ETag"] = resource.etag
        if resource.last_modified is not None:
            headers["Last-Modified"] = format_datetime(resource.last_modified, usegmt=True)
            if _not_modified(request, resource):
                return web.Response(status=304, headers=headers)
        if resource.chunked:
            return await _stream(request, resource, headers)
        return web.Response(
            status=resource.status, body=resource.body, content_type=resource.content_type, headers=headers
        )


def _not_modified(request: web.Request, resource: _Resource) -> bool:
    """RFC 9110: If-None-Match decides when present; else If-Modified-Since."""
    if_none_match = request.headers.get("If-None-Match")
    if if_none_match is not None:
        return resource.etag is not None and resource.etag in {tag.strip() for tag in if_none_match.split(",")}
    if_modified_since = request.headers.get("If-Modified-Since")
    if if_modified_since is None or resource.last_modified is None:
        return False
    try:
        return resource.last_modified <= parsedate_to_datetime(if_modified_since)
    except (TypeError, ValueError):
        return False


async def _stream(request: web.Request, resource: _Resource, headers: Mapping[str, str]) -> web.StreamResponse:
    response = web.StreamResponse(status=resource.status, headers={**headers, "Content-Type": resource.content_type})
    response.enable_chunked_encoding()
    await response.prepare(request)
    for start in range(0, len(resource.body), _CHUNK):
        await response.write(resource.body[start : start + _CHUNK])
    await response.write_eof()
    return response
