"""Our markdown replies as readable plain text, for a platform that shows no formatting (SMS,
Messenger, Instagram, an email's plain-text part).

The markdown is parsed with markdown-it-py (raw HTML off: a `<script>` in a reply is text) and
written back with its markers dropped, list items one a line, and links as "title: URL".
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from itertools import count, repeat

from markdown_it.tree import SyntaxTreeNode

from channels.common.text_tables import table_lines
from core.markdown_tree import tree

TABLE_SEPARATOR = "; "
"""Between the "header value" pairs of a table row's line; GSM-7 for SMS, where a `·` would
make the whole message UCS-2."""


def plain_text(text: str, *, aligned_tables: bool = False) -> str:
    """Our markdown as readable plain text: emphasis markers dropped, headings as their text,
    list items as lines ("- item" / "1. item"), quotes as their text, code as its text, links
    as "title: URL" (just the URL when title == URL), images as alt text, paragraphs separated
    by one blank line; raw HTML shown as text.

    A table becomes a line per body row, its first cell the label and then each other cell
    after its column's header: "Pro: Monthly $12; Annual $10." (empty cells left out, the
    header row not repeated). With `aligned_tables`, for a reader in a monospace font, it is
    `channels.common.text_tables.aligned_lines` instead: the header, a rule, the rows, in columns.
    """
    table = _aligned_table if aligned_tables else _table
    return "\n\n".join(_blocks(tree(text), table))


_Table = Callable[[SyntaxTreeNode], str]
"""How a table is written: `_table` or `_aligned_table`."""


def _blocks(container: SyntaxTreeNode, table: _Table) -> list[str]:
    return [block for node in container.children if (block := _block(node, table)).strip()]


def _block(node: SyntaxTreeNode, table: _Table) -> str:
    match node.type:
        case "bullet_list" | "ordered_list":
            return _list(node, table)
        case "blockquote":
            return "\n\n".join(_blocks(node, table))
        case "fence" | "code_block":
            return node.content.strip("\n").rstrip()
        case "table":
            return table(node)
        case "hr":  # the blank line between blocks already separates them
            return ""
        case _:  # a paragraph or a heading: its one inline child
            return _inline(node.children)


def _inline(nodes: Sequence[SyntaxTreeNode]) -> str:
    return "".join(map(_inline_one, nodes))


def _inline_one(node: SyntaxTreeNode) -> str:
    match node.type:
        case "softbreak" | "hardbreak":
            return "\n"
        case "link":
            return _link(node)
        case _ if node.children:  # the inline container, emphasis, an image (its alt text)
            return _inline(node.children)
        case _:  # text, inline code
            return node.content


def _link(node: SyntaxTreeNode) -> str:
    """ "title: URL"; an autolink (`<https://…>`, `<help@example.com>`) as it was written."""
    title, href = _inline(node.children), str(node.attrs["href"])
    if node.markup == "autolink":
        return title
    return href if title.strip() in ("", href) else f"{title}: {href}"


def _list(node: SyntaxTreeNode, table: _Table) -> str:
    start = int(node.attrs.get("start", 1))
    markers = (f"{number}. " for number in count(start)) if node.type == "ordered_list" else repeat("- ")
    return "\n".join(_item(item, marker, table) for item, marker in zip(node.children, markers, strict=False))


def _item(item: SyntaxTreeNode, marker: str, table: _Table) -> str:
    """An item's blocks one a line, the marker before the first and the rest indented under
    its text (a nested list too)."""
    first, *rest = "\n".join(_blocks(item, table)).split("\n")
    indent = " " * len(marker)
    return "\n".join([(marker + first).rstrip(), *(indent + line if line else line for line in rest)])


def _table(node: SyntaxTreeNode) -> str:
    """A line per body row (see `plain_text`); a table with no body rows is its header."""
    header, *body = (
        [_inline(cell.children) for cell in row.children] for section in node.children for row in section.children
    )
    if not body:
        return TABLE_SEPARATOR.join(cell for cell in header if cell)
    return "\n".join(line for row in body if (line := _row_line(header, row)))


def _row_line(header: Sequence[str], row: Sequence[str]) -> str:
    label, *cells = row
    pairs = TABLE_SEPARATOR.join(
        f"{name} {cell}" if name else cell for name, cell in zip(header[1:], cells, strict=False) if cell
    )
    line = f"{label}: {pairs}" if label and pairs else label or pairs
    return line if not line or line.endswith((".", "!", "?", "…")) else line + "."


def _aligned_table(node: SyntaxTreeNode) -> str:
    return "\n".join(table_lines(node, lambda cell: _inline(cell.children)))
