"""A reply as Discord shows it: our markdown in Discord's own, its sources after it.

Discord renders **bold**, *italic*, ~~strikethrough~~, `code`, ``` blocks, "- " and "1. " lists,
"> " quotes and masked links `[title](URL)`; it has no tables, and its `#` headings are poster-
sized. So a heading is bold, a table a code block of aligned columns, and a character Discord
would read as formatting in our text (`*`, `_`, `~`, `|`, `` ` ``, `\\`) is escaped. Sources follow
on one line, at most three; a reply over Discord's 2,000 characters goes in several messages, cut
between paragraphs (`channels.common.reply_parts`). Nobody is pinged by a reply: the channel sends
every message with mentions switched off.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from itertools import count, repeat

from markdown_it.tree import SyntaxTreeNode

from channels.common import reply_parts
from channels.common.text_tables import table_lines
from core.markdown_tree import tree
from core.messages import Citation

MAX_CONTENT = 2000
_MARKS = {"strong": "**", "em": "*", "s": "~~"}
_SPECIAL = re.compile(r"([\\*_~|`])")


def discord_parts(text: str, citations: Sequence[Citation] = ()) -> list[str]:
    """The reply as the messages it is sent in, each within Discord's 2,000 characters."""
    return reply_parts.parts(_answer(text), reply_parts.sources_line(citations), max_chars=MAX_CONTENT)


def _answer(text: str) -> str:
    return "\n\n".join(block for node in tree(text).children if (block := _block(node)).strip())


def _block(node: SyntaxTreeNode) -> str:
    match node.type:
        case "heading":
            inner = _inline(node.children[0].children if node.children else []).strip()
            return f"**{inner}**" if inner else ""
        case "bullet_list" | "ordered_list":
            return _list(node)
        case "blockquote":
            return "\n".join(f"> {line}" for line in "\n\n".join(map(_block, node.children)).split("\n"))
        case "fence" | "code_block":
            return _code_block(node.content.strip("\n"))
        case "table":
            return _code_block("\n".join(table_lines(node)))
        case "hr":
            return ""
        case _:  # a paragraph: its one inline child
            return _inline(node.children)


def _inline(nodes: Sequence[SyntaxTreeNode]) -> str:
    return "".join(map(_inline_one, nodes))


def _inline_one(node: SyntaxTreeNode) -> str:
    match node.type:
        case "softbreak" | "hardbreak":
            return "\n"
        case "code_inline":
            return f"`{node.content.replace('`', 'ˋ')}`"
        case "link":
            title, href = _inline(node.children), str(node.attrs["href"])
            if node.markup == "autolink" or title.strip() in ("", _escaped(href)):
                return href
            return f"[{title.replace('[', '(').replace(']', ')')}]({href})"
        case "strong" | "em" | "s":
            inner = _inline(node.children)
            mark = _MARKS[node.type]
            return f"{mark}{inner.strip()}{mark}" if inner.strip() else inner
        case _ if node.children:  # the inline container, an image (its alt text)
            return _inline(node.children)
        case _:
            return _escaped(node.content)


def _list(node: SyntaxTreeNode) -> str:
    start = int(node.attrs.get("start", 1))
    markers = (f"{number}. " for number in count(start)) if node.type == "ordered_list" else repeat("- ")
    lines = []
    for item, marker in zip(node.children, markers, strict=False):
        first, *rest = "\n".join(_block(child) for child in item.children).split("\n")
        lines.append((marker + first).rstrip())
        lines.extend(" " * len(marker) + line if line else line for line in rest)
    return "\n".join(lines)


def _code_block(content: str) -> str:
    return "```\n" + content.replace("```", "ˋˋˋ") + "\n```"


def _escaped(text: str) -> str:
    """Plain text Discord shows as written: its formatting characters escaped."""
    return _SPECIAL.sub(r"\\\1", text)
