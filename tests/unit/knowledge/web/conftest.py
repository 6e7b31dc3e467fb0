"""The fake help centre every crawl test reads, and the source settings pointing at it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from knowledge.web.settings import SiteSource
from tests.fakes.help_site import FakeHelpSite


@pytest.fixture
async def help_site() -> AsyncIterator[FakeHelpSite]:
    async with FakeHelpSite() as site:
        yield site


def source_for(site: FakeHelpSite, kind: str = "sitemap", **settings: Any) -> SiteSource:
    """A source reading `site`: its /sitemap.xml, or from /help/ within /help/ (kind site);
    fast enough that the pace is never what a test waits on."""
    defaults: dict[str, Any] = {"requests_per_second": 1000.0, "timeout_s": 30.0}
    if kind == "site":
        defaults |= {"url": site.url_of("/help/"), "allow": ["/help/"]}
    else:
        defaults |= {"url": site.url_of("/sitemap.xml")}
    return SiteSource.model_validate({"kind": kind, "name": "help", **defaults, **settings})
