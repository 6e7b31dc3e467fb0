"""A reply as WhatsApp shows it: our markdown in WhatsApp's own markup, its sources after it.

WhatsApp formats *bold*, _italic_, ~strikethrough~, `code` and ```monospace``` blocks, "- " and
"1. " lists and "> " quotes, and links any URL it sees; it has no headings, tables or link
titles. So a heading is bold, a table is a monospace block of aligned columns, and a link is
"title (URL)". Sources follow on one line ("Sources: Refunds (https://…); Shipping"), at most
three. A reply longer than the route takes in one message (4,096 characters on the Cloud API,
1,600 through Twilio) is sent in several, cut between paragraphs (`whatsapp_parts`); where one
message must hold it (a question with buttons), it keeps the longest beginning that ends a
paragraph or a line, then "(cut short)" and the sources (`whatsapp_text`).
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import count, repeat

from markdown_it.tree import SyntaxTreeNode

from channels.common import reply_parts
from channels.common.text_tables import table_lines
from core.markdown_tree import tree
from core.messages import Citation

_MARKS = {"strong": "*", "em": "_", "s": "~"}


def whatsapp_parts(text: str, citations: Sequence[Citation] = (), *, max_chars: int) -> list[str]:
    """The reply as the messages it is sent in, each within `max_chars`: one when it fits,
    else cut between paragraphs (lines, words when one is longer), the sources after the last."""
    return reply_parts.parts(_answer(text), reply_parts.sources_line(citations), max_chars=max_chars)


def whatsapp_text(text: str, citations: Sequence[Citation] = (), *, max_chars: int) -> str:
    """The reply as one message within `max_chars` (a message with buttons, a template's
    parameter): cut as the module says when it is longer."""
    return reply_parts.one_message(_answer(text), reply_parts.sources_line(citations), max_chars=max_chars)


def _answer(text: str) -> str:
    return "\n\n".join(block for node in tree(text).children if (block := _block(node)).strip())


def _block(node: SyntaxTreeNode) -> str:
    match node.type:
        case "heading":
            inner = _inline(node.children[0].children if node.children else []).strip()
            return f"*{inner}*" if inner else ""
        case "bullet_list" | "ordered_list":
            return _list(node)
        case "blockquote":
            return "\n".join(
                f"> {line}" if line else ">" for line in "\n\n".join(map(_block, node.children)).split("\n")
            )
        case "fence" | "code_block":
            return f"```{node.content.strip(chr(10))}```"
        case "table":
            return "```" + "\n".join(table_lines(node, lambda cell: _inline(cell.children, marks=False))) + "```"
        case "hr":
            return ""
        case _:  # a paragraph: its one inline child
            return _inline(node.children)


def _inline(nodes: Sequence[SyntaxTreeNode], *, marks: bool = True) -> str:
    return "".join(_inline_one(node, marks=marks) for node in nodes)


def _inline_one(node: SyntaxTreeNode, *, marks: bool) -> str:
    match node.type:
        case "softbreak" | "hardbreak":
            return "\n"
        case "code_inline":
            return f"`{node.content}`" if marks else node.content
        case "link":
            title, href = _inline(node.children, marks=marks), str(node.attrs["href"])
            return href if node.markup == "autolink" or title.strip() in ("", href) else f"{title} ({href})"
        case "strong" | "em" | "s" if marks:
            inner = _inline(node.children)
            mark = _MARKS[node.type]
            return f"{mark}{inner.strip()}{mark}" if inner.strip() else inner
        case _ if node.children:  # the inline container, an image (its alt text)
            return _inline(node.children, marks=marks)
        case _:
            return node.content


def _list(node: SyntaxTreeNode) -> str:
    start = int(node.attrs.get("start", 1))
    markers = (f"{number}. " for number in count(start)) if node.type == "ordered_list" else repeat("- ")
    lines = []
    for item, marker in zip(node.children, markers, strict=False):
        first, *rest = "\n".join(_block(child) for child in item.children).split("\n")
        lines.append((marker + first).rstrip())
        lines.extend(" " * len(marker) + line if line else line for line in rest)
    return "\n".join(lines)
