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
September)"). A file that marks headings as markdown does (it opens with a `# ` line, or has
two) is read as markdown.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from knowledge.ingest.chunking import Chunk, chunk_markdown, chunk_sections
from knowledge.passages import LIST_ITEM

MAX_HEADING_CHARS = 80
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
    """A paragraph as a heading of its kind, or as text (see the module docstring)."""
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
