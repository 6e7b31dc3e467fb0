"""A sitemap crawl through a sitemap index: gzipped children are read, a child that cannot be
read leaves the listing incomplete (and says which and why) without losing the others."""

from __future__ import annotations

import gzip

import pytest

from knowledge.web import listing
from knowledge.web.crawl import crawl
from tests.fakes.help_site import FakeHelpSite, sitemap_index, urlset
from tests.unit.knowledge.web.conftest import source_for


async def test_an_index_of_plain_and_gzipped_sitemaps_lists_every_page(help_site: FakeHelpSite) -> None:
    help_site.serve("/sitemaps/a.xml", urlset([help_site.url_of("/help/")]), content_type="application/xml")
    help_site.serve(
        "/sitemaps/b.xml.gz",
        gzip.compress(urlset([help_site.url_of("/help/billing"), "/help/getting-started"])),
        content_type="application/gzip",
    )
    help_site.serve("/sitemap_index.xml", sitemap_index(["/sitemaps/a.xml", help_site.url_of("/sitemaps/b.xml.gz")]))

    result = await crawl(source_for(help_site, url=help_site.url_of("/sitemap_index.xml")), {})

    assert {page.url.removeprefix(help_site.url) for page in result.pages} == {
        "/help/",
        "/help/billing",
        "/help/getting-started",  # a relative <loc>, read against its sitemap
    }
    assert result.complete and result.listing_errors == []


async def test_a_child_sitemap_that_cannot_be_read_leaves_the_listing_incomplete(help_site: FakeHelpSite) -> None:
    help_site.serve("/sitemaps/a.xml", urlset([help_site.url_of("/help/")]), content_type="application/xml")
    help_site.serve("/sitemaps/broken.xml", "oops", status=500, content_type="text/plain")
    help_site.serve(
        "/sitemap_index.xml",
        sitemap_index(
            [
                help_site.url_of("/sitemaps/broken.xml"),
                "https://cdn.example.invalid/sitemap.xml",
                help_site.url_of("/private/sitemap.xml"),
                help_site.url_of("/sitemaps/a.xml"),
            ]
        ),
    )

    result = await crawl(source_for(help_site, url=help_site.url_of("/sitemap_index.xml")), {})

    assert [page.url for page in result.pages] == [help_site.url_of("/help/")]
    assert not result.complete
    assert result.listing_errors == [
        (help_site.url_of("/sitemaps/broken.xml"), "HTTP 500"),
        ("https://cdn.example.invalid/sitemap.xml", "on another site (https://cdn.example.invalid)"),
        (help_site.url_of("/private/sitemap.xml"), f"robots.txt disallows {help_site.url_of('/private/sitemap.xml')}"),
    ]
    assert help_site.requests_to("/private/") == []


async def test_a_sitemap_that_moved_on_the_site_is_followed(help_site: FakeHelpSite) -> None:
    help_site.redirect("/old-sitemap.xml", "/sitemap.xml")

    result = await crawl(source_for(help_site, url=help_site.url_of("/old-sitemap.xml")), {})

    assert result.complete and len(result.pages) == 4


async def test_a_robots_txt_redirected_off_the_site_counts_as_unreadable(help_site: FakeHelpSite) -> None:
    help_site.redirect("/robots.txt", "https://robots.example.invalid/robots.txt")

    result = await crawl(source_for(help_site), {})

    assert not result.complete and result.pages == []
    assert result.listing_errors == [
        (help_site.url_of("/robots.txt"), f"{help_site.url_of('/robots.txt')}: redirected off the site")
    ]


async def test_an_index_that_lists_a_sitemap_twice_or_itself_reads_each_once_up_to_the_cap(
    help_site: FakeHelpSite, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(listing, "MAX_SITEMAPS", 3)
    for name in "abcd":
        help_site.serve(f"/sitemaps/{name}.xml", urlset([help_site.url_of(f"/help/{name}")]))
        help_site.serve(f"/help/{name}", f"<h1>{name}</h1><p>Page {name} of the help centre.</p>")
    children = ["/sitemap_index.xml", "/sitemaps/a.xml", "/sitemaps/a.xml", "/sitemaps/b.xml", "/sitemaps/c.xml"]
    help_site.serve("/sitemap_index.xml", sitemap_index([*children, "/sitemaps/d.xml"]))

    result = await crawl(source_for(help_site, url=help_site.url_of("/sitemap_index.xml")), {})

    # pages come in the order they finish loading, which a busy machine may swap
    assert sorted(page.url.removeprefix(help_site.url) for page in result.pages) == ["/help/a", "/help/b"]
    assert result.listing_errors == [(help_site.url_of("/sitemaps/c.xml"), "more than 3 sitemaps")]
    assert [len(help_site.requests_to(path)) for path in ("/sitemap_index.xml", "/sitemaps/a.xml")] == [1, 1]
    assert help_site.requests_to("/sitemaps/d.xml") == []
