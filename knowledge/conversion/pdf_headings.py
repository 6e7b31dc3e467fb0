"""PDFs: headings found, body text put back into paragraphs.

A PDF holds positioned lines, not headings or paragraphs; markitdown gave its text back line by
line, so a document was one section and a heading read as a sentence of the body. Here, with
pdfminer.six's layout analysis:

- headings are the lines the document's outline (bookmarks) names, on the page each bookmark
  points to, at the bookmark's depth; without a usable outline, the short lines set clearly
  larger than the body's most common size (≥ 12 %: 13 pt over 11 pt, not 12 pt), a level per
  size, largest first. A line larger than every bookmarked heading before the first of them is
  the title above them (Word exports Heading styles as bookmarks, but not its Title);
- the title is the first top-level heading, else the document's Title metadata, else the name;
- a borderless table is a markdown table (`pdf_tables`);
- the lines of one layout box are one paragraph, joined with spaces (a line that ends in a
  hyphen joins the next without one and keeps it: "two-year"); a line that starts with a
  bullet (•, ▪, –…) is a `- ` list item, one that starts with a number (`2.`, `3)`) a numbered
  one. A box set a hanging indent right of the list item before it (within `_HANGING_INDENT`)
  is the rest of that item, wrapped: "1. Call us on 0808 157 0192. We need" and, indented
  below it, "30 days' notice." are one item, not an item and a paragraph of its own. A bullet
  drawn apart from its text, alone on its line, starts the item of the line after it;
- a page that opens in lower case after a page whose last line ends no sentence goes on with
  that sentence ("…Three missed bookings in 30 days" and "means you cannot book classes…"),
  unless that line ends in a number (a footer's "Page 1 of 2").

Bold text of the body's size is not taken for a heading without an outline: bold is emphasis
as often. Repeated page headers and footers stay in the text.
"""

from __future__ import annotations

import io
import logging
import re
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from pdfminer.converter import PDFPageAggregator
from pdfminer.layout import LAParams, LTChar, LTFigure, LTPage, LTTextBox, LTTextLine
from pdfminer.pdfdocument import PDFDocument, PDFNoOutlines
from pdfminer.pdfinterp import PDFPageInterpreter, PDFResourceManager
from pdfminer.pdfpage import PDFPage
from pdfminer.pdfparser import PDFParser
from pdfminer.pdftypes import PDFObjRef, resolve1
from pdfminer.psexceptions import PSException
from pdfminer.psparser import PSLiteral
from pdfminer.utils import decode_text

from knowledge.conversion.pdf_tables import Cell, find_tables
from knowledge.ingest.chunking import Chunk, chunk_sections

log = logging.getLogger(__name__)

HEADING_RATIO = 1.12
"""How much larger than the body's size a line must be to be a heading."""
_HEADING_MAX_CHARS = 150
_HEADING_MAX_LINES = 3
_OUTLINE_MAX_ENTRIES = 2000
_BULLET_GLYPHS = "\u2022\u25cf\u25aa\u25a0\u25e6\u2023\u2043"
_BULLET = re.compile(rf"^[{_BULLET_GLYPHS}\u2013\u2014*\-]\s+")
_NUMBERED = re.compile(r"^\(?\d{1,3}[.)]\s+")
_LONE_BULLET = re.compile(rf"[{_BULLET_GLYPHS}]")
"""A bullet glyph alone on its line, drawn apart from its item's text (a dash alone is no bullet:
it may be a separator or a table's empty cell)."""
_LETTER = re.compile(r"[^\W\d_]")
_HANGING_INDENT = (2.0, 36.0)
"""How far right of a list item's start (points) the wrapped rest of the item begins: past its
marker, not as far as a second column."""


@dataclass(frozen=True, slots=True)
class _Line:
    text: str
    size: float  # the size most of its characters have, to the half point
    page: int
    box: int  # lines of one layout box are one paragraph
    left: float = 0.0  # where the line starts on the page (points from the left edge)
    table: bool = False  # the text is a markdown table (`pdf_tables`), never a heading


