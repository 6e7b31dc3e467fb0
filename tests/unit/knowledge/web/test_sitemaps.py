"""Reading a sitemap: pages and nested sitemaps, gzipped or plain text too; and what it refuses
(not a sitemap, broken, an entity bomb, a gzip bomb) with a reason."""

from __future__ import annotations

import gzip
import re

import pytest

from knowledge.web.sitemaps import SitemapEntries, SitemapError, parse_sitemap
from tests.fakes.help_site import sitemap_index, urlset


def test_a_urlset_lists_its_pages_and_only_their_locations() -> None:
    data = b"""<?xml version="1.0" encoding="UTF-8"?>
<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9" xmlns:image="http://www.google.com/schemas/sitemap-image/1.1">
  <url><loc> https://help.example.com/a </loc><lastmod>2025-01-01</lastmod>
    <image:image><image:loc>https://cdn.example.com/a.png</image:loc></image:image></url>
  <!-- <url><loc>https://help.example.com/commented-out</loc></url> -->
  <url><loc>https://help.example.com/b?x=1&amp;y=2</loc></url>
</urlset>"""

    assert parse_sitemap(data) == SitemapEntries(
        pages=["https://help.example.com/a", "https://help.example.com/b?x=1&y=2"], sitemaps=[]
    )


def test_an_index_lists_sitemaps_and_gzip_or_plain_text_read_the_same() -> None:
    index = sitemap_index(["https://help.example.com/s1.xml", "https://help.example.com/s2.xml.gz"])
    pages = ["https://help.example.com/a", "https://help.example.com/b"]

    assert parse_sitemap(index).sitemaps == ["https://help.example.com/s1.xml", "https://help.example.com/s2.xml.gz"]
    assert parse_sitemap(gzip.compress(urlset(pages))).pages == pages
    assert parse_sitemap(b"\xef\xbb\xbf" + urlset(pages)).pages == pages
    assert parse_sitemap("\n".join(pages).encode() + b"\n\n").pages == pages


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"<!doctype html><html><body>Not here</body></html>", "not well-formed XML"),
        (b"<html><body>Moved</body></html>", "not a sitemap (the document is <html>)"),
        (b"<urlset><url><loc>https://a.example/</loc>", "not well-formed XML"),
        (b"\x1f\x8b\x08\x00garbage", "broken gzip"),
        (gzip.compress(b" " * 2_000_000), "unpacks to more than 1000000 bytes"),
    ],
    ids=["html", "xhtml", "truncated", "broken-gzip", "gzip-bomb"],
)
def test_what_is_no_readable_sitemap_is_refused_with_a_reason(data: bytes, reason: str) -> None:
    with pytest.raises(SitemapError, match=re.escape(reason)):
        parse_sitemap(data, max_bytes=1_000_000)


def test_entities_are_never_expanded() -> None:
    bomb = b"""<?xml version="1.0"?>
<!DOCTYPE urlset [<!ENTITY a "https://help.example.com/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa">
<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;"><!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">]>
<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"><url><loc>&c;</loc></url></urlset>"""

    assert parse_sitemap(bomb).pages == []
