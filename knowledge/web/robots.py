"""robots.txt, read once per crawl as RFC 9309 says: a 4xx means no rules; a 5xx, a 429, a
timeout or a redirect off the site means the site could not say, so nothing may be fetched."""

from __future__ import annotations

from dataclasses import dataclass

from protego import Protego

from knowledge.web.fetching import Fetcher, FetchError, follow
from knowledge.web.scope import loggable, origin


class RobotsUnreachable(Exception):
    """robots.txt could not be read; the message says why."""


@dataclass(frozen=True, slots=True)
class Robots:
    """The rules that apply to one product token; `rules` None: the site has no robots.txt."""

    token: str
    rules: Protego | None = None

    def allows(self, url: str) -> bool:
        return self.rules is None or self.rules.can_fetch(url, self.token)

    def interval_s(self) -> float:
        """The slowest spacing the site asks of this crawler (Crawl-delay, or Request-rate's
        seconds per request); 0 when it asks none."""
        if self.rules is None:
            return 0.0
        delay = self.rules.crawl_delay(self.token) or 0.0
        rate = self.rules.request_rate(self.token)
        per_request = rate.seconds / rate.requests if rate is not None and rate.requests > 0 else 0.0
        return max(delay, per_request)


async def read_robots(fetcher: Fetcher, site: str, *, token: str) -> Robots:
    """The rules of `site` (an origin) for `token`, from its `/robots.txt` (redirects followed
    on the same origin only); raises RobotsUnreachable when the site must count as all
    disallowed."""
    url = f"{site}/robots.txt"

    def on_site(target: str) -> None:
        if origin(target) != site:
            raise FetchError("redirected off the site")

    try:
        _, answer = await follow(fetcher, url, may_follow=on_site)
    except FetchError as error:
        raise RobotsUnreachable(f"{loggable(url)}: {error}") from None
    if answer.status == 200:
        return Robots(token, Protego.parse(answer.body.decode("utf-8", errors="replace")))
    if 400 <= answer.status < 500 and answer.status != 429:
        return Robots(token)
    raise RobotsUnreachable(f"{loggable(url)}: HTTP {answer.status}")
