"""One file's bytes → its chunks, faithful to what the format says: a title, sections, lists,
tables, records (issue 40).

One module per format that needs its own reading: `front_matter` (markdown), `plain_text`, `docx_styles`,
`pptx_slides`, `pdf_headings`, `json_records`; html, xlsx and a csv that is not an FAQ go
through markitdown as they are (`markitdown_files`). A table a module reads (a PDF's, a
slide's, a JSON list's, a plain-text file's columns) is written by `markdown_table`. Each format's module, and the library it
reads with, is imported on the first file of that format: every process imports knowledge,
few of them convert a file.
"""

from __future__ import annotations

from dataclasses import dataclass

from knowledge.archive_limits import check_unpacked_size
from knowledge.file_signatures import check_signature
from knowledge.ingest.chunking import Chunk, chunk_csv, chunk_markdown

TEXT_FORMATS = frozenset({".md", ".markdown", ".txt"})
CONVERTED_FORMATS = frozenset({".html", ".htm", ".pdf", ".docx", ".xlsx", ".pptx", ".csv", ".json"})
SUPPORTED_FORMATS = TEXT_FORMATS | CONVERTED_FORMATS
MARKDOWN_FORMATS = frozenset({".md", ".markdown"})
MARKITDOWN_FORMATS = frozenset({".html", ".htm", ".xlsx", ".csv"})
CONVERSION = b"7:"
"""Part of every content hash: changed when conversion or chunking changes what a file's chunks
hold, so the next re-index converts every file again instead of keeping chunks made the old
way (2: tables without a marked header row keep their first row as the header; 3: markdown
front matter gives the title and is no longer text; a Word Title is the title and its Heading
1s its sections; a slide is a section, its bullets a list; a PDF's larger lines or outline
entries are its sections, its wrapped lines are joined, its borderless tables are tables; a
JSON file is records of `key: value` lines; html and Word lists are `- ` lists; 4: a document's
chunks carry its language; 5: a plain-text file's lines set apart as headings are its title and
sections; 6: a JSON list of sentences is a line each under its key, and a record's prose field
has no label; 7: a JSON list of objects of plain values is a table under its key, and a
plain-text file's lines set out in columns are a table)."""


@dataclass(frozen=True, slots=True)
class Converted:
    chunks: list[Chunk]
    url: str | None = None
    """The document's public address when the file itself states it (markdown front matter's
    `url:`, http or https only)."""
    language: str | None = None
    """The language the file itself says it is written in (markdown front matter's `language:`)."""


def convert(data: bytes, *, suffix: str, stem: str, max_chars: int, max_unpacked_bytes: int) -> Converted:
    """The chunks of one file's bytes; `suffix` is its lower-case extension with the dot, `stem`
    its name without it (the title when the file states none). Raises on an unreadable file
    (the caller skips it and says why), or an office file that would unpack past
    `max_unpacked_bytes` (`knowledge.archive_limits`). Safe to call from several threads."""
    check_signature(suffix, data)
    check_unpacked_size(suffix, data, max_unpacked_bytes=max_unpacked_bytes)
    if suffix in MARKDOWN_FORMATS:
        from knowledge.conversion.front_matter import split_front_matter

        meta, text = split_front_matter(data.decode("utf-8", errors="replace"), name=stem)
        return Converted(
            chunk_markdown(text, stem=stem, max_chars=max_chars, title=meta.title),
            url=meta.url,
            language=meta.language,
        )
    if suffix in TEXT_FORMATS:
        from knowledge.conversion.plain_text import text_chunks

        return Converted(text_chunks(data.decode("utf-8", errors="replace"), stem=stem, max_chars=max_chars))
    if suffix == ".csv":
        faq = chunk_csv(data.decode("utf-8-sig", errors="replace"), stem=stem, max_chars=max_chars)
        if faq is not None:
            return Converted(faq)
    if suffix == ".docx":
        from knowledge.conversion.docx_styles import docx_chunks

        return Converted(docx_chunks(data, stem=stem, max_chars=max_chars))
    if suffix == ".pptx":
        from knowledge.conversion.pptx_slides import pptx_chunks

        return Converted(pptx_chunks(data, stem=stem, max_chars=max_chars))
    if suffix == ".pdf":
        from knowledge.conversion.pdf_headings import pdf_chunks

        return Converted(pdf_chunks(data, stem=stem, max_chars=max_chars))
    if suffix == ".json":
        from knowledge.conversion.json_records import json_chunks

        return Converted(json_chunks(data, stem=stem, max_chars=max_chars))
    if suffix in MARKITDOWN_FORMATS:
        from knowledge.conversion.markitdown_files import markitdown_chunks

        return Converted(markitdown_chunks(data, suffix=suffix, stem=stem, max_chars=max_chars))
    raise ValueError(f"not a supported format ({', '.join(sorted(SUPPORTED_FORMATS))})")
