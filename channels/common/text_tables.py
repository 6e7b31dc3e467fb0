"""Markdown tables as aligned columns of plain text, for a reply shown in a monospace font:
Telegram's `<pre>`, a Slack code block, the text part of a mail.

Widths are counted in code points, so a column holding wide characters (CJK, emoji) drifts;
a pricing table in a Latin script lines up.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Literal

from markdown_it.tree import SyntaxTreeNode

Alignment = Literal["left", "center", "right"]
CELL_SEPARATOR = " | "
RULE_JOINT = "-+-"


def aligned_lines(rows: Sequence[Sequence[str]], alignments: Sequence[Alignment]) -> list[str]:
    """The first row (the header), a rule of dashes under it, then the other rows: each cell
    padded to its column's width as `alignments` says, cells joined by " | ", the rule's
    dashes by "-+-", no line ending in spaces. Every row has one cell per alignment."""
    widths = [max(len(row[column]) for row in rows) for column in range(len(alignments))]
    lines = [CELL_SEPARATOR.join(map(_padded, row, widths, alignments)).rstrip() for row in rows]
    return [lines[0], RULE_JOINT.join("-" * width for width in widths), *lines[1:]]


def table_lines(table: SyntaxTreeNode, cell_text: Callable[[SyntaxTreeNode], str] | None = None) -> list[str]:
    """A markdown-it `table` node as `aligned_lines`, each column aligned as the markdown's
    delimiter row asks. A cell is written by `cell_text`, by default as its bare text (no
    formatting, a link as its text, an image as its alt text)."""
    rows = [row.children for section in table.children for row in section.children]
    write = cell_text or _bare_text
    return aligned_lines([[write(cell) for cell in row] for row in rows], [_alignment(cell) for cell in rows[0]])


def _bare_text(node: SyntaxTreeNode) -> str:
    return "".join(map(_bare_text, node.children)) if node.children else node.content


def _alignment(cell: SyntaxTreeNode) -> Alignment:
    """markdown-it marks an aligned column's cells `style="text-align:right"` (or center)."""
    style = str(cell.attrs.get("style", ""))
    if style.endswith("right"):
        return "right"
    return "center" if style.endswith("center") else "left"


def _padded(text: str, width: int, alignment: Alignment) -> str:
    if alignment == "right":
        return text.rjust(width)
    return text.center(width) if alignment == "center" else text.ljust(width)
