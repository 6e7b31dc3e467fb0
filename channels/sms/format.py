"""Our markdown replies as SMS bodies: plain text, sized by the segments a carrier bills.

An SMS has no formatting, so the markdown is parsed with markdown-it-py (raw HTML off: a
`<script>` in a reply is text) and written back as readable plain text: markers dropped,
list items one a line, links as "title: URL".

A carrier bills by segments, and the encoding decides their size. A text made only of
GSM-7 characters travels in septets: 160 in a message of one segment; a longer message is
split into parts of 153, the 7 others carrying the header that joins them. The extension
characters `€ [ ] { } ^ ~ | \\` and form feed travel as ESC plus a code, 2 septets that stay
together in one part. One character outside GSM-7 (an emoji, a curly apostrophe, `·`, `ç`)
switches the whole message to UCS-2: UTF-16 code units, 70 in one segment, 67 per part, a
surrogate pair never split across parts. So the budget is always measured on the final
text, never estimated from the answer alone. GSM-7 membership and septets come from the
`gsm0338` codec: measured with gsm0338 1.1.0, every character it encodes takes 1 byte
except those extension characters, which take 2 (`"€".encode("gsm03.38") == b"\\x1be"`),
and it raises `UnicodeEncodeError` for the rest, `ç` and the non-breaking space included.

Typographic punctuation with a plain GSM-7 look-alike is written as that look-alike
(`GSM7_LOOKALIKES`: curly quotes, "›", "…", dashes, special spaces, bullets), as Twilio's Smart
Encoding does: one "›" between a title and its section, a "—" in a notice or a "“" around an
echoed question would otherwise make the whole reply UCS-2, at twice the segments. So the
hub's own punctuation always travels as GSM-7. A letter outside it (`ç`, Cyrillic, an emoji)
is kept, and then the message is UCS-2 — unless `plain_letters` (`sms.plain_letters`, on by
default): then a Latin letter whose accent GSM-7 lacks is written as its plain letter
(`ã` → `a`, `ç` → `c`, `ê` → `e`; `é`, `ñ`, `ü`, `ß` are GSM-7 and stay), as SMS providers
do for Portuguese, Spanish and French, where nearly every message would otherwise cost twice
the segments. Cyrillic, Greek lower case, CJK and emoji have no plain letter and stay.

A body that does not fit `max_segments` (or Twilio's 1,600 characters) keeps as much of
the answer as fits, cut at a sentence end or a line end, then at a space, and only as a
last resort inside a word; then a line saying where to read on, then the sources.
"""

from __future__ import annotations

import re
import unicodedata
from bisect import bisect_left
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache

import gsm0338  # noqa: F401  (registers the "gsm03.38" codec)

from channels.common.plain_text import plain_text
from core.languages import N_, _
from core.messages import Citation

TWILIO_MAX_CHARS = 1600  # Twilio refuses longer bodies
MAX_SOURCES = 3
"""Titles on the sources line: one short line, not a bibliography."""
CUT_SHORT = N_("(cut short)")
"""The last resort when not even the "More:" line leaves room for the answer."""

GSM7_LOOKALIKES = str.maketrans(
    {
        **dict.fromkeys("‘’‚‛′ʼ´`", "'"),
        **dict.fromkeys("“”„‟″«»", '"'),
        "‹": "<",
        "›": ">",
        **dict.fromkeys("‐‑‒–—―−", "-"),
        **dict.fromkeys("•·∙", "-"),
        "…": "...",
        **dict.fromkeys(
            "\u00a0\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u202f\u205f\u3000", " "
        ),
        **dict.fromkeys("\u00ad\u200b\u200c\u200d\u2060\ufeff", None),
    }
)
"""Characters outside GSM-7 and what an SMS says instead: quotes, primes and guillemets,
dashes, bullets, the ellipsis, spaces of other widths; invisible joiners and soft hyphens
dropped. Punctuation only: a letter has no look-alike that keeps its meaning."""

