"""Markdown → retrievable chunks. Pure functions: no I/O, no model.

Why split by headings: a help-centre article answers several questions, one per section, and a
chunk that mixes sections dilutes its embedding. Each chunk keeps the document title and its
heading path so an answer can cite "Billing › Refunds" and so the embedded text carries the
context a bare paragraph lacks (see `embedding_text`). Long sections are split at paragraph,
then sentence, then word boundaries; tables are split by rows with the header row repeated,
so every piece stays a readable table. FAQ tables (question/answer columns) become one chunk
per row with the question as the section: an FAQ answer must be retrievable on its own.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

SECTION_SEPARATOR = " › "
_WORDLESS = re.compile(r"[\W_]*")

_HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$")
_FENCE = re.compile(r"^\s*(```|~~~)")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[\"'(\[]?[A-Z0-9])")
_QUESTION_COLUMNS = ("question", "q", "frage", "pregunta", "title", "faq")
_ANSWER_COLUMNS = ("answer", "a", "antwort", "respuesta", "response", "reply", "body")


@dataclass(frozen=True, slots=True)
class Chunk:
    title: str
    section: str
    text: str


def humanize_stem(stem: str) -> str:
    """`getting-started_guide` → `Getting started guide`."""
    words = re.sub(r"[_\-.]+", " ", stem).strip()
    return words[:1].upper() + words[1:] if words else "Untitled"


def heading_text(title: str, section: str) -> str:
    """The question a chunk answers, as its headings put it: `Title › Section` (or the title)."""
    return title if not section or section == title else f"{title}{SECTION_SEPARATOR}{section}"


def embedding_text(chunk: Chunk) -> str:
    """What gets embedded: the title and section give a bare paragraph its context."""
    return f"{heading_text(chunk.title, chunk.section)}\n{chunk.text}"


def chunk_markdown(markdown: str, *, stem: str, max_chars: int, title: str | None = None) -> list[Chunk]:
    """Split a markdown document into chunks by headings, each at most `max_chars` of text.
    Its title is its first `# ` heading, else `title` (one the file states apart from its text,
    such as front matter), else the stem humanized."""
    return chunk_sections(_sections(markdown), stem=stem, max_chars=max_chars, title=title)


def chunk_sections(
    sections: Iterable[tuple[int, str, str]], *, stem: str, max_chars: int, title: str | None = None
) -> list[Chunk]:
    """Chunks of a document already split into (heading level, heading, body) sections, level 0
    for the text before any heading: what a converter that finds the headings itself (a PDF's
    font sizes, a deck's slides) hands over, so no body line can be mistaken for a heading.
    Titled and split as `chunk_markdown` does."""
    sections = list(sections)
    title = next((heading for level, heading, _ in sections if level == 1), None) or title or humanize_stem(stem)
    chunks: list[Chunk] = []
    for _, path, body in _with_paths(sections, title):
        for text in split_text(body, max_chars=max_chars):
            chunks.append(Chunk(title=title, section=path, text=text))
    return chunks


def _sections(markdown: str) -> Iterable[tuple[int, str, str]]:
    """(heading level, heading text, body) in document order; level 0 = text before any heading."""
    level, heading = 0, ""
    body: list[str] = []
    in_fence = False
    for line in markdown.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        if _FENCE.match(line):
            in_fence = not in_fence
        match = None if in_fence else _HEADING.match(line)
        if match:
            yield level, heading, "\n".join(body)
            level, heading, body = len(match.group(1)), _clean_heading(match.group(2)), []
        else:
            body.append(line)
    yield level, heading, "\n".join(body)


def _clean_heading(text: str) -> str:
    return re.sub(r"[*_`]+", "", text).strip()


def _with_paths(sections: Sequence[tuple[int, str, str]], title: str) -> Iterable[tuple[int, str, str]]:
    """Attach the heading path (below the document title) to each section body."""
    stack: list[tuple[int, str]] = []
    for level, heading, body in sections:
        if level:
            while stack and stack[-1][0] >= level:
                stack.pop()
            if not (level == 1 and heading == title):
                stack.append((level, heading))
        path = SECTION_SEPARATOR.join(h for _, h in stack) or title
        yield level, path, body


def split_text(body: str, *, max_chars: int) -> list[str]:
    """Pack the blocks of `body` into pieces of at most `max_chars`; never an empty piece."""
    blocks = (block for block in _blocks(body) if not _WORDLESS.fullmatch(block))  # rule lines (---)
    return _pack((part for block in blocks for part in _fit(block, max_chars)), "\n\n", max_chars)


def pack_lines(lines: Iterable[str], *, max_chars: int) -> list[str]:
    """Lines (`key: value` records) packed greedily into pieces of at most `max_chars`, one line
    under another; a line longer than that is split at sentences. A block of several lines (a
    list under its lead-in, a value written on several lines, a table) stands apart, a blank line
    before and after it, so the line after it is not read as part of its last item; a block
    longer than `max_chars` is packed line by line instead, a table by rows under its header."""
    parts = (
        part
        for line in lines
        if line.strip()
        for one in ([line] if len(line) <= max_chars else _lines_of(line, max_chars))
        for part in _fit(one, max_chars)
    )
    return _pack(parts, "\n", max_chars, around_blocks="\n\n")


def _lines_of(block: str, max_chars: int) -> list[str]:
    """A block too long for one piece, line by line; a table in it by rows under its header,
    each piece under the line that leads into the table ("charges:"), which names it."""
    out: list[str] = []
    for part in block.split("\n\n"):
        if not _is_table(part):
            out += part.split("\n")
            continue
        lead = out.pop() if out and out[-1].endswith(":") else ""
        room = max_chars - len(lead) - 2 if lead else max_chars
        out += [f"{lead}\n\n{piece}" if lead else piece for piece in _split_table(part, room)]
    return out


def _pack(parts: Iterable[str], separator: str, max_chars: int, *, around_blocks: str | None = None) -> list[str]:
    """Join consecutive parts with `separator` greedily into pieces of at most `max_chars`;
    `around_blocks` instead next to a part of several lines, when given."""
    pieces: list[str] = []
    current = last = ""
    for part in parts:
        apart = around_blocks if around_blocks is not None and ("\n" in part or "\n" in last) else separator
        if current and len(current) + len(apart) + len(part) > max_chars:
            pieces.append(current)
            current = part
        else:
            current = f"{current}{apart}{part}" if current else part
        last = part
    if current:
        pieces.append(current)
    return pieces


def _blocks(body: str) -> Iterable[str]:
    """Paragraphs; a code fence or a table is one block even with blank lines around rows."""
    block: list[str] = []
    in_fence = False
    for line in body.split("\n"):
        if _FENCE.match(line):
            in_fence = not in_fence
        if not in_fence and not line.strip():
            if block:
                yield "\n".join(block).strip("\n")
                block = []
            continue
        block.append(line.rstrip())
    if block:
        yield "\n".join(block).strip("\n")


def _fit(block: str, max_chars: int) -> list[str]:
    if len(block) <= max_chars:
        return [block] if block.strip() else []
    if _is_table(block):
        return _split_table(block, max_chars)
    return _split_sentences(block, max_chars)


def _is_table(block: str) -> bool:
    lines = block.split("\n")
    return len(lines) >= 2 and all(line.lstrip().startswith("|") for line in lines)


def _split_table(block: str, max_chars: int) -> list[str]:
    """Row groups, each headed by the table's header (and separator) row."""
    lines = block.split("\n")
    has_separator = len(lines) > 1 and re.fullmatch(r"\s*\|?[\s:|-]+\|?\s*", lines[1]) is not None
    header = lines[:2] if has_separator else lines[:1]
    rows = lines[len(header) :]
    head = "\n".join(header)
    pieces: list[str] = []
    current: list[str] = []
    for row in rows:
        candidate = "\n".join([head, *current, row])
        if current and len(candidate) > max_chars:
            pieces.append("\n".join([head, *current]))
            current = []
        current.append(row)
    if current:
        pieces.append("\n".join([head, *current]))
    # A single row longer than the limit is still one row: split its text, header first.
    return [
        part
        for piece in pieces
        for part in ([piece] if len(piece) <= max_chars else _split_sentences(piece, max_chars))
    ]


def _split_sentences(block: str, max_chars: int) -> list[str]:
    parts = (part for sentence in _SENTENCE_END.split(block) for part in _split_words(sentence.strip(), max_chars))
    return _pack(parts, " ", max_chars)


def _split_words(sentence: str, max_chars: int) -> list[str]:
    if len(sentence) <= max_chars:
        return [sentence] if sentence else []
    # a word longer than a chunk (a URL, a base64 blob) is cut into chunk-sized slices
    words = (word[i : i + max_chars] for word in sentence.split() for i in range(0, len(word), max_chars))
    return _pack(words, " ", max_chars)


def faq_columns(header: Sequence[str]) -> tuple[int, int] | None:
    """Indexes of the question and answer columns when a table header looks like an FAQ."""
    names = [name.strip().lower() for name in header]
    question = next((i for i, name in enumerate(names) if name in _QUESTION_COLUMNS), None)
    answer = next((i for i, name in enumerate(names) if name in _ANSWER_COLUMNS), None)
    if question is None or answer is None or question == answer:
        return None
    return question, answer


def chunk_csv(text: str, *, stem: str, max_chars: int) -> list[Chunk] | None:
    """An FAQ csv (question, answer columns) → one chunk per row; None when it is not an FAQ.

    Other columns of the row (category, product…) are kept as `name: value` lines, because
    they are often what a customer names ("the Pro plan").
    """
    try:  # only the delimiter: the sniffer's quoting guesses are unreliable
        delimiter = csv.Sniffer().sniff(text.split("\n", 1)[0], delimiters=",;\t").delimiter
    except csv.Error:
        delimiter = ","
    rows = [row for row in csv.reader(io.StringIO(text), delimiter=delimiter) if any(cell.strip() for cell in row)]
    if len(rows) < 2:
        return None
    columns = faq_columns(rows[0])
    if columns is None:
        return None
    q_index, a_index = columns
    title = humanize_stem(stem)
    chunks: list[Chunk] = []
    for row in rows[1:]:
        cells = row + [""] * (len(rows[0]) - len(row))
        question, answer = cells[q_index].strip(), cells[a_index].strip()
        if not question and not answer:
            continue
        extra = [
            f"{rows[0][i].strip()}: {cell.strip()}"
            for i, cell in enumerate(cells[: len(rows[0])])
            if i not in columns and cell.strip()
        ]
        body = "\n".join([answer or question, *extra])
        for text in split_text(body, max_chars=max_chars):
            chunks.append(Chunk(title=title, section=question or title, text=text))
    return chunks
