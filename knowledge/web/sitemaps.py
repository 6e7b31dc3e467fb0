"""A sitemap's contents (sitemaps.org 0.9): the pages a `<urlset>` lists, the sitemaps a
`<sitemapindex>` lists, or the URLs of a plain-text sitemap; gzipped or not.

Parsed here rather than with a sitemap library because the ones on PyPI fetch for themselves
(ultimate-sitemap-parser with requests, trafilatura's with urllib3), outside the crawl's pace,
user agent and robots.txt; what is left is twenty lines of lxml. The XML parser resolves no
entities, loads no DTD and reaches no network, and a gzipped sitemap is unpacked only up to
the cap, so neither a billion laughs nor a gzip bomb costs more than the cap.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass

from lxml import etree

SITEMAP_MAX_BYTES = 50 * 1024 * 1024
"""The protocol's limit for one sitemap, uncompressed."""
_GZIP_MAGIC = b"\x1f\x8b"


class SitemapError(Exception):
    """Not a sitemap we could read; the message says why."""


@dataclass(frozen=True, slots=True)
class SitemapEntries:
    pages: list[str]
    sitemaps: list[str]


def parse_sitemap(data: bytes, *, max_bytes: int = SITEMAP_MAX_BYTES) -> SitemapEntries:
    """The `<loc>`s of a sitemap or sitemap index, as written (not yet resolved or checked)."""
    if data.startswith(_GZIP_MAGIC):
        data = _gunzip(data, max_bytes)
    text_start = data.lstrip(b"\xef\xbb\xbf \t\r\n")[:1]  # past a byte-order mark and blank lines
    if text_start and text_start != b"<":
        lines = data.decode("utf-8", errors="replace").splitlines()
        return SitemapEntries(pages=[line.strip() for line in lines if line.strip()], sitemaps=[])
    parser = etree.XMLParser(resolve_entities=False, load_dtd=False, no_network=True, huge_tree=False)
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as error:
        raise SitemapError(f"not well-formed XML ({error})") from None
    kind = etree.QName(root).localname
    if kind not in ("urlset", "sitemapindex"):
        raise SitemapError(f"not a sitemap (the document is <{kind}>)")
    locations = [
        element.text.strip()
        for element in root.iter("{*}loc")
        if element.text and element.text.strip() and etree.QName(element.getparent()).localname in ("url", "sitemap")
    ]
    if kind == "urlset":
        return SitemapEntries(pages=locations, sitemaps=[])
    return SitemapEntries(pages=[], sitemaps=locations)


def _gunzip(data: bytes, max_bytes: int) -> bytes:
    unpacker = zlib.decompressobj(wbits=31)
    try:
        unpacked = unpacker.decompress(data, max_bytes + 1)
    except zlib.error as error:
        raise SitemapError(f"broken gzip ({error})") from None
    if len(unpacked) > max_bytes:
        raise SitemapError(f"unpacks to more than {max_bytes} bytes")
    if not unpacker.eof:
        raise SitemapError("broken gzip (it ends early)")
    return unpacked
