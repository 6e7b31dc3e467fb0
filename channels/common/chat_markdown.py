"""Our markdown written again for a chat platform that renders markdown of its own (Discord,
Teams): what each renders alike is written here, what differs is the platform's `ChatMarkdown`.

Both render bold, italic, strikethrough, code, code blocks, "- " and "1. " lists, "> " quotes and
links `[title](URL)`; neither renders tables, and a heading is out of place in a chat. So a
heading is bold, a code block is fenced (a fence inside it made harmless), a table is what the
platform's `table` writes, and a character the platform would read as formatting in our text is
escaped with a backslash.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from itertools import count, repeat

from markdown_it.tree import SyntaxTreeNode

from core.markdown_tree import tree


@dataclass(frozen=True, slots=True)
class ChatMarkdown:
    """How one platform writes what differs."""

    em: str
    """Italic's marker ("*" on Discord, "_" on Teams)."""
    special: re.Pattern[str]
    """The characters escaped in text (one group)."""
    link: Callable[[str, str], str]
    """A link as (its title, already written; its address)."""
    table: Callable[[SyntaxTreeNode, str], str]
    """A table node as text, given the whole markdown source."""

    def render(self, text: str) -> str:
        """`text` (our markdown) as the platform's markdown, blocks a blank line apart."""
        return "\n\n".join(block for node in tree(text).children if (block := self._block(node, text)).strip())

    def escaped(self, text: str) -> str:
        """Plain text the platform shows as written: its formatting characters escaped."""
        return self.special.sub(r"\\\1", text)

    def _block(self, node: SyntaxTreeNode, source: str) -> str:
        match node.type:
            case "heading":
                inner = self._inline(node.children[0].children if node.children else []).strip()
                return f"**{inner}**" if inner else ""
            case "bullet_list" | "ordered_list":
                return self._list(node, source)
            case "blockquote":
                inner = "\n\n".join(self._block(child, source) for child in node.children)
                return "\n".join(f"> {line}" if line else ">" for line in inner.split("\n"))
            case "fence" | "code_block":
                return "```\n" + node.content.strip("\n").replace("```", "ˋˋˋ") + "\n```"
            case "table":
                return self.table(node, source)
            case "hr":
                return ""
            case _:  # a paragraph: its one inline child
                return self._inline(node.children)

    def _inline(self, nodes: Sequence[SyntaxTreeNode]) -> str:
        return "".join(map(self._inline_one, nodes))

    def _inline_one(self, node: SyntaxTreeNode) -> str:
        match node.type:
            case "softbreak" | "hardbreak":
                return "\n"
            case "code_inline":
                return f"`{node.content.replace('`', 'ˋ')}`"
            case "link":
                title, href = self._inline(node.children), str(node.attrs["href"])
                if node.markup == "autolink" or title.strip() in ("", self.escaped(href)):
                    return href
                return self.link(title, href)
            case "strong" | "em" | "s":
                inner = self._inline(node.children)
                mark = {"strong": "**", "em": self.em, "s": "~~"}[node.type]
                return f"{mark}{inner.strip()}{mark}" if inner.strip() else inner
            case _ if node.children:  # the inline container, an image (its alt text)
                return self._inline(node.children)
            case _:
                return self.escaped(node.content)

    def _list(self, node: SyntaxTreeNode, source: str) -> str:
        start = int(node.attrs.get("start", 1))
        markers = (f"{number}. " for number in count(start)) if node.type == "ordered_list" else repeat("- ")
        lines = []
        for item, marker in zip(node.children, markers, strict=False):
            first, *rest = "\n".join(self._block(child, source) for child in item.children).split("\n")
            lines.append((marker + first).rstrip())
            lines.extend(" " * len(marker) + line if line else line for line in rest)
        return "\n".join(lines)
