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

from channels.common.text_tables import table_lines
from core.languages import N_, _
from core.markdown_tree import tree
from core.messages import Citation

MAX_SOURCES = 3
CUT_SHORT = N_("(cut short)")
_MARKS = {"strong": "*", "em": "_", "s": "~"}


def whatsapp_parts(text: str, citations: Sequence[Citation] = (), *, max_chars: int) -> list[str]:
    """The reply as the messages it is sent in, each within `max_chars`: one when it fits,
    else cut between paragraphs (lines, words when one is longer), the sources after the last."""
    answer, sources = _answer(text), _sources_line(citations)
    full = "\n\n".join(part for part in (answer, sources) if part)
    if len(full) <= max_chars:
        return [full]
    parts: list[str] = []
    rest = answer
    while len(rest) > max_chars:
        head = _cut(rest, max_chars)
        parts.append(head)
        rest = rest[len(head) :].lstrip()
    tail = "\n\n".join(part for part in (rest, sources) if part)
    if len(tail) <= max_chars:
        return [*parts, tail]
    return [*parts, rest, sources[:max_chars]] if rest else [*parts, sources[:max_chars]]


def whatsapp_text(text: str, citations: Sequence[Citation] = (), *, max_chars: int) -> str:
    """The reply as one message within `max_chars` (a message with buttons, a template's
    parameter): cut as the module says when it is longer."""
    answer = _answer(text)
    sources = _sources_line(citations)
    full = "\n\n".join(part for part in (answer, sources) if part)
    if len(full) <= max_chars:
        return full
    tail = "\n\n".join(part for part in (_(CUT_SHORT), sources) if part)
    room = max_chars - len(tail) - 2
    if room <= 0:
        return full[:max_chars]
    return _cut(answer, room) + "\n\n" + tail


def _answer(text: str) -> str:
    return "\n\n".join(block for node in tree(text).children if (block := _block(node)).strip())


def _cut(text: str, room: int) -> str:
    """The longest beginning of `text` within `room` that ends a paragraph, else a line, else a word."""
    head = text[:room]
    for boundary in ("\n\n", "\n", " "):
        end = head.rfind(boundary)
        if end > room // 2:
            return head[:end].rstrip()
    return head.rstrip()


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


def _sources_line(citations: Sequence[Citation]) -> str:
    """Distinct sources in order, each its title with its link when it has one."""
    named: dict[str, str] = {}
    for citation in citations:
        title = " ".join(citation.title.split())
        if title and title not in named:
            named[title] = f"{title} ({citation.link})" if citation.link else title
    shown = list(named.values())[:MAX_SOURCES]
    if not shown:
        return ""
    joined = "; ".join(shown)
    return _("Source: {title}", title=joined) if len(shown) == 1 else _("Sources: {titles}", titles=joined)
