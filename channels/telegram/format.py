"""Our markdown replies as Telegram Bot API messages in HTML parse mode.

Telegram understands a small HTML subset — here `<b>`, `<i>`, `<code>`, `<pre>` and
`<a href>` — and refuses the whole message ("can't parse entities") for any other tag, one
left open or badly nested, or a bare `<` or `&`. So the markdown is parsed with markdown-it-py
with raw HTML off (a `<script>` in a reply is text) and rendered here by hand into runs of
text that share one formatting; the HTML is written from the runs, every piece of text and
every attribute escaped, the tags balanced and nested by construction. Telegram also keeps
entities apart: bold and italic nest with links, code and pre nest with nothing, so inline
code drops the bold around it and, inside a link, is shown as link text.

A message holds at most 4,096 characters counted on the text Telegram shows after parsing
the entities, in UTF-16 code units (an emoji counts 2), not on the HTML we send; so the
limit is measured on the runs' text. A longer reply becomes several messages, cut between
blocks first; a block too long for one message is cut at sentence ends, then line ends, then
spaces (code: line ends, then spaces) and only as a last resort inside a word, its
formatting closed at the end of one message and opened again at the start of the next.
"""

from __future__ import annotations

import html
import re
from bisect import bisect_right
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from itertools import accumulate

from markdown_it.tree import SyntaxTreeNode

from channels.common.text_tables import table_lines
from core.languages import _
from core.markdown_tree import tree
from core.messages import Citation

MAX_MESSAGE_LENGTH = 4096
"""Characters in one message, counted on the text Telegram shows: Telegram's limit."""
LINK_SCHEMES = frozenset({"http", "https", "mailto", "tg"})
"""Links kept as links; a link to anything else is shown as its text."""
RULE = "──────────"
"""A horizontal rule: Telegram has none."""
QUOTE_PREFIX = "│ "
BULLET = "• "

_SCHEME = re.compile(r"([a-z][a-z0-9+.-]*):", re.IGNORECASE)
_TAG = re.compile(r"<[^>]*>")
_SENTENCE_END = re.compile(r"(?:(?<=[.!?…])|(?<=[.!?…][\"'”’»)\]]))\s")
_LINE_END = re.compile(r"\n")
_SPACE = re.compile(r"\s")
_NON_SPACE = re.compile(r"\S")
_PROSE_CUTS = (_SENTENCE_END, _LINE_END, _SPACE)
_CODE_CUTS = (_LINE_END, _SPACE)


@dataclass(frozen=True, slots=True)
class _Tag:
    name: str
    href: str = ""

    def opening(self) -> str:
        return f'<a href="{html.escape(self.href, quote=True)}">' if self.name == "a" else f"<{self.name}>"

    def closing(self) -> str:
        return f"</{self.name}>"


_BOLD, _ITALIC, _CODE, _PRE = _Tag("b"), _Tag("i"), _Tag("code"), _Tag("pre")


@dataclass(frozen=True, slots=True)
class _Run:
    """Text shown with one formatting: its tags, outermost first."""

    text: str
    tags: tuple[_Tag, ...] = ()


_Runs = tuple[_Run, ...]


@dataclass(frozen=True, slots=True)
class _Block:
    """A paragraph, heading, list item, code block…: messages are cut between blocks first."""

    runs: _Runs
    gap: str = "\n\n"
    """What separates it from the block before: a blank line, or a line break inside a list
    or a quote."""


def telegram_parts(text: str, citations: Sequence[Citation] = (), *, limit: int = MAX_MESSAGE_LENGTH) -> list[str]:
    """The reply as Telegram HTML messages, each at most `limit` visible characters, in order.

    The citations follow the answer as its last block, "Sources:" (in the language spoken
    now). The list is empty when
    there is nothing to show (blank text, no citations): what to send then is the caller's
    decision. `limit` must be at least 2, the size of one emoji.
    """
    if limit < 2:
        raise ValueError(f"limit must be at least 2 (one emoji counts 2), not {limit}")
    blocks = [*_blocks(tree(text)), *_sources(citations)]
    return [_html(runs) for runs in _pack(blocks, limit)]


def visible_length(html_text: str) -> int:
    """Characters Telegram counts for an HTML message: the text with tags removed and entities
    decoded, in UTF-16 code units."""
    return _units(html.unescape(_TAG.sub("", html_text)))


# -- markdown to blocks of runs --------------------------------------------------------------


def _blocks(container: SyntaxTreeNode) -> list[_Block]:
    return [block for node in container.children for block in _block(node)]