@dataclass(frozen=True, slots=True)
class _Heading:
    first: int  # index of its first line
    count: int  # lines it spans
    level: int
    text: str


@dataclass(frozen=True, slots=True)
class _Bookmark:
    level: int
    title: str
    page: int | None  # the page it points to, when it can be told


def pdf_chunks(data: bytes, *, stem: str, max_chars: int) -> list[Chunk]:
    document = PDFDocument(PDFParser(io.BytesIO(data)))
    page_numbers: dict[object, int] = {}
    lines: list[_Line] = []
    for number, layout in enumerate(_layouts(document, page_numbers)):
        lines += _page_lines(layout, number, first_box=lines[-1].box + 1 if lines else 0)
    headings = _outline_headings(lines, _bookmarks(document, page_numbers)) or _font_headings(lines)
    return chunk_sections(_sections(lines, headings), stem=stem, max_chars=max_chars, title=_metadata_title(document))


def _layouts(document: PDFDocument, page_numbers: dict[object, int]) -> Iterator[LTPage]:
    """Each page's layout, in order; `page_numbers` learns each page object's number."""
    resources = PDFResourceManager(caching=True)
    device = PDFPageAggregator(resources, laparams=LAParams(all_texts=True))
    interpreter = PDFPageInterpreter(resources, device)
    for number, page in enumerate(PDFPage.create_pages(document)):
        page_numbers[page.pageid] = number
        interpreter.process_page(page)
        yield device.get_result()


def _page_lines(layout: LTPage, page: int, *, first_box: int) -> list[_Line]:
    """The page's lines in reading order, a table's lines as one line holding the table."""
    lines: list[_Line] = []
    cells: list[Cell] = []
    for box, element in enumerate(_text_boxes(layout), start=first_box):
        for item in element:
            if not isinstance(item, LTTextLine):
                continue
            text = " ".join(item.get_text().split())
            sizes = Counter(
                round(char.size * 2) / 2 for char in item if isinstance(char, LTChar) and char.get_text().strip()
            )
            if text and sizes:
                lines.append(_Line(text, sizes.most_common(1)[0][0], page, box, item.x0))
                cells.append(Cell(text, item.x0, item.x1, item.y0, item.y1))
    tables = find_tables(cells, page_width=layout.width)
    if not tables:
        return lines
    in_table = {i for table in tables for i in table.cells}
    placed = [(cells[i].y1, line) for i, line in enumerate(lines) if i not in in_table]  # (its top, line)
    for table in sorted(tables, key=lambda t: -t.top):
        # before the first line read that lies below its top: layout analysis may read a small
        # table's columns before the heading above it
        at = next((k for k, (top, _) in enumerate(placed) if top < table.top), len(placed))
        first = lines[min(table.cells)]
        placed.insert(at, (table.top, _Line(table.markdown, first.size, page, first.box, table=True)))
    return [line for _, line in placed]


def _text_boxes(layout: LTPage | LTFigure) -> Iterator[LTTextBox]:
    """The page's text boxes in reading order, those inside figures (form XObjects) too."""
    for element in layout:
        if isinstance(element, LTTextBox):
            yield element
        elif isinstance(element, LTFigure):
            yield from _text_boxes(element)


def _body_size(lines: Sequence[_Line]) -> float:
    """The size most characters of the document have."""
    sizes: Counter[float] = Counter()
    for line in lines:
        if not line.table:
            sizes[line.size] += len(line.text)
    return sizes.most_common(1)[0][0] if sizes else 0.0


