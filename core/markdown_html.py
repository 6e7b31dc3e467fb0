"""A reply's markdown as an HTML fragment, rendered safely: the HTML part of a mail, and a reply
in the dashboard as the customer saw it.

markdown-it-py with raw HTML off (a `<script>` in a reply is text), links kept only for http,
https and mailto (any other link shows its text: every link is parsed so that even a
`javascript:` one keeps its words, and the scheme is then checked against that list, not
against a list of dangerous ones), images shown as their alt text (a picture loaded from the
web is what mail clients block as tracking), and styling only in `style` attributes, which
every mail client keeps where many drop a `<style>` element.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from markdown_it.common.utils import escapeHtml
from markdown_it.renderer import RendererHTML
from markdown_it.token import Token
from markdown_it.utils import EnvType, OptionsDict

from core.markdown_tree import PARSER, tokens

LINK_SCHEMES = frozenset({"http", "https", "mailto"})
"""Links kept as links; a link to anything else is shown as its text."""
_SCHEME = re.compile(r"([a-z][a-z0-9+.-]*):", re.IGNORECASE)
_MONO = "ui-monospace,SFMono-Regular,Menlo,Consolas,monospace"
_PRE_STYLE = (
    f"font-family:{_MONO};font-size:13px;background:#f6f8fa;padding:8px 12px;border-radius:4px;"
    "white-space:pre-wrap;overflow-wrap:anywhere"
)
_CELL_STYLE = "border:1px solid #d0d7de;padding:4px 8px"
_STYLES = {
    "code_inline": f"font-family:{_MONO};font-size:13px;background:#f6f8fa;padding:1px 4px;border-radius:3px",
    "blockquote_open": "margin:0 0 0 4px;padding:0 0 0 12px;border-left:3px solid #d0d7de;color:#57606a",
    "table_open": "border-collapse:collapse",
    "th_open": _CELL_STYLE + ";background:#f6f8fa",
    "td_open": _CELL_STYLE,
}
"""Inline styles by token type, added to any the markdown sets (a table column's alignment)."""


class _SafeRenderer(RendererHTML):
    """markdown-it's HTML with images as their alt text and code blocks styled in place."""

    def image(self, tokens: Sequence[Token], idx: int, options: OptionsDict, env: EnvType) -> str:
        return escapeHtml(self.renderInlineAsText(tokens[idx].children, options, env))

    def fence(self, tokens: Sequence[Token], idx: int, options: OptionsDict, env: EnvType) -> str:
        return f'<pre style="{_PRE_STYLE}">{escapeHtml(tokens[idx].content.rstrip())}</pre>\n'

    code_block = fence


_RENDERER = _SafeRenderer()
"""Keeps no state between replies."""


def markdown_html(text: str) -> str:
    """A reply's markdown as an HTML fragment, rendered safely (see the module): what the
    email's HTML part holds, and how the dashboard shows a reply as customers saw it."""
    parsed = tokens(text)
    for token in parsed:
        if token.children:
            token.children = _unlinked(token.children)
        for styled in (token, *(token.children or ())):
            _style(styled)
    return str(_RENDERER.render(parsed, PARSER.options, {}))


def _unlinked(children: list[Token]) -> list[Token]:
    """Inline tokens without the links whose scheme is not in LINK_SCHEMES: their text stays."""
    out: list[Token] = []
    kept: list[bool] = []  # for each open link, whether it stays: links do not nest, but be sure
    for token in children:
        if token.type == "link_open":
            kept.append(_scheme(str(token.attrGet("href") or "")) in LINK_SCHEMES)
            if not kept[-1]:
                continue
        elif token.type == "link_close" and kept and not kept.pop():
            continue
        out.append(token)
    return out


def _style(token: Token) -> None:
    style = _STYLES.get(token.type)
    if style:
        own = token.attrGet("style")
        token.attrSet("style", f"{own};{style}" if own else style)


def _scheme(url: str) -> str:
    match = _SCHEME.match(url)
    return match.group(1).lower() if match else ""