def _block(node: SyntaxTreeNode) -> list[_Block]:
    match node.type:
        case "paragraph":
            runs = tuple(_inline(node.children, ()))
        case "heading":
            runs = tuple(_inline(node.children, (_BOLD,)))
        case "fence" | "code_block":
            runs = (_Run(node.content.rstrip(), (_PRE,)),)
        case "hr":
            runs = (_Run(RULE),)
        case "bullet_list" | "ordered_list":
            return _list(node)
        case "blockquote":
            quoted = [_Block(_prefixed(block.runs, QUOTE_PREFIX, QUOTE_PREFIX), "\n") for block in _blocks(node)]
            return _first_gap(quoted)
        case "table":
            runs = (_Run("\n".join(table_lines(node)), (_PRE,)),)
        case _:  # a block type this renderer does not know: its source, as text
            runs = (_Run(node.content),)
    return [_Block(runs)] if _text(runs).strip() else []


def _inline(nodes: Sequence[SyntaxTreeNode], tags: tuple[_Tag, ...]) -> Iterator[_Run]:
    for node in nodes:
        match node.type:
            case "softbreak" | "hardbreak":
                yield _Run("\n", tags)
            case "code_inline":  # code nests with no other entity; in a link, the link wins
                yield _Run(node.content, tags if _in_link(tags) else (_CODE,))
            case "strong":
                yield from _inline(node.children, _with(tags, _BOLD))
            case "em":
                yield from _inline(node.children, _with(tags, _ITALIC))
            case "link":
                yield from _inline(node.children, _with(tags, _link(node, tags)))
            case _ if node.children:  # the inline container, and an image: its alt text
                yield from _inline(node.children, tags)
            case _:
                yield _Run(node.content, tags)


def _link(node: SyntaxTreeNode, tags: tuple[_Tag, ...]) -> _Tag | None:
    href = str(node.attrs.get("href", ""))
    return _Tag("a", href) if _scheme(href) in LINK_SCHEMES and not _in_link(tags) else None


def _list(node: SyntaxTreeNode) -> list[_Block]:
    start = int(node.attrs.get("start", 1))
    blocks: list[_Block] = []
    for number, item in enumerate(node.children, start=start):
        marker = f"{number}{node.markup} " if node.type == "ordered_list" else BULLET
        blocks += _item(item, marker)
    return _first_gap(blocks)


def _item(item: SyntaxTreeNode, marker: str) -> list[_Block]:
    """A list item's blocks, one a line: the marker before its first line, the rest indented
    under its text (a nested list too)."""
    indent = " " * len(marker)
    first, *rest = _blocks(item) or [_Block(())]
    return [
        _Block(_prefixed(first.runs, marker, indent), "\n"),
        *(_Block(_prefixed(block.runs, indent, indent), "\n") for block in rest),
    ]


def _prefixed(runs: _Runs, first: str, rest: str) -> _Runs:
    """`first` before the first line, `rest` before each other one; inside a code block the
    prefix joins the code, so the block stays one and its lines stay aligned."""
    out = [_Run(first, runs[0].tags if runs and _PRE in runs[0].tags else ())]
    for run in runs:
        head, *lines = run.text.split("\n")
        out.append(_Run(head, run.tags))
        for line in lines:
            out += [_Run("\n" + rest, run.tags if _PRE in run.tags else ()), _Run(line, run.tags)]
    return tuple(out)


def _first_gap(blocks: list[_Block]) -> list[_Block]:
    """A list or a quote: a blank line before it, whatever separates its own blocks."""
    return [replace(blocks[0], gap="\n\n"), *blocks[1:]] if blocks else []


def _sources(citations: Sequence[Citation]) -> list[_Block]:
    unique = dict.fromkeys((c.source, c.title, c.section, c.link) for c in citations)
    if not unique:
        return []
    runs = [_Run(_("Sources:"), (_BOLD,))]
    for source, title, section, link in unique:
        label = (title if not section or section == title else f"{title} › {section}") or source
        tag = _Tag("a", link) if link else _ITALIC
        runs += [_Run("\n"), _Run(label, (tag,))]
    return [_Block(tuple(runs))]


def _with(tags: tuple[_Tag, ...], tag: _Tag | None) -> tuple[_Tag, ...]:
    return tags if tag is None or tag in tags else (*tags, tag)


def _in_link(tags: tuple[_Tag, ...]) -> bool:
    return any(tag.name == "a" for tag in tags)


def _scheme(url: str) -> str:
    match = _SCHEME.match(url)
    return match.group(1).lower() if match else ""


# -- messages ----------------------------------------------------------------------------------