def _font_headings(lines: Sequence[_Line]) -> list[_Heading]:
    """Runs of short lines (in one box, of one size) set clearly larger than the body."""
    threshold = _body_size(lines) * HEADING_RATIO
    runs: list[tuple[int, int]] = []  # (first line, count)
    for i, line in enumerate(lines):
        if line.table or line.size < threshold or len(line.text) > _HEADING_MAX_CHARS:
            continue
        if (
            runs
            and (start := runs[-1])[0] + start[1] == i
            and (prev := lines[i - 1]).box == line.box
            and prev.size == line.size
        ):
            runs[-1] = (start[0], start[1] + 1)
        else:
            runs.append((i, 1))
    runs = [
        (first, count)
        for first, count in runs
        if count <= _HEADING_MAX_LINES and _LETTER.search(" ".join(line.text for line in lines[first : first + count]))
    ]
    ranks = {size: rank for rank, size in enumerate(sorted({lines[first].size for first, _ in runs}, reverse=True))}
    return [
        _Heading(
            first,
            count,
            min(ranks[lines[first].size] + 1, 6),
            " ".join(line.text for line in lines[first : first + count]),
        )
        for first, count in runs
    ]


def _normal(text: str) -> str:
    return " ".join(text.casefold().split())


def _outline_headings(lines: Sequence[_Line], bookmarks: Sequence[_Bookmark]) -> list[_Heading]:
    """The lines the bookmarks name (each line, or two lines of a box read together, found on
    the bookmark's page when it says one, once each, in order), and the title above them."""
    places: dict[str, list[tuple[int, int]]] = {}  # the text a line (or two) reads → (first line, count)
    for i, line in enumerate(lines):
        if line.table:
            continue
        places.setdefault(_normal(line.text), []).append((i, 1))
        if i + 1 < len(lines) and lines[i + 1].box == line.box and not lines[i + 1].table:
            places.setdefault(_normal(f"{line.text} {lines[i + 1].text}"), []).append((i, 2))
    headings: list[_Heading] = []
    position = 0
    for bookmark in bookmarks:
        found = next(
            (
                (i, count)
                for i, count in places.get(_normal(bookmark.title), ())
                if i >= position and (bookmark.page is None or lines[i].page == bookmark.page)
            ),
            None,
        )
        if found is not None:
            headings.append(_Heading(found[0], found[1], min(bookmark.level, 6), bookmark.title.strip()))
            position = found[0] + found[1]
    if not headings:
        return []
    largest = max(lines[h.first].size for h in headings)
    above = [h for h in _font_headings(lines) if h.first < headings[0].first and lines[h.first].size > largest]
    if not above:
        return headings
    title = max(above, key=lambda h: lines[h.first].size)
    return [_Heading(title.first, title.count, 1, title.text)] + [
        _Heading(h.first, h.count, min(h.level + 1, 6), h.text) for h in headings
    ]


def _sections(lines: Sequence[_Line], headings: Sequence[_Heading]) -> Iterator[tuple[int, str, str]]:
    """(level, heading, body) in order, level 0 for the text before the first heading."""
    level, heading, start = 0, "", 0
    for found in headings:
        yield level, heading, _body(lines[start : found.first])
        level, heading, start = found.level, found.text, found.first + found.count
    yield level, heading, _body(lines[start:])


def _body(lines: Sequence[_Line]) -> str:
    """Paragraphs, one per layout box, a blank line apart; list items one under another; a page
    that opens by going on with the sentence the page before left unfinished joins it
    (`_continues`)."""
    blocks: list[list[str]] = []
    box = None
    item_left: float | None = None  # where the last list item's first line starts
    markers = 0  # bullets drawn apart from their text: the next lines are their items
    page = None
    for line in lines:
        turned, page = page is not None and line.page != page, line.page
        if line.table:
            blocks.append([line.text])
            box, item_left, markers = None, None, 0
            continue
        if _LONE_BULLET.fullmatch(line.text.strip()):
            markers += 1
            continue
        bullet = _BULLET.match(line.text)
        text = f"- {line.text[bullet.end() :]}" if bullet else line.text
        item = bullet is not None or _NUMBERED.match(line.text) is not None
        if markers and not item:
            text, item, markers = f"- {text}", True, markers - 1
        if line.box != box:
            box = line.box
            wrapped = item_left is not None and _HANGING_INDENT[0] <= line.left - item_left <= _HANGING_INDENT[1]
            if item and blocks and _is_item(blocks[-1][-1]):
                blocks[-1].append(text)  # the next item of a list laid out a box per item
            elif (
                not item
                and blocks
                and ((wrapped and _is_item(blocks[-1][-1])) or (turned and _continues(blocks[-1][-1], text)))
            ):
                blocks[-1][-1] = _joined(blocks[-1][-1], text)
                continue
            else:
                blocks.append([text])
            item_left = line.left if item else None
        elif item:
            blocks[-1].append(text)
            item_left = line.left
        else:
            blocks[-1][-1] = _joined(blocks[-1][-1], text)
    return "\n\n".join("\n".join(block) for block in blocks)


