"""JSON files: records a customer's question can land on, not raw JSON.

A list of objects — the file itself, or the lists of objects among a top-level object's values
(`{"errors": [...]}`) — is one section per object, named by its naming field (the first of
`title, name, question, code, id, key` it has, else its first text field), its other fields as
`key: value` lines: `code: BD-4010`, nested ones by their path (`limits.max: 5`), a list of
plain values joined with commas, a list of sentences one a line under its key (`LISTED_WORDS`),
a list of objects of plain values a table under its key (`_table`: a column per key, so a quote
takes the row a question names), a record's own prose without its key (`_PROSE_KEYS`). An FAQ record (question and answer
fields, as `chunk_csv` knows them) reads like an FAQ csv row: the question names it, the answer
comes first. A
top-level object whose values are all objects is records keyed by name. Whatever else the file
holds is `key: value` lines under the document's title, which is the file's name (`error-codes`
→ "Error codes"). A file that is not valid JSON raises: the caller skips it and says why.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import TypeGuard

from knowledge.conversion.markdown_table import markdown_table
from knowledge.ingest.chunking import Chunk, faq_columns, humanize_stem, pack_lines

_NAME_KEYS = ("title", "name", "question", "code", "id", "key")
LISTED_WORDS = 6
"""A list of plain values whose items average this many words or more is a list of sentences:
`steps:` over one line per step ("1. Check your collection day…", "- Bring your licence"), so a
quote takes the step it needs. Shorter items are values, joined with commas on one line
(`members: cars and vans, motorbikes, caravans`)."""
CELL_WORDS = 20
"""A list of objects is a table only when no value runs past this many words: a paragraph in a
cell is cut mid-row when a long table is split, and reads better as its own line."""
_PROSE_KEYS = frozenset({"answer", "body", "content", "description", "details", "introduction", "summary", "text"})
"""Keys that name no fact, only that their value is the record's prose (`_line`)."""
_MARKED = re.compile(r"^(?:\d{1,3}[.)]|[-*•])\s")
"""A list item that already has its number or bullet ("1. Check…", "10) Call…", "- Bring…")."""


@dataclass(frozen=True, slots=True)
class _Record:
    name: str | None  # None: named by its own fields
    fields: Mapping[str, object]


def json_chunks(data: bytes, *, stem: str, max_chars: int) -> list[Chunk]:
    value = json.loads(data.decode("utf-8-sig"))
    title = humanize_stem(stem)
    records, rest = _split(value)
    chunks = [Chunk(title, title, text) for text in pack_lines(_lines(rest, ""), max_chars=max_chars)]
    for number, record in enumerate(records, start=1):
        name, lines = _read(record, fallback=f"{title} {number}")
        chunks += [Chunk(title, name, text) for text in pack_lines(lines, max_chars=max_chars)]
    return chunks


def _split(value: object) -> tuple[list[_Record], object]:
    """The file's records, and what else it holds."""
    if _is_records(value):
        return [_Record(None, item) for item in value], None
    if not isinstance(value, dict):
        return [], value
    lists = {key: item for key, item in value.items() if _is_records(item)}
    if lists:
        records = [_Record(None, fields) for items in lists.values() for fields in items]
        return records, {key: item for key, item in value.items() if key not in lists}
    if len(value) > 1 and all(isinstance(item, dict) and item for item in value.values()):
        return [_Record(str(key), fields) for key, fields in value.items()], None
    return [], value


def _is_records(value: object) -> TypeGuard[list[dict[str, object]]]:
    return isinstance(value, list) and bool(value) and all(isinstance(item, dict) for item in value)


def _read(record: _Record, *, fallback: str) -> tuple[str, list[str]]:
    """The record's section name and its lines."""
    fields = record.fields
    if record.name is not None:
        return record.name, list(_lines(fields, "")) or [record.name]
    keys = list(fields)
    faq = faq_columns(keys)
    if faq is not None and all(isinstance(fields[keys[i]], str) and fields[keys[i]] for i in faq):
        question, answer = (keys[i] for i in faq)
        others = {key: item for key, item in fields.items() if key not in (question, answer)}
        return " ".join(str(fields[question]).split()), [str(fields[answer]).strip(), *_lines(others, "")]
    key = _naming_key(fields)
    if key is None:
        return fallback, list(_lines(fields, ""))
    name = " ".join(_scalar(fields[key]).split())
    others = {other: item for other, item in fields.items() if other != key}
    return name, list(_lines(others, "")) or [f"{key}: {name}"]


def _naming_key(fields: Mapping[str, object]) -> str | None:
    by_lower = {key.lower(): key for key in reversed(list(fields))}
    named = (by_lower[name] for name in _NAME_KEYS if name in by_lower)
    texts = (key for key, item in fields.items() if isinstance(item, str))
    for key in (*named, *texts):
        item = fields[key]
        if _is_scalar(item) and _scalar(item).strip():
            return key
    return None


def _lines(value: object, path: str) -> Iterator[str]:
    """`path: value` lines, nested values by their dotted path (list items numbered from 1); a
    list of plain values on one line, or, when its items are sentences, as one block: `path:`
    over a line per item (`_sentences`)."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _lines(item, f"{path}.{key}" if path else str(key))
    elif isinstance(value, list) and all(_is_scalar(item) for item in value):
        texts = [text for item in value if (text := _scalar(item).strip())]
        if texts and _sentences(texts):
            items = [text if _MARKED.match(text) else f"- {text}" for text in texts]
            yield "\n".join([f"{path}:", *items] if path else items)
        else:
            yield from _line(path, ", ".join(texts))
    elif _is_table(value):
        yield f"{path}:\n\n{_table(value)}" if path else _table(value)
    elif isinstance(value, list):
        for number, item in enumerate(value, start=1):
            yield from _lines(item, f"{path}.{number}" if path else str(number))
    else:
        yield from _line(path, _scalar(value).strip())


def _is_table(value: object) -> TypeGuard[list[dict[str, object]]]:
    """Whether a list is rows: two objects or more, each of plain values of a few words
    (`CELL_WORDS`), and not questions with their answers (those stay `key: value` lines)."""
    return (
        _is_records(value)
        and len(value) > 1
        and all(
            item and all(_is_scalar(cell) and len(_scalar(cell).split()) <= CELL_WORDS for cell in item.values())
            for item in value
        )
        and faq_columns(list(dict.fromkeys(key for item in value for key in item))) is None
    )


def _table(rows: list[dict[str, object]]) -> str:
    """Rows of plain values as a markdown table, a column per key (in the order they first
    come), so a quote takes the row and the columns a question names."""
    keys = list(dict.fromkeys(key for row in rows for key in row))
    return markdown_table([keys, *([" ".join(_scalar(row.get(key)).split()) for key in keys] for row in rows)])


def _line(path: str, text: str) -> Iterator[str]:
    """`path: text`; the text alone when it is a record's own prose: a top-level key that only
    says so (`_PROSE_KEYS`) over a sentence or more, "answer: You book and pay for…" read as
    "You book and pay for…" (a short value, `description: Blue`, keeps its label)."""
    if not text:
        return
    prose = path.lower() in _PROSE_KEYS and len(text.split()) >= LISTED_WORDS
    yield f"{path}: {text}" if path and not prose else text


def _sentences(texts: list[str]) -> bool:
    """Whether a list's items are sentences (LISTED_WORDS words or more on average), each read
    on its own line, not values read as one line."""
    return sum(len(text.split()) for text in texts) >= LISTED_WORDS * len(texts)


def _is_scalar(value: object) -> bool:
    return value is None or isinstance(value, str | int | float | bool)


def _scalar(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)
