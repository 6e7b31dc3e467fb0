"""Our replies and case cards as Slack shows them: mrkdwn rendered from the one markdown parse
(`core.markdown_tree`), cut into Block Kit sections, the satisfaction survey's buttons, and
the staff desk's case card.

mrkdwn is not markdown: bold is `*x*`, italics `_x_`, a link `<url|label>`, there are no
headings, lists or tables, and `&`, `<` and `>` are escaped everywhere. So a heading is shown
bold, list items get their markers as text, a table becomes its aligned columns in a code
block (quoted when the table was), and a link is kept only to a web address (any other shows
its text). Text is escaped as it is written out, so nothing a customer or a help-centre
article contains becomes a Slack mention or link.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from typing import Any
from urllib.parse import urlparse

from markdown_it.tree import SyntaxTreeNode

from channels.common.survey_buttons import score_title, survey_value
from channels.common.text_tables import table_lines
from core.bidi import isolated, visible
from core.desk_port import CaseCard
from core.languages import _, language_name
from core.markdown_tree import tree
from core.messages import SURVEY_SCORES, StoredMessage

SLACK_USER = re.compile(r"[UW][A-Z0-9]{2,}")
"""A Slack user id: a case's owner shown as a mention; any other owner (a name from Slack, or
someone in the inbox) as written."""
SECTION_LIMIT = 3000
"""Characters in one section block: Slack's limit."""
MAX_BLOCKS = 50
"""Blocks in one message: Slack's limit. A reply is one message, so a retry never repeats part of it."""
LINK_SCHEMES = frozenset({"http", "https", "mailto"})
"""Links kept as links; a link to anything else is shown as its text."""
RULE = "──────────"
"""A horizontal rule: mrkdwn has none."""
BULLET = "• "


def render_mrkdwn(message: StoredMessage) -> str:
    """The reply as mrkdwn, with the citations as links (or names) underneath."""
    text = "\n\n".join(_blocks(tree(message.text)))
    sources = [_source(c.link, c.title, c.section) for c in message.citations]
    if sources:
        text += "\n\n*" + _("Sources:") + "* " + " · ".join(sources)
    return text


def _blocks(container: SyntaxTreeNode) -> list[str]:
    return [block for node in container.children if (block := _block(node)).strip()]


def _block(node: SyntaxTreeNode) -> str:
    match node.type:
        case "paragraph":
            return _inline(node.children)
        case "heading":
            return _bold(_inline(node.children, bold=True))
        case "fence" | "code_block":
            return _code(node.content.rstrip("\n").split("\n"))
        case "table":
            return _code(table_lines(node))
        case "hr":
            return RULE
        case "bullet_list" | "ordered_list":
            return _list(node)
        case "blockquote":
            return "\n".join("> " + line for line in "\n\n".join(_blocks(node)).split("\n"))
        case _:  # a block type this renderer does not know: its source, as text
            return escape(node.content)


def _inline(nodes: Sequence[SyntaxTreeNode], *, bold: bool = False, linked: bool = False) -> str:
    """Inline nodes as mrkdwn; `bold` and `linked`: inside bold text or a link already (mrkdwn
    does not nest them)."""
    out: list[str] = []
    for node in nodes:
        match node.type:
            case "softbreak" | "hardbreak":
                out.append("\n")
            case "code_inline":
                out.append(f"`{escape(node.content)}`" if not linked else escape(node.content))
            case "strong":
                inner = _inline(node.children, bold=True, linked=linked)
                out.append(inner if bold or linked else _bold(inner))
            case "em":
                inner = _inline(node.children, bold=bold, linked=linked)
                out.append(inner if linked or not inner.strip() else f"_{inner}_")
            case "link":
                out.append(_link(node, bold=bold, linked=linked))
            case _ if node.children:  # the inline container, and an image: its alt text
                out.append(_inline(node.children, bold=bold, linked=linked))
            case _:
                out.append(escape(node.content))
    return "".join(out)


