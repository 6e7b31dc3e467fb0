"""Plain-text articles: the headings their writer set apart on lines of their own.

A .txt help article has no markup for its headings, but it has them: "A FAULTY BIKE",
"OPENING HOURS", a line underlined with `----`, "Missed lessons" alone between blank lines.
Read as one untitled body, the whole file was a single section, matched as a whole against a
short question ("the brakes feel loose" against an article about faults, accidents and theft),
and its sentences were not scored apart (`knowledge.base._sentences_count`).

A heading line is at most `MAX_HEADING_CHARS`, holds a letter, is not a list item and does not
end as a sentence or a lead-in does (`.`, `,`, `;`, `:`, `!`); more text follows it. It is one
of four kinds, from the most senior: underlined with `===`, underlined with `---`, in capitals
(alone, or as the first line of its paragraph: "IMPROVED" over its list), and in ordinary case
alone between blank lines with text after it (not another such line: "Phone 01234 567890" over
"Email help@example.com" is text). The file's first paragraph, when it is a heading, is its title; the
other headings are its sections, nested by kind: in a file with capitals and ordinary lines, an
ordinary line is a section inside the capitals' ("OPENING HOURS", then "Summer (1 April to 30
September)"). Lines set out in columns are a table (`aligned_table`). A file that marks headings as markdown does (it opens with a `# ` line, or has
two) is read as markdown.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from knowledge.conversion.markdown_table import markdown_table
from knowledge.ingest.chunking import Chunk, chunk_markdown, chunk_sections
from knowledge.passages import LIST_ITEM

MAX_HEADING_CHARS = 80
PROSE_WORDS = 6
"""Lines set out in columns whose median cell holds this many words or more are prose, not a
table (as `pdf_tables` reads a page)."""
_MARKDOWN_HEADING = re.compile(r"^#{1,6}\s+\S", re.MULTILINE)
_UNDERLINES = {"=": re.compile(r"^\s*={3,}\s*$"), "-": re.compile(r"^\s*-{3,}\s*$")}
_SENIORITY = ("=", "-", "capitals", "ordinary")
_ENDS_AS_SENTENCE = (".", ",", ";", ":", "!")


@dataclass(frozen=True, slots=True)
class _Paragraph:
    kind: str | None
    """Its heading's kind (`_SENIORITY`), None for text."""
    heading: str
    body: str
    """The text under the heading in the same paragraph, or the whole paragraph when it is text."""


def text_chunks(text: str, *, stem: str, max_chars: int) -> list[Chunk]:
    """The chunks of a plain-text file, split at its headings (see the module docstring)."""
    text = text.lstrip("\ufeff").replace("\r\n", "\n").replace("\r", "\n")
    if _is_markdown(text):
        return chunk_markdown(text, stem=stem, max_chars=max_chars)
    return chunk_sections(_text_sections(_paragraphs(text)), stem=stem, max_chars=max_chars)


def _is_markdown(text: str) -> bool:
    """Whether the file marks its headings as markdown does: it opens with one, or has two ("# of
    guests: 4" alone is a line of text)."""
    first = text.lstrip().split("\n", 1)[0]
    return _MARKDOWN_HEADING.match(first) is not None or len(_MARKDOWN_HEADING.findall(text)) >= 2


def _text_sections(paragraphs: Sequence[str]) -> list[tuple[int, str, str]]:
    """(heading level, heading, body) sections of a file's paragraphs, as `chunk_sections`
    takes them: level 1 for the title, 2 and below for sections, 0 for the text before any heading."""
    read = [_read(paragraph, last=i + 1 == len(paragraphs)) for i, paragraph in enumerate(paragraphs)]
    # an ordinary line is a heading only over text: of "Phone 01234 567890" then "Email …", neither
    read = [
        _Paragraph(None, "", paragraphs[i])
        if p.kind == "ordinary" and (i + 1 == len(read) or read[i + 1].kind is not None)
        else p
        for i, p in enumerate(read)
    ]
    kinds = [kind for kind in _SENIORITY if any(p.kind == kind for p in read[1:])]
    sections: list[tuple[int, str, str]] = []
    level, heading, body = 0, "", []
    for i, paragraph in enumerate(read):
        if paragraph.kind is None:
            body.append(paragraph.body)
            continue
        sections.append((level, heading, "\n\n".join(body)))
        level = 1 if i == 0 else 2 + kinds.index(paragraph.kind)
        heading, body = paragraph.heading, [paragraph.body] if paragraph.body else []
    sections.append((level, heading, "\n\n".join(body)))
    return [section for section in sections if section[0] or section[2].strip()]


