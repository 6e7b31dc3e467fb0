"""Requests to the site, politely: each paced, timed out and size-capped. aiohttp follows no
redirect by itself: `follow` walks them one hop at a time, and its caller decides where a
redirect may lead (on the site, in scope, allowed by robots.txt)."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass

import aiohttp

from knowledge.web.pacing import Pacer
from knowledge.web.scope import canonical, loggable
from knowledge.web.settings import SiteSource

log = logging.getLogger(__name__)

REDIRECTS = frozenset({301, 302, 303, 307, 308})
MAX_REDIRECTS = 5
_CHUNK = 64 * 1024


class FetchError(Exception):
    """The request got no usable answer; the message is the reason, safe to show and log."""


@dataclass(frozen=True, slots=True)
class Answer:
    """What the site answered. `body` is read only for a 200; `location` is a redirect's target,
    resolved and canonical (None when absent or not http(s))."""

    status: int
    content_type: str
    charset: str | None
    etag: str | None
    last_modified: str | None
    location: str | None
    body: bytes


class Fetcher:
    """Requests to one site through one aiohttp session and one pacer."""

    def __init__(self, session: aiohttp.ClientSession, pacer: Pacer, *, max_bytes: int) -> None:
        self.session = session
        self.pacer = pacer
        self.max_bytes = max_bytes

    @classmethod
    @asynccontextmanager
    async def open(cls, source: SiteSource) -> AsyncIterator[Fetcher]:
        """A fetcher for one crawl: the source's user agent, timeout, rate and concurrency;
        no cookies kept, no proxy taken from the environment."""
        session = aiohttp.ClientSession(
            headers={"User-Agent": source.user_agent},
            timeout=aiohttp.ClientTimeout(total=source.timeout_s),
            connector=aiohttp.TCPConnector(limit=source.concurrency),
            cookie_jar=aiohttp.DummyCookieJar(),
        )
        async with session:
            yield cls(session, Pacer(source.requests_per_second), max_bytes=source.max_page_bytes)

    async def get(
        self,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        content_types: frozenset[str] | None = None,
        max_bytes: int | None = None,
    ) -> Answer:
        """GET `url` once, after waiting for the pace. A 200 whose media type is not in
        `content_types` (when given) or whose body passes `max_bytes` (the page cap by default,
        counted as it arrives, after decompression) raises FetchError, as do timeouts and
        connection errors."""
        cap = self.max_bytes if max_bytes is None else max_bytes
        await self.pacer.wait()
        log.debug("GET %s", loggable(url))
        try:
            async with self.session.get(url, headers=headers, allow_redirects=False) as response:
                body = b""
                if response.status == 200:
                    if content_types is not None and response.content_type not in content_types:
                        raise FetchError(f"not a web page ({response.content_type or 'no content type'})")
                    body = await _read_capped(response, cap)
                location = response.headers.get("Location")
                return Answer(
                    status=response.status,
                    content_type=response.content_type,
                    charset=response.charset,
                    etag=response.headers.get("ETag"),
                    last_modified=response.headers.get("Last-Modified"),
                    location=canonical(location, url) if location else None,
                    body=body,
                )
        except TimeoutError:
            raise FetchError(f"no answer within {self.session.timeout.total:g} s") from None
        except aiohttp.ClientError as error:
            raise FetchError(_describe(error)) from None


async def follow(
    fetcher: Fetcher,
    url: str,
    *,
    may_follow: Callable[[str], None],
    headers_for: Callable[[str], Mapping[str, str]] | None = None,
    content_types: frozenset[str] | None = None,
    max_bytes: int | None = None,
) -> tuple[str, Answer]:
    """GET `url` and the redirects it leads to, at most five; each target is first handed to
    `may_follow`, which raises to refuse it (FetchError: off the site). The URL that gave the
    last answer, and that answer (a redirect only when it named no http(s) Location)."""
    for _ in range(MAX_REDIRECTS + 1):
        headers = headers_for(url) if headers_for is not None else None
        answer = await fetcher.get(url, headers=headers, content_types=content_types, max_bytes=max_bytes)
        if answer.status not in REDIRECTS or answer.location is None:
            return url, answer
        may_follow(answer.location)
        url = answer.location
    raise FetchError(f"more than {MAX_REDIRECTS} redirects")


async def _read_capped(response: aiohttp.ClientResponse, cap: int) -> bytes:
    declared = response.content_length
    if declared is not None and declared > cap:
        raise FetchError(f"too big ({declared} bytes; the cap is {cap})")
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.content.iter_chunked(_CHUNK):
        size += len(chunk)
        if size > cap:
            raise FetchError(f"too big (more than {cap} bytes)")
        chunks.append(chunk)
    return b"".join(chunks)


def _describe(error: aiohttp.ClientError) -> str:
    """A connection error in words, without the URL some of aiohttp's messages repeat (its
    query string may hold a token)."""
    detail = type(error).__name__
    if isinstance(error, aiohttp.ClientConnectorError) and error.os_error.strerror:
        detail = f"{detail}: {error.os_error.strerror}"
    return f"connection failed ({detail})"
