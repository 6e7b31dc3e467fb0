"""Look-alike spellings of one customer's identifiers: what a person types or pastes that reads as
the customer's phone, email, purchase number or IBAN, but whose characters are others —
no-break, thin and zero-width spaces, full-width and mathematical digits and letters, digits of
other scripts, dots, dashes and brackets between digits, mixed case, and the letters of other
scripts that Unicode lists as confusable with Latin ones (UTS #39's confusables, e.g. Cyrillic
"о" for "o", "З" for "3").

Generated from a seed, so a failure names a spelling that fails again on the next run, and
independent of the detector: `leaks` says whether any letter or digit of a spelling is left.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass

PHONE = "+16505551234"
"""The WhatsApp customer of channels.whatsapp.stand_in."""
EMAIL = "priya.raman@example.com"
PURCHASE = "5821"
IBAN = "DE89370400440532013000"

LAYOUTS: dict[str, tuple[str, ...]] = {
    PHONE: (
        "+1 650 555 1234",
        "+1 (650) 555-1234",
        "+1-650-555-1234",
        "+1.650.555.1234",
        "(650) 555-1234",
        "650-555-1234",
        "650.555.1234",
        "650 555 1234",
        "1-650-555-1234",
        "001 650 555 1234",
        "+16505551234",
        "6505551234",
        "+1 650 555 12 34",
        "[650] 555 1234",
        "650/555-1234",
    ),
    EMAIL: ("priya.raman@example.com", "Priya.Raman@Example.com", "PRIYA.RAMAN@EXAMPLE.COM"),
    PURCHASE: ("5821", "#5821", "58-21", "58 21", "5 8 2 1", "[5821]", "(5821)", "5.8.2.1"),
    IBAN: (
        "DE89 3704 0044 0532 0130 00",
        "DE89370400440532013000",
        "de89 3704 0044 0532 0130 00",
        "DE89-3704-0044-0532-0130-00",
        "DE 89 3704 0044 0532 0130 00",
    ),
}
SPACES = (" ", "\u00a0", "\u2009", "\u202f", "\u2007", "\u3000", "\u200b", "")
"""A space, no-break, thin, narrow no-break, figure, ideographic, zero-width, none."""
INVISIBLE = ("\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u00ad")
"""Zero-width space, non-joiner, joiner, word joiner, byte-order mark, soft hyphen."""
DASHES = ("-", "\u2010", "\u2011", "\u2013", "\u2212", "\ufe63", "\uff0d")
DOTS = (".", "\uff0e", "\ufe52", "\u2024")
ATS = ("@", "\uff20", "\ufe6b")
DIGIT_BLOCKS = (0x30, 0xFF10, 0x1D7CE, 0x1D7D8, 0x1D7E2, 0x1D7F6, 0x0660, 0x06F0, 0x0966, 0x09E6)
"""Where 0 is: ASCII, full-width, mathematical bold, double-struck, sans-serif, monospace,
Arabic-Indic, Persian, Devanagari, Bengali."""
DIGIT_CONFUSABLES = {"0": "OoОоΟο", "1": "lIІΙ", "3": "ЗӠ", "5": "Ƽ", "6": "б"}
LETTER_CONFUSABLES = {
    "a": "аα",
    "c": "с",
    "d": "ԁ",
    "e": "е",
    "i": "і",
    "j": "ј",
    "o": "оο",
    "p": "рρ",
    "x": "х",
    "y": "у",
    "A": "АΑ",
    "B": "ВΒ",
    "C": "С",
    "D": "Ꭰ",
    "E": "ЕΕ",
    "M": "МΜ",
    "O": "ОΟ",
    "P": "РΡ",
    "R": "Ʀ",
    "X": "ХΧ",
}


@dataclass(frozen=True, slots=True)
class Spelling:
    identifier: str
    text: str


def spellings(count: int, *, seed: int) -> list[Spelling]:
    """`count` different spellings, the identifiers in turn."""
    rng = random.Random(seed)
    made: dict[str, Spelling] = {}
    identifiers = list(LAYOUTS)
    while len(made) < count:
        identifier = identifiers[len(made) % len(identifiers)]
        text = _spell(rng, rng.choice(LAYOUTS[identifier]))
        made.setdefault(text, Spelling(identifier, text))
    return list(made.values())


def _spell(rng: random.Random, layout: str) -> str:
    out: list[str] = []
    for char in layout:
        if out and rng.random() < 0.15:
            out.append(rng.choice(INVISIBLE))
        out.append(_variant(rng, char))
    return "".join(out)


def _variant(rng: random.Random, char: str) -> str:
    if char == " ":
        return rng.choice(SPACES)
    if char == "-":
        return rng.choice(DASHES)
    if char == ".":
        return rng.choice(DOTS)
    if char == "@":
        return rng.choice(ATS)
    roll = rng.random()
    if char.isdigit():
        if roll < 0.15 and char in DIGIT_CONFUSABLES:
            return rng.choice(DIGIT_CONFUSABLES[char])
        return chr(rng.choice(DIGIT_BLOCKS) + int(char)) if roll < 0.6 else char
    if char.isalpha():
        cased = char.swapcase() if rng.random() < 0.3 else char
        if roll < 0.25 and cased in LETTER_CONFUSABLES:
            return rng.choice(LETTER_CONFUSABLES[cased])
        if roll < 0.45:
            return chr(ord(cased) - ord("A") + (0xFF21 if cased.isupper() else 0xFF41 - 0x20))
        return cased
    return char


_PLACEHOLDER = re.compile(r"\[(?:email|phone|order number|name|bank account|id number)\]")


def leaks(redacted_slot: str) -> bool:
    """Whether what stands where a spelling stood, placeholders taken out, still holds a letter
    or digit of any script (punctuation and spaces may stay)."""
    return any(char.isalnum() for char in _PLACEHOLDER.sub("", redacted_slot))
