"""A help-centre page's main content as markdown, its title, and the links it holds.

trafilatura finds the main content and writes markdown itself (`include_tables`,
`include_formatting`, links and images off). Measured on the pages in tests/fixtures/web/
(modelled on Zendesk Guide, Intercom, Docusaurus, a WordPress knowledge base, a page of bare
divs and a two-line page), by the article's passages kept and the chrome's phrases leaked
(time: the six pages, in two runs):

| settings | kept | leaked | time |
|---|---|---|---|
| trafilatura's defaults | 32/34 | 2/46 | 263–461 ms |
| `MIN_EXTRACTED_SIZE = 1` (used) | 33/34 | 0/46 | 32–37 ms |
| `favor_precision` | 33/34 | 0/46 | 43–74 ms |
| to HTML, then markdownify | 32/34 | 2/46 | 76–87 ms |

The default's minimum of 250 characters sends a short page to a "baseline" rescue that takes
the navigation along; markdownify loses ordered lists' numbers, doubles code fences and does
not escape a `|` inside a table cell. The passage every setting missed was an Intercom table,
which Intercom marks `role="presentation"`, as if it were layout: such a table holding no
other table is given back its role of data before extracting (34/34 then). trafilatura writes
no separator row under a table whose header cells are `<td>`, which markdown then does not
read as a table; `_tidy` adds it.
"""

from __future__ import annotations

import re
from configparser import ConfigParser
from dataclasses import dataclass
from functools import cache

import trafilatura
from lxml import html as lxml_html
from markdownify import markdownify
from trafilatura.settings import use_config
from trafilatura.utils import decode_file, load_html

from knowledge.web.scope import canonical

_SITE_SUFFIX = re.compile(r"\s(?P<separator>[|–—·-])\s(?P<suffix>[^|–—·]+)$")
_HELP_WORDS = re.compile(r"\b(help|support|docs|documentation|knowledge base)\b", re.IGNORECASE)
_TABLE_ROW = re.compile(r"^\|.*\|$")
_SEPARATOR_ROW = re.compile(r"^\|(\s*:?-+:?\s*\|)+$")
_CELL_BORDER = re.compile(r"(?<!\\)\|")
_WORDS = re.compile(r"[\s,]+")
_FALLBACK_DROPPED = ("script", "style", "noscript", "template", "nav", "header", "footer", "aside", "form")


class UnreadablePage(Exception):
    """The body is not an HTML document we could parse, or holds no text at all."""


@dataclass(frozen=True, slots=True)
class PageText:
    title: str
    markdown: str
    """The main content, `# title` first."""
    links: tuple[str, ...]
    """Every http(s) link on the page (navigation included), canonical, in order, once each;
    none when the page asks robots not to follow them (`<meta name="robots" content="nofollow">`)."""


@cache
def _config() -> ConfigParser:
    config = use_config()
    config.set("DEFAULT", "MIN_EXTRACTED_SIZE", "1")
    return config


def read_page(body: bytes, *, url: str, charset: str | None) -> PageText:
    """The page at `url` whose bytes are `body` (in `charset` when the server named one)."""
    tree = load_html(_decode(body, charset))
    if tree is None:
        raise UnreadablePage("not an HTML document")
    links = _links(tree, url)
    title = _title(tree)
    _mark_data_tables(tree)
    markdown = trafilatura.extract(
        tree,
        url=url,
        output_format="markdown",
        include_tables=True,
        include_formatting=True,
        include_links=False,
        include_images=False,
        include_comments=False,
        config=_config(),
    ) or _fallback_markdown(tree)
    title = title or _first_heading(markdown)
    markdown = _tidy(markdown)
    if not title and not markdown:
        raise UnreadablePage("no text")
    heading = f"# {title}" if title else ""
    if markdown.partition("\n")[0].strip() != heading:
        markdown = f"{heading}\n\n{markdown}".strip()
    return PageText(title=title, markdown=markdown, links=links)


def _decode(body: bytes, charset: str | None) -> str:
    if charset:
        try:
            return body.decode(charset, errors="replace")
        except LookupError:  # a charset Python does not know: guess instead
            pass
    return decode_file(body)


