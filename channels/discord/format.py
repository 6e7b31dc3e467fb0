"""A reply as Discord shows it: our markdown in Discord's own, its sources after it.

Discord renders **bold**, *italic*, ~~strikethrough~~, `code`, ``` blocks, "- " and "1. " lists,
"> " quotes and masked links `[title](URL)`; it has no tables, and its `#` headings are poster-
sized. So a heading is bold, a table a code block of aligned columns, and a character Discord
would read as formatting in our text (`*`, `_`, `~`, `|`, `` ` ``, `\\`) is escaped
(`channels.common.chat_markdown`). Sources follow on one line, at most three; a reply over
Discord's 2,000 characters goes in several messages, cut between paragraphs
(`channels.common.reply_parts`). Nobody is pinged by a reply: the channel sends every message
with mentions switched off.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from markdown_it.tree import SyntaxTreeNode

from channels.common import reply_parts
from channels.common.chat_markdown import ChatMarkdown
from channels.common.text_tables import table_lines
from core.messages import Citation

MAX_CONTENT = 2000


def discord_parts(text: str, citations: Sequence[Citation] = ()) -> list[str]:
    """The reply as the messages it is sent in, each within Discord's 2,000 characters."""
    return reply_parts.parts(_DISCORD.render(text), reply_parts.sources_line(citations), max_chars=MAX_CONTENT)


def _link(title: str, href: str) -> str:
    """A masked link; square brackets in its title would end it early."""
    return f"[{title.replace('[', '(').replace(']', ')')}]({href})"


def _table(node: SyntaxTreeNode, source: str) -> str:
    """A code block of aligned columns."""
    return "```\n" + "\n".join(table_lines(node)).replace("```", "ˋˋˋ") + "\n```"


_DISCORD = ChatMarkdown(em="*", special=re.compile(r"([\\*_~|`])"), link=_link, table=_table)
