"""Typo-tolerant queries: a misspelt word is replaced by the help centre's word it was meant to be.

all-MiniLM-L6-v2 does not forgive typos: "forgot my pasword" has a cosine of 0.24 to the
password-reset article and "forgot my password" 0.6, because WordPiece cuts "pasword" into
pieces that mean nothing. So before a query is searched, each word that is neither in the
index's vocabulary nor an English word (pyspellchecker's dictionary of 160,000 words: a real
word the help centre does not use, like "stickers", is left alone — corrected to "tickets" it
would make an unanswerable question look answerable) is matched against the index's
vocabulary with rapidfuzz: the closest word within one edit (two for words of eight letters or
more; a swap of two letters counts as one) replaces it, the most frequent on a tie. Words with
digits or capitals inside (BD-4012, PayPal) are never touched.

A word the index lacks that is two of its words run together is parted first, English or not:
"timezone" is "time zone" in a help centre that writes it so (the bi-encoder and the word
counts then see the help centre's words).
"""

from __future__ import annotations

import heapq
import re
from collections.abc import Mapping
from functools import cache

from rapidfuzz import process
from rapidfuzz.distance import OSA

MAX_WORDS = 40
MIN_LENGTH = 4
"""Shorter words have too many neighbours one edit away to be corrected safely."""
MIN_PART = 3
"""The shortest part a run-together word is parted into: "at" and "on" would part too much."""
_WORD = re.compile(r"(?<!\w)[A-Za-z]+(?:'[a-z]+)?(?!\w)")
"""A whole word of ASCII letters: not the letters of "pasword2" or of "exportación" before its "ó"."""


def _edits(word: str) -> int:
    return 2 if len(word) >= 8 else 1


class Speller:
    """Corrects queries against one index's vocabulary (the words of its chunks)."""

    def __init__(self, known_words: frozenset[str]) -> None:
        """`known_words`: lower-case words that are spelt right though the index may lack them."""
        self._known = known_words
        self._vocabulary: Mapping[str, int] | None = None
        self._choices: list[str] = []

    def correct(self, query: str, vocabulary: Mapping[str, int]) -> str:
        """`query` with each misspelt word replaced (the rest of the text unchanged). A query of
        more than MAX_WORDS words is left as it is: typos matter in a short question, and a
        long text (a pasted log, another language) would cost a fuzzy lookup per word on the
        event loop."""
        if len(query.split()) > MAX_WORDS:
            return query
        if vocabulary is not self._vocabulary:
            self._vocabulary = vocabulary
            self._choices = [w for w in vocabulary if len(w) >= MIN_LENGTH - 1 and w.isalpha()]
        return _WORD.sub(lambda m: self._word(m.group(0), vocabulary), query)

    def _word(self, word: str, vocabulary: Mapping[str, int]) -> str:
        lower = word.lower()
        if len(word) < MIN_LENGTH or lower in vocabulary or word[1:] != lower[1:]:
            return word
        if parted := _parted(lower, vocabulary):
            return parted.capitalize() if word[0].isupper() else parted
        if lower in self._known:
            return word
        found = process.extract(lower, self._choices, scorer=OSA.distance, score_cutoff=_edits(lower), limit=20)
        if not found:
            return word
        nearest = min(distance for _, distance, _ in found)
        best = max((choice for choice, distance, _ in found if distance == nearest), key=lambda w: vocabulary[w])
        return best.capitalize() if word[0].isupper() else best


def _parted(word: str, vocabulary: Mapping[str, int]) -> str | None:
    """`word` as two words of the vocabulary, each of MIN_PART letters or more (the most frequent
    pair when there are several ways); None when there is no such pair."""
    pairs = [
        (word[:cut], word[cut:])
        for cut in range(MIN_PART, len(word) - MIN_PART + 1)
        if word[:cut] in vocabulary and word[cut:] in vocabulary
    ]
    if not pairs:
        return None
    first, second = max(pairs, key=lambda pair: min(vocabulary[pair[0]], vocabulary[pair[1]]))
    return f"{first} {second}"


COMMON_WORDS = 300
"""How many of English's most frequent words `common_english_words` holds: "time", "take",
"need", "work", "day" are among them, "phone", "order" and "mobile" are not."""


@cache
def _english_frequency() -> Mapping[str, int]:
    """pyspellchecker's English dictionary with each word's frequency (a third of a second to
    load): once per process, for every knowledge base it opens and every reply's caveat."""
    from spellchecker import SpellChecker

    return SpellChecker(language="en").word_frequency.dictionary


@cache
def common_english_words() -> frozenset[str]:
    """English's COMMON_WORDS most frequent words: words that carry little of a question on
    their own."""
    frequency = _english_frequency()
    return frozenset(heapq.nlargest(COMMON_WORDS, frequency, key=frequency.__getitem__))


@cache
def english_words() -> frozenset[str]:
    """Every word of the English dictionary (`_english_frequency`)."""
    return frozenset(_english_frequency())
