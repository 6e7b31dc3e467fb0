"""The one markdown parse every channel renders a reply from.

Replies are CommonMark with tables (what the answerer and the LLM write). Each channel has a
small renderer over this parse's tokens for its own format — Telegram HTML, SMS plain text,
Slack mrkdwn, email HTML and text — and the widget renders the same markdown in the browser.
Raw HTML is never parsed as HTML; every link is parsed (whatever its scheme), so a renderer
that does not keep a link still shows its text.
"""

from __future__ import annotations

from markdown_it import MarkdownIt
from markdown_it.token import Token
from markdown_it.tree import SyntaxTreeNode


class _EveryLink(MarkdownIt):
    def validateLink(self, url: str) -> bool:
        """Each renderer decides which links to keep (its own list of schemes)."""
        return True


PARSER = _EveryLink("commonmark", {"html": False}).enable("table")
"""Configured once; parsing keeps no state in it."""


def tokens(text: str) -> list[Token]:
    return PARSER.parse(text)


def tree(text: str) -> SyntaxTreeNode:
    return SyntaxTreeNode(PARSER.parse(text))