def _pack(blocks: Sequence[_Block], limit: int) -> list[_Runs]:
    """Blocks gathered into messages: whole blocks while they fit; a block that fits in no
    message is cut into messages of its own, and its last piece is filled up further."""
    parts: list[_Runs] = []
    current: _Runs = ()
    size = 0
    for block in blocks:
        added = _units(block.gap) + _units(_text(block.runs))
        if current and size + added <= limit:
            current, size = (*current, _Run(block.gap), *block.runs), size + added
            continue
        if current:
            parts.append(_trimmed(current))
        *full, current = _cut(block.runs, limit)
        parts += full
        size = _units(_text(current))
    if current:
        parts.append(_trimmed(current))
    return parts


def _cut(runs: _Runs, limit: int) -> list[_Runs]:
    """A block as pieces of at most `limit` visible characters, whitespace trimmed at the cuts;
    one piece when it fits."""
    text = _text(runs)
    code = bool(runs) and _PRE in runs[-1].tags
    boundaries = _CODE_CUTS if code else _PROSE_CUTS
    starts = _starts(runs)
    pieces: list[_Runs] = []
    start = _piece_start(text, 0, code=code)
    while start < len(text):
        window = text[start : start + limit + 1]  # never more characters than code units
        fit = _fitting(window, limit)
        end = len(text) if start + fit == len(text) else start + _best_cut(window, fit, boundaries)
        pieces.append(_slice(runs, starts, start, start + len(text[start:end].rstrip())))
        start = _piece_start(text, end, code=code)
    return pieces


def _best_cut(text: str, fit: int, boundaries: Sequence[re.Pattern[str]]) -> int:
    """Where to cut `text`, whose first `fit` characters fit: the last boundary of the best
    kind that still fills half the piece, else the last space, else the limit itself."""
    window = text[: fit + 1]  # the whitespace a sentence ends on may lie just past the limit
    for boundary in boundaries:
        cuts = [match.start() for match in boundary.finditer(window)]
        if cuts and cuts[-1] > fit // 2:
            return cuts[-1]
    spaces = [match.start() for match in _SPACE.finditer(window, _after_space(window, 0))]
    return spaces[-1] if spaces else fit


def _fitting(text: str, limit: int) -> int:
    """How many of the leading characters of `text` fit in `limit` UTF-16 code units."""
    units = 0
    for index, char in enumerate(text):
        units += 2 if ord(char) > 0xFFFF else 1
        if units > limit:
            return index
    return len(text)


def _piece_start(text: str, index: int, *, code: bool) -> int:
    """Where a piece starts at `index`: past the whitespace there; in code only past its last
    line break, so that a line keeps its indentation (a table's right-aligned column)."""
    end = _after_space(text, index)
    if not code:
        return end
    line_start = text.rfind("\n", index, end) + 1
    return line_start or (index if index == 0 else end)


def _after_space(text: str, index: int) -> int:
    found = _NON_SPACE.search(text, index)
    return found.start() if found else len(text)


def _trimmed(runs: _Runs) -> _Runs:
    text = _text(runs)
    start = _piece_start(text, 0, code=bool(runs) and _PRE in runs[0].tags)
    return _slice(runs, _starts(runs), start, len(text.rstrip()))


def _starts(runs: _Runs) -> list[int]:
    """Where each run begins in the runs' text."""
    return list(accumulate((len(run.text) for run in runs[:-1]), initial=0))


def _slice(runs: _Runs, starts: Sequence[int], start: int, end: int) -> _Runs:
    """The runs between two offsets of their text, each keeping its formatting."""
    out: list[_Run] = []
    for index in range(max(bisect_right(starts, start) - 1, 0), len(runs)):
        if starts[index] >= end:
            break
        run = runs[index]
        piece = run.text[max(start - starts[index], 0) : end - starts[index]]
        if piece:
            out.append(_Run(piece, run.tags))
    return tuple(out)


def _html(runs: _Runs) -> str:
    """Runs as HTML: at each run, the tags it does not share with the one before are closed
    and its own opened, so tags always nest, and all are closed at the end."""
    out: list[str] = []
    open_tags: tuple[_Tag, ...] = ()
    for run in runs:
        if not run.text:
            continue
        shared = _shared(open_tags, run.tags)
        out += [tag.closing() for tag in reversed(open_tags[shared:])]
        out += [tag.opening() for tag in run.tags[shared:]]
        out.append(html.escape(run.text, quote=False))
        open_tags = run.tags
    out += [tag.closing() for tag in reversed(open_tags)]
    return "".join(out)


def _shared(left: tuple[_Tag, ...], right: tuple[_Tag, ...]) -> int:
    count = 0
    while count < min(len(left), len(right)) and left[count] == right[count]:
        count += 1
    return count


def _text(runs: Iterable[_Run]) -> str:
    return "".join(run.text for run in runs)


def _units(text: str) -> int:
    """Length in UTF-16 code units, as Telegram counts."""
    return len(text.encode("utf-16-le", errors="surrogatepass")) // 2