def _links(tree: lxml_html.HtmlElement, url: str) -> tuple[str, ...]:
    robots = " ".join(tree.xpath("//meta[translate(@name, 'ROBTS', 'robts')='robots']/@content")).lower()
    if {"nofollow", "none"} & set(_WORDS.split(robots)):
        return ()
    base = canonical(str(tree.xpath("string(//base/@href)")), url) or url
    found = (canonical(str(href), base) for href in tree.xpath("//a[not(contains(@rel, 'nofollow'))]/@href"))
    return tuple(dict.fromkeys(link for link in found if link is not None))


def _mark_data_tables(tree: lxml_html.HtmlElement) -> None:
    """Intercom marks its articles' tables `role="presentation"`, which trafilatura flattens as
    layout; a table holding no other table is data."""
    for table in tree.xpath("//table[@role='presentation' or @role='none'][not(.//table)]"):
        del table.attrib["role"]


def _title(tree: lxml_html.HtmlElement) -> str:
    """The page's own title: its one `<h1>`; else `og:title` or `<title>` without the site's
    suffix; else its first `<h1>`. (trafilatura's metadata cuts a `<title>` at its first
    dash: "Import - export FAQ" would be "Import".)"""
    h1s = [text for text in (_text(element) for element in tree.xpath("//h1")) if text]
    if len(h1s) == 1:
        return h1s[0]
    site = " ".join(tree.xpath("string(//meta[@property='og:site_name']/@content)").split())
    for candidate in (tree.xpath("string(//meta[@property='og:title']/@content)"), tree.xpath("string(//title)")):
        title = " ".join(str(candidate).split())
        if title:
            return _without_site_suffix(title, site)
    return h1s[0] if h1s else ""


def _without_site_suffix(title: str, site: str) -> str:
    """`Billing | Acme`, `Billing – Acme Help Center`, `Billing - Acme` (when Acme is the
    `og:site_name`) are all `Billing`; `Import - export FAQ` stays whole."""
    match = _SITE_SUFFIX.search(title)
    if match is None or not title[: match.start()].strip():
        return title
    suffix = match["suffix"].strip()
    if match["separator"] == "|" or suffix == site or _HELP_WORDS.search(suffix):
        return title[: match.start()].strip()
    return title


def _text(element: lxml_html.HtmlElement) -> str:
    return " ".join(element.text_content().split())


def _first_heading(markdown: str) -> str:
    for line in markdown.splitlines():
        if line.startswith("#"):
            return line.lstrip("#").strip()
    return ""


def _fallback_markdown(tree: lxml_html.HtmlElement) -> str:
    """When trafilatura finds no main content (a near-empty page), the text of `<main>`,
    `<article>` or `<body>` without its scripts and navigation, rather than nothing."""
    for xpath in ("//main", "//article", "//body"):
        elements = tree.xpath(xpath)
        if elements:
            element = lxml_html.fromstring(lxml_html.tostring(elements[0]))  # a copy, to prune
            for dropped in element.xpath("|".join(f".//{tag}" for tag in _FALLBACK_DROPPED)):
                dropped.drop_tree()
            text: str = markdownify(lxml_html.tostring(element, encoding="unicode"), heading_style="ATX", bullets="-")
            if text.strip():
                return text
    return ""


def _tidy(markdown: str) -> str:
    """Lines without trailing spaces, at most one blank line in a row, and every table with
    the separator row under its first row that makes markdown read it as a table."""
    lines: list[str] = []
    header: str | None = None  # a table's first row, until the line after it
    for line in (line.rstrip() for line in markdown.splitlines()):
        if not line and (not lines or not lines[-1]):
            continue
        is_row = _TABLE_ROW.match(line) is not None
        if header is not None and is_row and not _SEPARATOR_ROW.match(line):
            lines.append("|" + "---|" * (len(_CELL_BORDER.findall(header)) - 1))
        header = line if is_row and not (lines and _TABLE_ROW.match(lines[-1])) else None
        lines.append(line)
    return "\n".join(lines).strip()