_GSM7 = ("GSM-7", 160, 153)
_UCS2 = ("UCS-2", 70, 67)
"""Encoding, units in a message of one segment, units per part of a longer one."""

_SENTENCE_END = re.compile(r"(?:(?<!^\d)(?<!^\d\d)(?<!\n\d)(?<!\n\d\d)\.|[!?…])[\"'”’»)\]]*(?=\s|\Z)|(?=\n)|\Z")
"""Where the answer may end: after a sentence (not after "2.", an item's number), at a line
end (a list item, a heading) or at its end."""
_WORD_END = re.compile(r"(?=\s)|\Z")
_URL = re.compile(r"https?://\S+", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Segments:
    encoding: str
    """"GSM-7" or "UCS-2"."""
    units: int
    """Septets (GSM-7; an extension character counts 2) or UTF-16 code units (UCS-2; an
    emoji counts 2)."""
    count: int
    """Segments a carrier bills: GSM-7 160 units alone, 153 per part of a longer message;
    UCS-2 70 and 67; a character never split across parts; 0 for ""."""


def segments(text: str) -> Segments:
    """How `text` travels as an SMS: its encoding, its size, and the segments it is billed as."""
    try:
        sizes = [_septets(char) for char in text]
    except UnicodeEncodeError:
        return _counted([_utf16_units(char) for char in text], *_UCS2)
    return _counted(sizes, *_GSM7)


def sms_body(text: str, citations: Sequence[Citation] = (), *, max_segments: int, plain_letters: bool = False) -> str:
    """The whole SMS: plain_text(text), then the sources as ONE short line ("Source: Title" /
    "Sources: Title 1; Title 2", titles only, deduplicated, at most 3), fitted within
    max_segments and TWILIO_MAX_CHARS.

    A body too long keeps the longest beginning of the answer that fits, cut as the module
    says, followed by a line saying where to read on: "More: <URL>" (the first citation
    with a web address), else "More: ask me about <title>", else "More: reply with a
    narrower question.", and the sources line. When that leaves no room for any of the
    answer, the sources line goes, then the "More:" line becomes "(cut short)". Python
    indexes a string by code point, so no cut falls inside an emoji's surrogate pair.

    The body is empty when there is nothing to say (the markdown holds no text, no
    citations): what to send then is the caller's decision. With `plain_letters`, every part
    is written with `gsm7_letters` before it is measured.
    """
    if max_segments < 1:
        raise ValueError(f"max_segments must be at least 1, not {max_segments}")
    letters = gsm7_letters if plain_letters else str
    answer = letters(plain_text(text).translate(GSM7_LOOKALIKES))
    sources = letters(_sources_line(citations))
    full = "\n\n".join(part for part in (answer, sources) if part)
    if _fits(full, max_segments):
        return full
    for tail in map(letters, _tails(_more_line(citations), sources)):
        if kept := _fitted_prefix(answer, "\n\n" + tail, max_segments):
            return kept + "\n\n" + tail
    return _fitted_prefix(full, "", max_segments)  # no answer, and the sources alone too long


def gsm7_letters(text: str) -> str:
    """`text` with each Latin letter outside GSM-7 written as its letter without the accent
    ("Não é possível" → "Nao é possivel"); anything else as it is (see the module docstring)."""
    return "".join(map(_gsm7_letter, text))


# -- segments --------------------------------------------------------------------------------


@cache
def _gsm7_letter(char: str) -> str:
    if char.isascii() or not char.isalpha():
        return char
    try:
        _septets(char)
    except UnicodeEncodeError:
        plain = "".join(part for part in unicodedata.normalize("NFD", char) if not unicodedata.combining(part))
        return plain if plain.isascii() and plain.isalpha() else char
    return char


@cache
def _septets(char: str) -> int:
    """Septets for one character, or UnicodeEncodeError when it is not GSM-7. A failed call is
    not cached, so the cache holds at most the ~150 characters of GSM-7."""
    return len(char.encode("gsm03.38"))


def _utf16_units(text: str) -> int:
    return len(text.encode("utf-16-le", errors="surrogatepass")) // 2


def _counted(sizes: Sequence[int], encoding: str, single: int, part: int) -> Segments:
    units = sum(sizes)
    if units <= single:
        return Segments(encoding, units, 1 if units else 0)
    return Segments(encoding, units, _parts(sizes, part))


def _parts(sizes: Sequence[int], part: int) -> int:
    """Parts of `part` units filled in order, a character that does not fit whole starting
    the next: an escape pair or a surrogate pair is never split."""
    parts, room = 1, part
    for size in sizes:
        if size > room:
            parts, room = parts + 1, part
        room -= size
    return parts


def _fits(body: str, max_segments: int) -> bool:
    """Within the segments allowed and within Twilio's limit, counted in UTF-16 code units,
    the stricter reading of "characters" for a body with emoji."""
    return _utf16_units(body) <= TWILIO_MAX_CHARS and segments(body).count <= max_segments


# -- fitting ---------------------------------------------------------------------------------


def _sources_line(citations: Sequence[Citation]) -> str:
    titles = _titles(citations)[:MAX_SOURCES]
    if not titles:
        return ""
    joined = "; ".join(titles)
    line = _("Source: {title}", title=joined) if len(titles) == 1 else _("Sources: {titles}", titles=joined)
    return line.translate(GSM7_LOOKALIKES)


def _titles(citations: Sequence[Citation]) -> list[str]:
    """Distinct titles in order, each on one line; a citation without a title is left out."""
    return [
        title
        for title in dict.fromkeys(" ".join(c.title.translate(GSM7_LOOKALIKES).split()) for c in citations)
        if title
    ]


def _more_line(citations: Sequence[Citation]) -> str:
    """Where to read on, in the language spoken now (its typography made GSM-7 as the answer's)."""
    url = next((c.link for c in citations if c.link and _URL.fullmatch(c.link)), None)
    titles = _titles(citations)
    if url:
        line = _("More: {url}", url=url)
    elif titles:
        line = _("More: ask me about {title}", title=titles[0])
    else:
        line = _("More: reply with a narrower question.")
    return line.translate(GSM7_LOOKALIKES)


def _tails(more: str, sources: str) -> list[str]:
    """What may follow a cut answer, most informative first."""
    cut_short = _(CUT_SHORT).translate(GSM7_LOOKALIKES)
    return [f"{more}\n{sources}", more, cut_short] if sources else [more, cut_short]


def _fitted_prefix(text: str, suffix: str, max_segments: int) -> str:
    """The longest beginning of `text` that fits followed by `suffix`: ending at a sentence or
    line end (not one ending in a colon, which introduces what the cut drops) when that keeps
    at least half of what a cut at a space would (so a long quote with no sentence end is cut
    inside, not dropped after the line that introduces it), else at a space, else anywhere; ""
    if none fits."""
    # never at a line that introduces what follows ("…says:"), left with nothing after it
    closed = [end for end in _ends(_SENTENCE_END, text) if not text[:end].rstrip().endswith(":")]
    sentence, word, anywhere = (
        _longest(text, ends, suffix, max_segments) for ends in (closed, _ends(_WORD_END, text), range(1, len(text) + 1))
    )
    if sentence and 2 * len(sentence) >= len(word):
        return sentence
    return word or anywhere


def _longest(text: str, ends: Sequence[int], suffix: str, max_segments: int) -> str:
    """The longest `text[:end]` for an end in `ends` that fits before `suffix`.

    A binary search is right because the segments only grow with the prefix: every character
    adds units, and the encoding only ever changes from GSM-7 to UCS-2."""
    index = bisect_left(ends, True, key=lambda end: not _fits(text[:end].rstrip() + suffix, max_segments))
    return text[: ends[index - 1]].rstrip() if index else ""


def _ends(boundary: re.Pattern[str], text: str) -> list[int]:
    return sorted({match.end() for match in boundary.finditer(text)})
