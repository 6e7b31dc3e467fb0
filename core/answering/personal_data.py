"""Personal data in a text a support person wrote or a customer asked, found so that a help-centre
answer learned from a real conversation can be flagged for redaction before every customer sees it.

Found by shape (emails, phone numbers, order numbers) and by what the hub already knows about the
contact (`known`: names, emails, phones, order numbers). A miss publishes someone's data; a false
flag costs a reviewer an edit, so the shapes lean towards flagging while keeping ordinary
help-article text ("5-10 business days", "600 requests per minute", "in 2024") unflagged.
"""

from __future__ import annotations

import re
from bisect import bisect
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from enum import StrEnum


class Kind(StrEnum):
    EMAIL = "email"
    PHONE = "phone"
    ORDER = "order number"
    NAME = "name"


@dataclass(frozen=True, slots=True)
class Found:
    kind: Kind
    start: int
    end: int
    text: str
    """`text[start:end]` of the text it was found in."""


_EMAIL = re.compile(r"(?<![\w.%+-])[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}\b")
"""core.answering.memory's email with a look-behind for its leading \\b: memory's retries at every word
boundary of a long dotted or dashed run (on 30,000 characters of "A-1" it took 1 s, all of `find` 0.02 s)."""
_PHONE = re.compile(
    r"(?<![\w+$€£.,:/-])(?<!\d[ .-])"  # not the tail of a word, price, version, date or a longer number
    r"(?:\+(?:[ .()-]{0,2}\d){8,}"  # +44 (0)20 7946 0958
    r"|(?:\(\d{1,5}\) ?|\d{1,5}[ .-])\d{2,8}(?:[ .-]\d{2,8}){0,3})"  # (415) 555-0134, 020 7946 0958
    r"(?![\w:/]|[ .,-]\d)"
)
_SPACE_BEFORE_MARK = re.compile(r"\s+([?.!,;:])")
_DATE = re.compile(r"\d{4}[-./]\d\d?[-./]\d\d?|\d\d?[-./]\d\d?[-./]\d{4}")
_DIGITS = re.compile(r"(?<![$€£.,])\b(?=[A-Za-z0-9]*\d{5})[A-Za-z0-9]+\b(?![.,]\d)")
"""A token with 5+ digits in a row; not the decimals or thousands of an amount."""
_HASH_CODE = re.compile(r"(?<![\w&])#(?![0-9A-Fa-f]{6}\b)(?=(?:[A-Za-z-]*\d){3})[A-Za-z0-9]+(?:-[A-Za-z0-9]+)*\b")
"""#4821, #A-1234; not a colour (#1A2B3C), an HTML entity (&#8212;) or C#."""
_DASHED_CODE = re.compile(r"(?<![\w-])(?=[A-Z0-9-]*[A-Z])(?=(?:[A-Z-]*\d){3})[A-Z0-9]+(?:-[A-Z0-9]+)+\b(?!-)")
"""INV-2024-00731, BD-4012: capitals and 3+ digits joined by dashes (so "top-100" is not one)."""
_REFERENCE = re.compile(
    # "case" and "reference" are ordinary words ("in case 2FA is on"), so they need "number", "no", "id" or a "#"
    r"\b(?:(?:order|invoice|ticket)(?:\s*(?:number|no\.?|id))?|(?:case|reference|ref)\s*(?:number|no\.?|id|(?=#)))"
    r"(?:\s*(?:is|was|:))?\s*"
    r"(?!(?:19|20)\d\d(?![\w-]))"  # a year: "the invoice 2024"
    r"(#?(?=[A-Za-z-]*\d)[A-Za-z0-9]+(?:-[A-Za-z0-9]+)*)\b",
    re.IGNORECASE,
)
_SHAPES = (
    (Kind.EMAIL, _EMAIL),
    (Kind.PHONE, _PHONE),
    (Kind.ORDER, _DIGITS),
    (Kind.ORDER, _HASH_CODE),
    (Kind.ORDER, _DASHED_CODE),
    (Kind.ORDER, _REFERENCE),
)