def _link(node: SyntaxTreeNode, *, bold: bool, linked: bool) -> str:
    label = _inline(node.children, bold=bold, linked=True)
    href = str(node.attrs.get("href", ""))
    if linked or urlparse(href).scheme.lower() not in LINK_SCHEMES or "|" in href or ">" in href:
        return label
    return f"<{escape(href)}|{label}>" if label and label != escape(href) else f"<{escape(href)}>"


def _bold(text: str) -> str:
    return f"*{text}*" if text.strip() else text


def _code(lines: Sequence[str]) -> str:
    return "\n".join(["```", *map(escape, lines), "```"])


def _list(node: SyntaxTreeNode) -> str:
    start = int(node.attrs.get("start", 1))
    lines: list[str] = []
    for number, item in enumerate(node.children, start=start):
        marker = f"{number}{node.markup} " if node.type == "ordered_list" else BULLET
        lines += _item(item, marker)
    return "\n".join(lines)


def _item(item: SyntaxTreeNode, marker: str) -> Iterator[str]:
    """A list item's lines: the marker before its first, the rest indented under its text."""
    indent = " " * len(marker)
    for number, line in enumerate("\n".join(_blocks(item)).split("\n")):
        yield (marker if number == 0 else indent) + line


def escape(text: str) -> str:
    """Slack's escaping of `&`, `<` and `>`, which mrkdwn reads as entities, links, mentions."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def reply_blocks(text: str) -> list[dict[str, Any]]:
    """Section blocks of at most SECTION_LIMIT characters, cut at paragraph, then line, then
    word boundaries; at most MAX_BLOCKS (a longer reply is cut with a note)."""
    pieces = _split(text, SECTION_LIMIT)
    if len(pieces) > MAX_BLOCKS:
        pieces = [*pieces[: MAX_BLOCKS - 1], "_" + _("… the rest of this answer was too long for Slack.") + "_"]
    return [{"type": "section", "text": {"type": "mrkdwn", "text": piece}} for piece in pieces]


SURVEY_BLOCK = "survey"
SURVEY_ACTION = "survey_{score}"
"""The action id of the survey's button for one score (ids are unique within a block)."""


def survey_buttons(message_id: int) -> dict[str, Any]:
    """The scale under the survey's question: a button per score, its value the question's
    message id and the score ("41:4"), so a click names what it answers."""
    return {
        "type": "actions",
        "block_id": SURVEY_BLOCK,
        "elements": [
            {
                "type": "button",
                "action_id": SURVEY_ACTION.format(score=score),
                "text": {"type": "plain_text", "text": score_title(score)},
                "value": survey_value(message_id, score),
            }
            for score in SURVEY_SCORES
        ],
    }


def answered_blocks(blocks: object, note: str) -> list[dict[str, Any]] | None:
    """The survey's question once answered: its blocks as posted, without the buttons, and
    `note` under them; None when the posted blocks are not known."""
    if not isinstance(blocks, list) or not all(isinstance(block, dict) for block in blocks):
        return None
    kept = [block for block in blocks if block.get("block_id") != SURVEY_BLOCK]
    return [*kept, {"type": "context", "elements": [{"type": "mrkdwn", "text": escape(note)}]}]


