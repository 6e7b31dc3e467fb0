"""A table read from a file (a PDF's, a slide's, a JSON list's, a plain-text file's columns)
written as markdown, the form chunking splits by rows and the answer quotes by rows and columns."""

from __future__ import annotations

from collections.abc import Sequence


def markdown_table(rows: Sequence[Sequence[str]]) -> str:
    """The first row as the header, then the others; a `|` inside a cell is escaped."""
    width = len(rows[0])
    lines = [_row(rows[0]), _row(["---"] * width), *(_row(row) for row in rows[1:])]
    return "\n".join(lines)


def _row(cells: Sequence[str]) -> str:
    return "| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |"
