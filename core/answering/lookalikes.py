"""Text as a reader sees it, for finding personal data in what a person typed or pasted: each
character folded to the one it reads as, with where it stood in the original, so what is found
in the folded text is cut from the original.

Folding, per character: format characters (Unicode category Cf: zero-width spaces and joiners,
soft hyphens, byte-order marks, direction marks) are dropped; NFKC turns compatibility forms into
plain ones (no-break, thin and ideographic spaces into a space, full-width and mathematical
letters and digits into ASCII ones, "＠" into "@"); a digit of any script becomes its ASCII digit;
a letter or number of another script that Unicode lists as confusable with an ASCII letter or
digit (UTS #39's confusables, through `confusable_homoglyphs`) becomes that character: Cyrillic
"о" an "o", Greek "Ρ" a "P", Cyrillic "З" a "3".

`key` goes one step further for comparing identifiers: lower case, and the ASCII look-alikes
"0"/"o" and "1"/"l"/"i" made one, so "O77OO 9OO l23" is "07700 900 123".
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import cache, lru_cache

_KEY = str.maketrans({"o": "0", "l": "1", "i": "1"})
_NOT_ASCII = re.compile(r"[^\x00-\x7f]+")


@dataclass(frozen=True, slots=True)
class Folded:
    """`text` folded; `starts[i]` and `ends[i]` are the span in the original of the character
    `text[i]` came from (a character NFKC expands, "½" into "1⁄2", gives each part its span).
    Empty `starts` and `ends`: each character folded into one, in its place."""

    text: str
    starts: tuple[int, ...] = ()
    ends: tuple[int, ...] = ()

    def span(self, start: int, end: int) -> tuple[int, int]:
        """The original span of `text[start:end]` (a non-empty slice)."""
        if not self.starts:
            return start, end
        return self.starts[start], self.ends[end - 1]


def fold(text: str) -> Folded:
    if text.isascii():  # nothing to fold: ASCII has no format characters, look-alikes or compatibility forms
        return Folded(text)
    pieces: list[str] = []
    changed: list[tuple[int, str]] = []  # the characters whose folding is not one character
    end = 0
    for m in _NOT_ASCII.finditer(text):
        pieces.append(text[end : m.start()])
        for i, char in enumerate(m[0], start=m.start()):
            folded = _fold_char(char)
            pieces.append(folded)
            if len(folded) != 1:
                changed.append((i, folded))
        end = m.end()
    pieces.append(text[end:])
    if not changed:
        return Folded("".join(pieces))
    starts: list[int] = []
    ends: list[int] = []
    end = 0
    for i, folded in changed:
        starts += range(end, i)
        ends += range(end + 1, i + 1)
        starts += [i] * len(folded)
        ends += [i + 1] * len(folded)
        end = i + 1
    starts += range(end, len(text))
    ends += range(end + 1, len(text) + 1)
    return Folded("".join(pieces), tuple(starts), tuple(ends))


def key(folded: str) -> str:
    """Folded text for comparing identifiers, character for character (the same length)."""
    lowered = folded.lower()
    if len(lowered) != len(folded):  # a character lowered into two ("İ"): each such one kept as it is
        lowered = "".join(lower if len(lower := char.lower()) == 1 else char for char in folded)
    return lowered.translate(_KEY)


@lru_cache(maxsize=4096)
def _fold_char(char: str) -> str:
    return "".join(_plain(part) for part in unicodedata.normalize("NFKC", char) if unicodedata.category(part) != "Cf")


def _plain(char: str) -> str:
    if char.isascii():
        return char
    if (digit := unicodedata.decimal(char, None)) is not None:
        return str(digit)
    return _confusable_ascii().get(char, char)


@cache
def _confusable_ascii() -> dict[str, str]:
    """Each letter or number of Unicode's confusables that looks like an ASCII letter or digit,
    and that character; loaded at the first text that is not plain ASCII (0.1 s)."""
    from confusable_homoglyphs.confusables import confusables_data

    found: dict[str, str] = {}
    for char, homoglyphs in confusables_data.items():
        if len(char) != 1 or char.isascii() or unicodedata.category(char)[0] not in "LN":
            continue
        looks_like = [glyph["c"] for glyph in homoglyphs if len(glyph["c"]) == 1 and glyph["c"].isascii()]
        if alnum := [glyph for glyph in looks_like if glyph.isalnum()]:
            found[char] = alnum[0]
    return found