def card_blocks(card: CaseCard) -> list[dict[str, Any]]:
    """A case as Block Kit: who and why, the latest messages, and the three buttons."""
    frustration = "–" if card.frustration is None else f"{card.frustration:.2f}"
    owner = (f"<@{card.owner}>" if SLACK_USER.fullmatch(card.owner) else card.owner) if card.owner else "nobody yet"
    fields = [
        f"*Customer:*\n{escape(isolated(card.customer))}",  # a profile name's overrides shown, not obeyed
        f"*Channel:*\n{escape(card.channel)}",
        f"*State:*\n{card.state}",
        f"*Owner:*\n{owner}",
        f"*Frustration:*\n{frustration}",
        *([f"*Needs:*\n{escape(language_name(card.language))}"] if card.language else []),
    ]
    beside = card.for_staff or (None,) * len(card.last_messages)
    transcript = "\n".join(
        _line(author, text, staff_read, card.language)
        for (author, text), staff_read in zip(card.last_messages, beside, strict=True)
    )
    buttons = [
        ("case_claim", "Claim", "primary"),
        ("case_resolve", "Resolve", None),
        ("case_return", "Return to bot", None),
    ]
    return [
        {"type": "header", "text": {"type": "plain_text", "text": "Case: a customer needs a person"}},
        {
            "type": "section",
            "text": {"type": "mrkdwn", "text": f"*Reason:* {escape(card.reason)}"},
            "fields": [{"type": "mrkdwn", "text": field} for field in fields],
        },
        *(
            [{"type": "section", "text": {"type": "mrkdwn", "text": _split(summary, SECTION_LIMIT)[0]}}]
            if (summary := case_summary(card))
            else []
        ),
        {
            "type": "section",
            "text": {"type": "mrkdwn", "text": _split(transcript or "_no messages_", SECTION_LIMIT)[-1]},
        },
        *(
            [
                {
                    "type": "section",
                    "text": {
                        "type": "mrkdwn",
                        "text": _split(f"*Suggested reply:* {escape(card.suggestion)}", SECTION_LIMIT)[0],
                    },
                }
            ]
            if card.suggestion
            else []
        ),
        {
            "type": "context",
            "elements": [
                {
                    "type": "mrkdwn",
                    "text": (
                        "Reply in this thread to answer the customer; start with the note prefix to keep it internal; "
                        "`!claim`, `!resolve`, `!bot` work here too."
                    ),
                }
            ],
        },
        {
            "type": "actions",
            "block_id": "case",
            "elements": [
                {
                    "type": "button",
                    "action_id": action,
                    "value": card.case_id,
                    "text": {"type": "plain_text", "text": label},
                    **({"style": style} if style else {}),
                }
                for action, label, style in buttons
            ],
        },
    ]


def case_summary(card: CaseCard) -> str:
    """What a person taking the case reads first: the model's summary (with an LLM), the
    customer's question, what the bot answered, and what the customer told it about themselves
    (the reason is on its own line)."""
    lines = []
    if card.summary:
        lines.append(f"*Summary:* {escape(card.summary)}")
    if card.question:
        lines.append(f"*Asked:* {escape(card.question)}")
    if card.answered:
        lines.append(f"*The bot answered:* {_said('bot', card.answered)}")
    if card.facts:
        lines.append("*Known:* " + "; ".join(f"{escape(key)}: {escape(visible(value))}" for key, value in card.facts))
    return "\n".join(lines)


def _line(author: str, text: str, staff_read: str | None, language: str | None) -> str:
    """A message in the card's transcript, and what staff read of it in their language: a
    customer's translation, or what a person wrote before it was sent translated."""
    line = f"*{author}:* {_said(author, text)}"
    if staff_read is None or language is None:
        return line
    if author == "customer":
        return f"{line}\n>_translated from {escape(language_name(language))}:_ {escape(staff_read)}"
    return f"{line}\n>_sent translated into {escape(language_name(language))}; written as:_ {escape(staff_read)}"


def _said(author: str, text: str) -> str:
    """A message in the card's transcript: a reply (bot, staff) as the customer saw it, in
    mrkdwn; a customer's words as they wrote them."""
    if author == "customer":
        return escape(text)
    return "\n".join(_blocks(tree(text)))


def _split(text: str, limit: int) -> list[str]:
    pieces: list[str] = []
    rest = text
    while len(rest) > limit:
        window = rest[:limit]
        cut = max(window.rfind("\n\n"), window.rfind("\n"), window.rfind(" "))
        cut = cut if cut > limit // 2 else limit
        pieces.append(rest[:cut].rstrip())
        rest = rest[cut:].lstrip()
    if rest:
        pieces.append(rest)
    return pieces


def _source(link: str | None, title: str, section: str) -> str:
    label = escape(title if not section or section == title else f"{title} › {section}")
    linkable = link is not None and not any(c in link for c in "<>|")  # they would end Slack's <url|label>
    return f"<{link}|{label}>" if linkable else f"_{label}_"
