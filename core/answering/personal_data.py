"""Personal data in a text a support person wrote or a customer asked, found so that a help-centre
answer learned from a real conversation can be flagged for redaction before every customer sees it.

Found by shape (emails, phone numbers, order and purchase numbers, IBANs, national id numbers) and
by what the hub already knows about the contact (`known`: names, emails, phones, order numbers).
Both look at the text as a reader sees it (`core.answering.lookalikes`): a phone typed with
no-break spaces, an email with a zero-width space, full-width letters or a Cyrillic "о" in it is
found, and cut from the text as it was typed. A known email, phone or number is found by its
letters and digits whatever stands between them ("58-21", "5 8 2 1", "PRIYA . RAMAN @ …"), a phone
also in its other forms ("+44 7700 900123", "07700 900123", "0044 (0)7700…").

A miss publishes someone's data; a false flag costs a reviewer an edit, so the shapes lean towards
flagging while keeping ordinary help-article text ("5-10 business days", "600 requests per
minute", "in 2024") unflagged.
"""

from __future__ import annotations

import re
from bisect import bisect
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from enum import StrEnum

from core.answering.lookalikes import fold, key


class Kind(StrEnum):
    EMAIL = "email"
    PHONE = "phone"
    ORDER = "order number"
    NAME = "name"
    BANK_ACCOUNT = "bank account"
    ID_NUMBER = "id number"


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
    # "case", "account" or "policy" are ordinary words ("in case 2FA is on"), so they need "number", "no", "id" or a "#"
    r"\b(?:(?:order|purchase|invoice|ticket|booking|reservation|transaction|receipt|tracking|shipment|parcel)"
    r"(?:\s*(?:number|no\.?|id|ref(?:erence)?))?"
    r"|(?:case|reference|ref|account|customer|member(?:ship)?|contract|policy|claim)\s*(?:number|no\.?|id|(?=#)))"
    r"(?:\s*(?:is|was|:))?\s*"
    r"(?!(?:19|20)\d\d(?![\w-]))"  # a year: "the invoice 2024"
    r"(#?(?=[A-Za-z-]*\d)[A-Za-z0-9]+(?:-[A-Za-z0-9]+)*)\b",
    re.IGNORECASE,
)
_IBAN = re.compile(r"(?<![\w-])[A-Z]{2}\d\d(?:[ .-]?[A-Z0-9]{4}){2,7}(?:[ .-]?[A-Z0-9]{1,3})?(?![\w-])")
"""DE89 3704 0044 0532 0130 00, GB29NWBK60161331926819: a country, two check digits and groups of
four, in capitals (with 10 digits or more, so no words in fours: "AB12 THIS THAT")."""
_ID_SHAPE = re.compile(
    r"(?<![\w-])(?:\d{3}-\d\d-\d{4}"  # a US social security number
    r"|[A-Z]{2} ?\d\d ?\d\d ?\d\d ?[A-D]"  # a UK national insurance number
    r"|(?i:[A-Z]{6}\d\d[A-Z]\d\d[A-Z]\d{3}[A-Z]))"  # an Italian codice fiscale
    r"(?![\w-])"
)
_ID_NUMBER = re.compile(
    r"\b(?:national\s+(?:id(?:entity)?|insurance)|social\s+security|ssn|nino|ni\s+(?:number|no)|passport"
    r"|tax\s+(?:id|number|code)|driver'?s\s+licen[cs]e|identity\s+(?:card|number)|id\s+(?:card|number|no)"
    r"|personal\s+id|bsn|nir|dni|nie|nif|pesel|personnummer|codice\s+fiscale|steuer-?id|aadhaar)"
    r"(?:\s*(?:number|no\.?|num|#))?(?:\s*(?:is|was|:))?\s*"
    # the number: digits in groups, perhaps with capitals before, in or after them ("QQ 12 34 56 C")
    # (each group is read from its first digit on, so a long run of digits is read in one way)
    r"((?:(?-i:[A-Z]{1,3})[ .-]?)?\d[\dA-Z]*(?:[ .-][A-Z]*\d[\dA-Z]*)*(?:[ .-](?-i:[A-Z]{1,2}))?)(?![\w-])",
    re.IGNORECASE,
)
"""A number named as a national id, passport, tax or licence number, in any country's layout."""


def _is_phone(candidate: str) -> bool:
    enough_digits = candidate.startswith("+") or sum(c.isdigit() for c in candidate) >= 9
    return enough_digits and not _DATE.search(candidate)


def _digits_at_least(count: int) -> Callable[[str], bool]:
    return lambda candidate: sum(c.isdigit() for c in candidate) >= count


_SHAPES: tuple[tuple[Kind, re.Pattern[str], Callable[[str], bool] | None], ...] = (
    (Kind.EMAIL, _EMAIL, None),
    (Kind.PHONE, _PHONE, _is_phone),
    (Kind.BANK_ACCOUNT, _IBAN, _digits_at_least(10)),  # before order numbers: an IBAN without spaces is one too
    (Kind.ID_NUMBER, _ID_SHAPE, None),
    (Kind.ID_NUMBER, _ID_NUMBER, _digits_at_least(5)),
    (Kind.ORDER, _DIGITS, None),
    (Kind.ORDER, _HASH_CODE, None),
    (Kind.ORDER, _DASHED_CODE, None),
    (Kind.ORDER, _REFERENCE, None),
)
"""Each kind's pattern, and what its match (the last group, or the whole) must pass."""
_SEPARATOR = r"(?:(?!\n)[\W_]){0,3}"
"""What may stand between the letters and digits of a known identifier: up to three spaces or
marks of any kind, on one line ("58-21", "(650) 555", " @ ")."""
_WHOLE = r"(?<![^\W_])", r"(?![^\W_])"
"""An identifier is found whole: no letter or digit right before or after it."""
_NATIONAL_NUMBER_DIGITS = 7
"""The fewest digits a phone number has after its country code, as it is looked for in national form."""


