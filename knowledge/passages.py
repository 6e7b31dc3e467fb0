"""How a chunk's markdown reads as paragraphs, and as the units a reader takes in one at a time.

A passage is prose, lists, tables and headings. `paragraphs` gives them in order, with
hard-wrapped lines (a converted PDF, a markdown paragraph) joined; `pieces` cuts a prose
paragraph into sentences (a converted .json file by object, as `Key: value.` sentences).

`units` is what the search scores a chunk's sentences by (`knowledge.base`, a hit's
`sentences`): each sentence, each list item, each table row written as `header: cell` pairs.
A customer's question is one sentence; its cosine with the one sentence that answers it ("Call
our customer service line on 0345 600 1122" for "what's the number to ring customer services")
is higher than with the whole passage around that sentence, and it says *which* sentence answers
(`core.answering.offline_responder` quotes by it).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache

MAX_UNITS = 24
"""Units scored per chunk, the first ones (a chunk is at most a few hundred words)."""
MIN_UNIT_WORDS = 3
"""A shorter line ("Exceptions:", "Safety") says too little to be scored alone."""

SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[\"'(\[]?[A-Z0-9`*])")
LIST_ITEM = re.compile(r"^\s*([-*+]|\d+[.)])\s+(.*)$")
_HEADING_LINE = re.compile(r"^\s*#{1,6}\s")
_JSON_KEY = re.compile(r'"\w+"\s*:')
_JSON_PAIR = re.compile(r'"(\w+)"\s*:\s*(?:"((?:[^"\\]|\\.)*)"|([-\d.]+|true|false))')
TABLE_LINE = re.compile(r"^\s*\|")
_PIPE = re.compile(r"(?<!\\)\|")
_DELIMITER_CELL = re.compile(r"^\s*:?-{1,}:?\s*$")
_FIELD_LINE = re.compile(r"^[^\W\d][\w .()/-]{0,40}:\s+\S")
"""A labelled line: a converted JSON record's `key: value`, an address's "Phone: 01632 960 300"."""


def paragraphs(text: str) -> list[tuple[str, str | None, str]]:
    """("item", marker, text), ("prose", None, text), ("fields", None, its lines), ("table",
    None, its lines) or ("heading", None, text), in order. Hard-wrapped lines (converted PDFs,
    markdown paragraphs) are joined; a table's lines are kept as lines, and so are a paragraph's
    when each is labelled ("code: BD-4012", "meaning: …": a converted JSON record's fields)."""
    out: list[tuple[str, str | None, str]] = []
    current: list[str] = []
    kind: str | None = None
    marker: str | None = None

    def close() -> None:
        nonlocal kind
        if kind == "table":
            out.append((kind, marker, "\n".join(current)))
        elif kind == "prose" and len(current) > 1 and all(_FIELD_LINE.match(line) for line in current):
            out.append(("fields", None, "\n".join(_clean(line) for line in current)))
        elif kind is not None:
            body = _clean(" ".join(current))
            if body:
                out.append((kind, marker, body))
        current.clear()
        kind = None

    for raw in text.splitlines():
        if TABLE_LINE.match(raw):
            if kind != "table":
                close()
                kind, marker = "table", None
            current.append(raw)
            continue
        if kind == "table":
            close()
        if not raw.strip():
            close()
            continue
        if _HEADING_LINE.match(raw):
            close()
            out.append(("heading", None, raw.strip("# ")))
            continue
        item = LIST_ITEM.match(raw)
        if item:
            close()
            kind, marker = "item", item.group(1)
            current.append(item.group(2))
            continue
        if kind is None:
            kind, marker = "prose", None
        current.append(re.sub(r"^\s*>\s*", "", raw))
    close()
    return out


def is_json(paragraph: str) -> bool:
    """Whether a paragraph is a converted .json file's objects rather than prose."""
    return len(_JSON_KEY.findall(paragraph)) >= 2


def pieces(paragraph: str) -> list[str]:
    """Sentences; JSON (a converted .json file) by object, as `Key: value.` sentences."""
    if is_json(paragraph):
        return [tidy for part in re.split(r"\}\s*,?\s*\{", paragraph) if (tidy := _tidy_json(part))]
    return [s.strip() for s in SENTENCE_END.split(paragraph) if s.strip()]


@lru_cache(maxsize=8192)
def units(text: str, *, tables_only: bool = False) -> tuple[str, ...]:
    """The chunk's sentences, list items and table rows (as `header: cell` pairs), each once,
    at most MAX_UNITS, in order; headings and lines of fewer than MIN_UNIT_WORDS words left out.
    `tables_only`: its table rows alone. Cached: the same chunks come back search after search."""
    found: dict[str, None] = {}
    for kind, _, body in paragraphs(text):
        if tables_only and kind != "table":
            continue
        if kind in ("prose", "fields"):  # a record's fields are scored as the sentences they were
            candidates = pieces(body.replace("\n", " "))
        elif kind == "item":
            candidates = [body]
        elif kind == "table":
            candidates = table_rows(body.split("\n"))
        else:
            continue
        for candidate in candidates:
            if len(candidate.split()) >= MIN_UNIT_WORDS:
                found.setdefault(candidate, None)
    return tuple(found)[:MAX_UNITS]


def table_rows(lines: list[str]) -> list[str]:
    """A markdown table's rows, each as `header: cell` pairs ("Plan: Yearly; Price: £99"); the
    header alone when it has no rows."""
    cells = [[cell.strip() for cell in _PIPE.split(line.strip().strip("|"))] for line in lines]
    cells = [row for row in cells if not all(_DELIMITER_CELL.match(cell) or not cell for cell in row)]
    if not cells:
        return []
    header, rows = cells[0], cells[1:]
    if not rows:
        return ["; ".join(cell for cell in header if cell)]
    return [row_text(header, row) for row in rows]


def row_text(header: Sequence[str], row: Sequence[str]) -> str:
    """A table row as the search scores it: `header: cell` pairs ("Plan: Yearly; Price: £99")."""
    return "; ".join(f"{name}: {cell}" if name else cell for name, cell in zip(header, row, strict=False) if cell)


def _tidy_json(part: str) -> str:
    pairs = [(key, text or number) for key, text, number in _JSON_PAIR.findall(part) if (text or number).strip()]
    if not pairs:
        return part.strip(" ,{}[]")
    return " ".join(f"{key.replace('_', ' ').capitalize()}: {value.strip().rstrip('.')}." for key, value in pairs)


def _clean(line: str) -> str:
    line = line.replace("|", " ").strip()
    return "" if set(line) <= set("-: ") else re.sub(r"\s{2,}", " ", line)