def find(text: str, *, known: Iterable[str] = ()) -> list[Found]:
    """The personal data in `text`, sorted by start and not overlapping: where two findings
    overlap the longer one wins, and of two as long the earlier. `known` are values the hub holds
    about the contact; each is found wherever it occurs as a whole word, in any case."""
    kept: list[Found] = []
    starts: list[int] = []
    for found in sorted([*_by_shape(text), *_known(text, known)], key=lambda f: (f.start - f.end, f.start)):
        i = bisect(starts, found.start)
        if (i == 0 or kept[i - 1].end <= found.start) and (i == len(kept) or found.end <= kept[i].start):
            kept.insert(i, found)
            starts.insert(i, found.start)
    return kept


def redact(text: str, found: Sequence[Found]) -> str:
    """`text` with each finding replaced by its kind in brackets ("[email]"). `found` comes from
    `find(text)`, perhaps with some removed by a reviewer; a finding that overlaps another or does
    not match `text` (the text changed since) raises ValueError rather than cut the wrong words."""
    parts: list[str] = []
    end = 0
    for f in sorted(found, key=lambda each: each.start):
        if f.start < end or text[f.start : f.end] != f.text:
            raise ValueError(f"{f!r} overlaps another finding or is not in the text")
        parts += (text[end : f.start], f"[{f.kind}]")
        end = f.end
    return "".join(parts) + text[end:]


def leave_out(text: str, found: Sequence[Found]) -> str:
    """`text` without the findings, spaces tidied: for a question, where a placeholder would be
    a word of its own ("[order number]" makes any question holding an order number look alike)."""
    redact(text, found)  # the same checks
    parts: list[str] = []
    end = 0
    for f in sorted(found, key=lambda each: each.start):
        parts.append(text[end : f.start])
        end = f.end
    kept = "".join(parts) + text[end:]
    return _SPACE_BEFORE_MARK.sub(r"\1", " ".join(kept.split()))


def _by_shape(text: str) -> Iterator[Found]:
    for kind, pattern in _SHAPES:
        for m in pattern.finditer(text):
            start, end = m.span(pattern.groups)  # the value is the last group, or the whole match
            if kind is not Kind.PHONE or _is_phone(m[0]):
                yield Found(kind, start, end, text[start:end])


def _is_phone(candidate: str) -> bool:
    enough_digits = candidate.startswith("+") or sum(c.isdigit() for c in candidate) >= 9
    return enough_digits and not _DATE.search(candidate)


def _known(text: str, known: Iterable[str]) -> Iterator[Found]:
    for value in dict.fromkeys(v.strip() for v in known):
        if len(value) < 2:
            continue
        kind = _kind_of(value)
        yield from _occurrences(text, value, kind)
        words = value.split()
        if kind is Kind.NAME and len(words) > 1:
            # "Thanks Priya!" names Priya Raman; a lowercase "will" does not name Will Smith
            for word in dict.fromkeys((words[0], words[-1])):
                if sum(c.isalpha() for c in word) >= 3:
                    yield from (f for f in _occurrences(text, word, kind) if f.text[0].isupper())


def _kind_of(value: str) -> Kind:
    if "@" in value:
        return Kind.EMAIL
    alnum = [c for c in value if c.isalnum()]
    if sum(c.isdigit() for c in alnum) * 2 > len(alnum):
        return Kind.PHONE if _PHONE.fullmatch(value) and _is_phone(value) else Kind.ORDER
    return Kind.NAME


def _occurrences(text: str, value: str, kind: Kind) -> Iterator[Found]:
    words = r"\s+".join(re.escape(word) for word in value.split())  # a name may break across a line
    for m in re.finditer(rf"(?<!\w){words}(?!\w)", text, re.IGNORECASE):
        yield Found(kind, m.start(), m.end(), m[0])