def find(text: str, *, known: Iterable[str] = ()) -> list[Found]:
    """The personal data in `text`, sorted by start and not overlapping: where two findings
    overlap the longer one wins, and of two as long the earlier. `known` are values the hub holds
    about the contact; each is found wherever it occurs whole, in any case and any look-alike
    characters (a name by its words, anything else by its letters and digits)."""
    folded = fold(text)
    found: list[Found] = []
    for kind, start, end in [*_by_shape(folded.text), *_known(folded.text, known)]:
        first, last = folded.span(start, end)
        found.append(Found(kind, first, last, text[first:last]))
    kept: list[Found] = []
    starts: list[int] = []
    for each in sorted(found, key=lambda f: (f.start - f.end, f.start)):
        i = bisect(starts, each.start)
        if (i == 0 or kept[i - 1].end <= each.start) and (i == len(kept) or each.end <= kept[i].start):
            kept.insert(i, each)
            starts.insert(i, each.start)
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


_Span = tuple[Kind, int, int]


def _by_shape(text: str) -> Iterator[_Span]:
    for kind, pattern, check in _SHAPES:
        for m in pattern.finditer(text):
            start, end = m.span(pattern.groups)  # the value is the last group, or the whole match
            if check is None or check(m[pattern.groups]):
                yield kind, start, end


def _known(folded: str, known: Iterable[str]) -> Iterator[_Span]:
    """Where the known values are in the folded text."""
    keyed = key(folded)
    for value in dict.fromkeys(v.strip() for v in known):
        if len(value) < 2:
            continue
        plain = fold(value).text
        kind = _kind_of(plain)
        if kind is not Kind.NAME:
            pattern = _phone(plain) if kind is Kind.PHONE else _spelled(key(plain))
            if pattern:
                yield from ((kind, *m.span()) for m in re.finditer(pattern, keyed))
            continue
        yield from _occurrences(keyed, key(plain), kind)
        words = plain.split()
        if len(words) > 1:
            # "Thanks Priya!" names Priya Raman; a lowercase "will" does not name Will Smith
            for word in dict.fromkeys((words[0], words[-1])):
                if sum(c.isalpha() for c in word) >= 3:
                    yield from (f for f in _occurrences(keyed, key(word), kind) if folded[f[1]].isupper())


def _kind_of(value: str) -> Kind:
    if "@" in value:
        return Kind.EMAIL
    digits = sum(c.isdigit() for c in value)
    if re.fullmatch(r"\+?[\d\s().-]+", value) and 9 <= digits <= 15 and re.match(r"\+|0(?!0)", value):
        return Kind.PHONE  # +44 20 7946 0958, 07700900123 (memory keeps a phone without its spaces)
    whole = [kind for kind, start, end in _by_shape(value) if (start, end) == (0, len(value))]
    if whole:
        return whole[0]
    alnum = [c for c in value if c.isalnum()]
    return Kind.ORDER if digits * 2 > len(alnum) else Kind.NAME


def _spelled(keyed_value: str) -> str:
    """A pattern for a value's letters and digits in order, anything of `_SEPARATOR` between them."""
    chars = [re.escape(c) for c in keyed_value if c.isalnum()]
    return f"{_WHOLE[0]}{_SEPARATOR.join(chars)}{_WHOLE[1]}" if len(chars) >= 2 else ""


def _phone(value: str) -> str:
    """A pattern for a phone number in its international and national forms: with "+", "00" or
    "011" and the country code or not, with a trunk "0" (or "(0)") or not. A number known in
    national form ("07700900123") may follow any country code; one known internationally is
    looked for after each way of splitting off a code of one to three digits."""
    digits = "".join(c for c in value if c.isdigit())
    sep = _SEPARATOR
    if value.startswith("0") and not value.startswith("00"):
        forms = [("[0-9]{1,3}", digits[1:])]
    else:
        international = digits.removeprefix("00") if value.startswith("00") else digits
        forms = [
            (sep.join(international[:split]), international[split:])
            for split in (1, 2, 3)
            if len(international) - split >= _NATIONAL_NUMBER_DIGITS
        ]
    if not forms:
        return _spelled(digits)
    alternatives = "|".join(
        rf"(?:(?:(?:\+|00|011){sep})?{country}{sep}(?:\(0\){sep})?|\(?0\)?{sep})?[(\[]?{sep.join(number)}"
        for country, number in forms
    )
    return rf"{_WHOLE[0]}(?=[+(\[0-9])(?:{alternatives}){_WHOLE[1]}"  # the look-ahead: quick to pass by words


def _occurrences(keyed: str, keyed_value: str, kind: Kind) -> Iterator[_Span]:
    words = r"\s+".join(re.escape(word) for word in keyed_value.split())  # a name may break across a line
    for m in re.finditer(rf"(?<!\w){words}(?!\w)", keyed):
        yield kind, m.start(), m.end()
