"""Borderless tables on a PDF page: text lines side by side, read back as a markdown table.

pdfminer's layout analysis puts a table's cells in boxes column by column, so read as
paragraphs a price table came out a cell per paragraph, one column after another (markitdown
found such tables from pdfplumber's word positions). Here a table is a run of two or more
rows — lines sharing a baseline, two or more cells each — whose cells are short: a name, a
number, a few words (lines side by side that mostly hold six words or more are a page set in
columns), none as wide as a paragraph. A bullet or list number set apart from its text is
part of that text, not a cell. Columns are the cells' left edges, clustered; the first row is
the header, as for an HTML table without `<th>`. A cell wrapped over two lines reads as two
rows.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from knowledge.conversion.markdown_table import markdown_table

_MARKER = re.compile(
    r"^(?:[\u2022\u25cf\u25aa\u25a0\u25e6\u2023\u2043\u2013\u2014*\-]|\(?\d{1,3}[.)]|\(?[a-zA-Z][.)])$"
)
_COLUMN_GAP = 20.0
"""Left edges closer than this (points) are one column."""
_MAX_COLUMNS = 12
_PROSE_WORDS = 6
"""A run of rows whose median cell holds this many words or more is text in columns."""


@dataclass(frozen=True, slots=True)
class Cell:
    """A text line of a page and its box, in PDF units (y grows up the page)."""

    text: str
    x0: float
    x1: float
    y0: float
    y1: float

    @property
    def middle(self) -> float:
        return (self.y0 + self.y1) / 2

    @property
    def height(self) -> float:
        return self.y1 - self.y0


@dataclass(frozen=True, slots=True)
class Table:
    cells: frozenset[int]  # indexes of the lines it is made of
    top: float  # its upper edge, in PDF units
    markdown: str


def find_tables(cells: Sequence[Cell], *, page_width: float) -> list[Table]:
    found: list[Table] = []
    run: list[list[int]] = []
    for row in [*_rows(cells), []]:  # an empty row ends the last run
        if _is_table_row(row, cells, page_width):
            run.append(row)
            continue
        if len(run) >= 2 and not _reads_as_prose(run, cells):
            table = _table(run, cells)
            if table is not None:
                found.append(table)
        run = []
    return found


def _rows(cells: Sequence[Cell]) -> list[list[int]]:
    """Lines grouped by baseline (their middles within half a line of each other), top to
    bottom, each row left to right."""
    rows: list[list[int]] = []
    for i in sorted(range(len(cells)), key=lambda i: -cells[i].middle):
        first = cells[rows[-1][0]] if rows else None
        if first is not None and abs(cells[i].middle - first.middle) < min(cells[i].height, first.height) / 2:
            rows[-1].append(i)
        else:
            rows.append([i])
    return [sorted(row, key=lambda i: cells[i].x0) for row in rows]


def _is_table_row(row: Sequence[int], cells: Sequence[Cell], page_width: float) -> bool:
    """Two cells or more, none as wide as a paragraph."""
    real = [i for i in row if not _MARKER.match(cells[i].text)]
    return len(real) >= 2 and all(cells[i].x1 - cells[i].x0 <= page_width * 0.55 for i in row)


def _reads_as_prose(run: Sequence[Sequence[int]], cells: Sequence[Cell]) -> bool:
    """Lines of text side by side (a page in columns): most of them hold a sentence's worth of
    words, where a table's cells hold a name, a number, a few words."""
    words = sorted(len(cells[i].text.split()) for row in run for i in row if not _MARKER.match(cells[i].text))
    return words[len(words) // 2] >= _PROSE_WORDS


def _table(run: Sequence[Sequence[int]], cells: Sequence[Cell]) -> Table | None:
    lefts = sorted(cells[i].x0 for row in run for i in row if not _MARKER.match(cells[i].text))
    columns: list[float] = []
    for x in lefts:
        if not columns or x - columns[-1] > _COLUMN_GAP:
            columns.append(x)
    if not 2 <= len(columns) <= _MAX_COLUMNS:
        return None
    grid: list[list[str]] = []
    for row in run:
        texts = [""] * len(columns)
        marker = ""
        for i in row:
            text = cells[i].text
            if _MARKER.match(text):
                marker = f"{marker}{text} "
                continue
            column = max(c for c, x in enumerate(columns) if x <= cells[i].x0 + _COLUMN_GAP / 2)
            texts[column] = f"{texts[column]} {marker}{text}".strip()
            marker = ""
        grid.append(texts)
    members = frozenset(i for row in run for i in row)
    return Table(members, max(cells[i].y1 for i in members), markdown_table(grid))