def _joined(last: str, text: str) -> str:
    """A wrapped line after the one before it: with a space, or none after a hyphen ("two-year")."""
    return f"{last}{text}" if last.endswith("-") and not last.endswith(" -") else f"{last} {text}"


def _continues(last: str, text: str) -> bool:
    """Whether the first line of a page goes on with the sentence the page before left
    unfinished ("…Three missed bookings in 30 days" then "means you cannot book…"): it starts in
    lower case and the line before ends no sentence, is no table and no page number ("Page 1 of
    2", a footer)."""
    return text[:1].islower() and not last.rstrip().endswith((".", "!", "?", ":", "|", *"0123456789"))


def _is_item(text: str) -> bool:
    return text.startswith("- ") or _NUMBERED.match(text) is not None


def _bookmarks(document: PDFDocument, page_numbers: dict[object, int]) -> list[_Bookmark]:
    """The outline's entries, each with the page it points to when that can be told; none for
    a document without one, or whose outline cannot be read (the font sizes are used then)."""
    bookmarks: list[_Bookmark] = []
    try:
        for level, title, dest, action, _ in document.get_outlines():
            if len(bookmarks) >= _OUTLINE_MAX_ENTRIES:
                break
            if isinstance(title, str) and title.strip():
                bookmarks.append(_Bookmark(level, title, _page_of(document, dest, action, page_numbers)))
    except PDFNoOutlines:
        return []
    except Exception as exc:  # noqa: BLE001 — a damaged outline raises anything (a cyclic one recurses); the text is still there
        log.warning("a PDF's outline cannot be read, its headings are found by size: %s: %s", type(exc).__name__, exc)
        return []
    return bookmarks


def _page_of(document: PDFDocument, dest: object, action: object, page_numbers: dict[object, int]) -> int | None:
    """The number of the page a bookmark's destination (or GoTo action) points to."""
    try:
        return _resolve_page(document, dest, action, page_numbers)
    except (PSException, KeyError, TypeError, ValueError):  # a destination that is not there: any page
        return None


def _resolve_page(document: PDFDocument, dest: object, action: object, page_numbers: dict[object, int]) -> int | None:
    if dest is None and isinstance(action := resolve1(action), dict) and _name(action.get("S")) == "GoTo":
        dest = action.get("D")
    dest = resolve1(dest)
    if isinstance(dest, str | bytes | PSLiteral):
        dest = resolve1(document.get_dest(dest.name if isinstance(dest, PSLiteral) else dest))
    if isinstance(dest, dict):
        dest = resolve1(dest.get("D"))
    if isinstance(dest, list) and dest and isinstance(dest[0], PDFObjRef):
        return page_numbers.get(dest[0].objid)
    return None


def _name(value: object) -> str | None:
    return value.name if isinstance(value, PSLiteral) and isinstance(value.name, str) else None


def _metadata_title(document: PDFDocument) -> str | None:
    for info in document.info:
        title = resolve1(info.get("Title"))
        if isinstance(title, bytes):
            title = decode_text(title)
        if isinstance(title, str) and title.strip():
            return " ".join(title.split())
    return None
