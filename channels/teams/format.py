"""A reply as Teams shows it: our markdown in Teams' own (`textFormat: "markdown"`), its sources
after it, and the survey's question as an Adaptive Card with its scores as buttons.

Teams renders **bold**, _italic_, ~~strikethrough~~, `code`, ``` blocks, "- " and "1. " lists,
"> " quotes and links `[title](URL)` in a bot's markdown message ("Text formatting in Teams");
it renders no tables, and a heading is out of place in a chat. So a heading is bold, a table a
list with a line per row ("Pro: Monthly $12; Annual $10.", `channels.common.plain_text`), and a
character Teams would read as formatting in our text is escaped (`channels.common.chat_markdown`). Sources follow on one line, at
most three; a reply longer than `MAX_TEXT` goes in several messages, cut between paragraphs
(`channels.common.reply_parts`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from markdown_it.tree import SyntaxTreeNode

from channels.common import reply_parts
from channels.common.chat_markdown import ChatMarkdown
from channels.common.plain_text import plain_text
from channels.common.survey_buttons import score_title, survey_value
from channels.teams.activities import SURVEY_KEY
from core.messages import SURVEY_SCORES, Citation

MAX_TEXT = 20_000
"""Characters in one message: Teams takes a message of up to about 28 KB, its JSON frame included."""
ADAPTIVE_CARD = "application/vnd.microsoft.card.adaptive"
CARD_VERSION = "1.2"
"""Every Teams client (desktop, web, mobile) renders Adaptive Cards 1.2; the card uses nothing later."""
_LINE_BREAK = re.compile(r"\r\n|\r|\n")
"""What markdown-it counts lines by (`str.splitlines` would count more: \v, \f, U+2028…)."""


def teams_parts(text: str, citations: Sequence[Citation] = ()) -> list[str]:
    """The reply as the markdown messages it is sent in, each within `MAX_TEXT`."""
    return reply_parts.parts(_TEAMS.render(text), reply_parts.sources_line(citations), max_chars=MAX_TEXT)


def survey_card(question: str, message_id: int) -> dict[str, Any]:
    """The survey's question (markdown) as an Adaptive Card: its text, plain (a card's TextBlock
    knows a little markdown but no escapes), then a button per score whose data is
    `{"survey": "<message id>:<score>"}`, which Teams sends back as the message's `value`."""
    return {
        "type": "AdaptiveCard",
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "version": CARD_VERSION,
        "body": [{"type": "TextBlock", "text": plain_text(question), "wrap": True}],
        "actions": [
            {
                "type": "Action.Submit",
                "title": score_title(score),
                "data": {SURVEY_KEY: survey_value(message_id, score)},
            }
            for score in SURVEY_SCORES
        ],
    }


def _link(title: str, href: str) -> str:
    """A link; a ")" or a space in its address would end it early."""
    return f"[{title}]({href.replace(')', '%29').replace(' ', '%20')})"


def _table(node: SyntaxTreeNode, source: str) -> str:
    """The table as a list, a line per row (`channels.common.plain_text`'s words for a table)."""
    start, end = node.map or (0, 0)
    rows = plain_text("\n".join(_LINE_BREAK.split(source)[start:end])).split("\n")
    return "\n".join(f"- {_TEAMS.escaped(row)}" for row in rows if row.strip())


_TEAMS = ChatMarkdown(em="_", special=re.compile(r"([\\*_~`\[\]<>#|])"), link=_link, table=_table)
