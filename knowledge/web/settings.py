"""One `[[knowledge.sources]]` entry of kind `sitemap` or `site`: a help centre read from a website.

Everything is checked when the settings load, and an error names the key: the URL is http(s),
the path prefixes start with `/`, the regular expressions compile, the user agent starts with
the product token robots.txt is matched against, and a site's start page is itself in scope.
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from knowledge.web.scope import Scope, canonical, origin

DEFAULT_USER_AGENT = "supporthub-knowledge/1 (+https://github.com/supporthub/supporthub)"
_PRODUCT_TOKEN = re.compile(r"[A-Za-z_-]+")
"""RFC 9309's product token: what a robots.txt `User-agent:` line names."""


def product_token(user_agent: str) -> str:
    """The product token a user agent starts with (`supporthub-knowledge` for the default)."""
    match = _PRODUCT_TOKEN.match(user_agent)
    if match is None:
        raise ValueError(f"user_agent {user_agent!r} must start with a product token (letters, '-' or '_')")
    return match.group()


class SiteSource(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)

    kind: Literal["sitemap", "site"] = Field(
        description="`sitemap`: the pages a sitemap lists; `site`: the pages reached by following links from a start page"
    )
    name: str = Field(
        pattern=r"^[a-z0-9][a-z0-9_-]{0,62}$",
        description="unique per hub; names the source in the dashboard and in its documents' origin",
    )
    url: str = Field(
        description="http(s): the sitemap (kind sitemap; a sitemap index and .xml.gz too) or the start page (kind site)"
    )
    allow: list[str] = Field(
        default_factory=lambda: [],
        description="path prefixes a page must start with (`/help/`); empty: every path on the URL's host",
    )
    include: list[str] = Field(
        default_factory=lambda: [],
        description="regular expressions a page's URL must match one of (searched anywhere in it); empty: all",
    )
    exclude: list[str] = Field(
        default_factory=lambda: [], description="regular expressions that rule a page's URL out (`[?]page=`)"
    )
    max_pages: int = Field(1000, ge=1, description="pages fetched per crawl at most; past it the crawl is incomplete")
    requests_per_second: float = Field(
        2.0,
        gt=0,
        description="requests to the site per second at most (robots.txt Crawl-delay wins when slower)",
    )
    concurrency: int = Field(2, ge=1, le=32, description="requests in flight at once at most")
    user_agent: str = Field(
        DEFAULT_USER_AGENT,
        min_length=1,
        max_length=200,
        description="the User-Agent header; robots.txt rules are matched against its leading product token",
    )
    timeout_s: float = Field(30, gt=0, le=600, description="what one request may take, body included")
    max_page_bytes: int = Field(
        5_000_000, ge=1024, description="a page larger than this (once decompressed) is not read; its old text is kept"
    )
    grace_hours: float = Field(
        72, ge=0, description="a page gone (404, 410, no longer listed) this long is removed from the index"
    )

    def scope(self) -> Scope:
        """The pages this source covers."""
        return Scope(
            origin=origin(canonical(self.url) or self.url),
            allow=tuple(self.allow),
            include=tuple(re.compile(pattern) for pattern in self.include),
            exclude=tuple(re.compile(pattern) for pattern in self.exclude),
        )

    @field_validator("url")
    @classmethod
    def _http_url(cls, url: str) -> str:
        if canonical(url) is None:
            raise ValueError(f"{url!r} is not an http(s) URL with a host")
        return url

    @field_validator("allow")
    @classmethod
    def _path_prefixes(cls, prefixes: list[str]) -> list[str]:
        for prefix in prefixes:
            if not prefix.startswith("/"):
                raise ValueError(f"{prefix!r}: a path prefix starts with '/'")
        return prefixes

    @field_validator("include", "exclude")
    @classmethod
    def _patterns(cls, patterns: list[str]) -> list[str]:
        for pattern in patterns:
            try:
                re.compile(pattern)
            except re.error as error:
                raise ValueError(f"{pattern!r} is not a regular expression: {error}") from None
        return patterns

    @field_validator("user_agent")
    @classmethod
    def _user_agent(cls, user_agent: str) -> str:
        if not user_agent.isprintable():
            raise ValueError("user_agent holds a control character")
        product_token(user_agent)
        return user_agent

    @model_validator(mode="after")
    def _start_page_in_scope(self) -> SiteSource:
        if self.kind == "site" and not self.scope().contains(canonical(self.url) or self.url):
            raise ValueError(f"url {self.url!r}: the start page must itself pass allow, include and exclude")
        return self