def _paragraphs(text: str) -> list[str]:
    """The file's paragraphs, blank lines between them; each keeps its own lines as written."""
    return [block.strip("\n") for block in re.split(r"\n[ \t]*\n", text) if block.strip()]


def _read(paragraph: str, *, last: bool) -> _Paragraph:
    """A paragraph as a heading of its kind, or as text (see the module docstring); a table set
    out in columns is text, as a markdown table (`aligned_table`)."""
    table = aligned_table(paragraph)
    if table is not None:
        return _Paragraph(None, "", table)
    first, *rest = paragraph.split("\n")
    line = first.strip()
    if not _heading_line(line):
        return _Paragraph(None, "", paragraph)
    if rest and (len(rest) > 1 or not last):
        underline = next((kind for kind, pattern in _UNDERLINES.items() if pattern.match(rest[0])), None)
        if underline is not None:  # the text may follow the underline without a blank line
            return _Paragraph(underline, line, "\n".join(rest[1:]))
    if line.isupper() and (rest or not last):
        return _Paragraph("capitals", line, "\n".join(rest))
    if not rest and not last:
        return _Paragraph("ordinary", line, "")
    return _Paragraph(None, "", paragraph)


def _heading_line(line: str) -> bool:
    return (
        len(line) <= MAX_HEADING_CHARS
        and any(c.isalpha() for c in line)
        and not LIST_ITEM.match(line)
        and not line.endswith(_ENDS_AS_SENTENCE)
    )


_CELL = re.compile(r"\S+(?: \S+)*")
"""A cell of a line set out in columns: words one space apart; two spaces or more end it."""


def aligned_table(paragraph: str) -> str | None:
    """A paragraph set out in columns as a markdown table; None when it is not one.

    A header and two rows or more, every line cut into the same number of cells (two or more)
    by tabs or by runs of two spaces or more, and, cut by spaces, each column starting at the
    same place on every line (a price list typed in a fixed-width font): "When you cancel   What
    you get back" over "More than 42 days before arrival   Everything except the deposit". Read
    as text, its cells ran together into one sentence ("When you cancel What you get back More
    than 42 days…")."""
    lines = [line.rstrip() for line in paragraph.split("\n")]
    if len(lines) < 3 or any(not line.strip() for line in lines):
        return None
    if all("\t" in line for line in lines):
        rows = [[cell.strip() for cell in re.split(r"\t+", line.strip())] for line in lines]
    else:
        spans = [[(m.start(), m.group()) for m in _CELL.finditer(line.expandtabs())] for line in lines]
        if any({start for start, _ in row} != {start for start, _ in spans[0]} for row in spans[1:]):
            return None
        rows = [[text for _, text in row] for row in spans]
    width = len(rows[0])
    if width < 2 or any(len(row) != width for row in rows) or not _cells_of_a_table(lines, rows):
        return None
    return markdown_table(rows)


def _cells_of_a_table(lines: Sequence[str], rows: Sequence[Sequence[str]]) -> bool:
    """Whether lines cut into cells are a table, not a list set out in columns ("1.  Open the
    app", "-   Bring your licence"), labelled lines ("Phone:   01632 960 418"), or prose in
    two columns (cells of `PROSE_WORDS` words or more, as a rule)."""
    if any(LIST_ITEM.match(line.strip()) for line in lines):
        return False
    if all(row[0].endswith(":") for row in rows):
        return False
    words = sorted(len(cell.split()) for row in rows for cell in row)
    return words[len(words) // 2] < PROSE_WORDS
