"""How much of a query a passage or its heading holds: the share of the query's content words
(stemmed, weighted by rarity in the index) that the text contains.

A cosine says "about the same thing"; coverage says "mentions what was asked". "is our data
encrypted" has a cosine of 0.50 to the Encryption section of the security article (below the
bar for answering), yet the section holds both of its rare words.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from functools import lru_cache

import snowballstemmer

_WORD = re.compile(r"[a-z0-9]+")
"""Plain runs of letters and digits: "sign-in" in a heading meets "sign in" in a question."""
STOPWORDS = frozenset(
    "a an and are as at be but by can could do does for from have how i if in is it its me my of on or our "
    "so that the their then there these this to was we what when where which who why will with you your "
    "yours am any did get got i'm im please us want would should cant can't dont don't doesnt doesn't "
    "anymore still just really also".split()
)
_STEMMER = snowballstemmer.stemmer("english")


@lru_cache(maxsize=65536)
def stem(word: str) -> str:
    """Snowball's English stem: 'encrypted', 'encryption' and 'encrypts' all give 'encrypt'."""
    return str(_STEMMER.stemWord(word))


@lru_cache(maxsize=8192)
def content_words(text: str) -> frozenset[str]:
    """Lower-cased, stemmed words without stop words. Cached: the same chunks (and their
    sentences) come back in the results of query after query."""
    return frozenset(stem(w) for w in _WORD.findall(text.lower()) if w not in STOPWORDS)


def query_weights(query: str, document_frequency: Mapping[str, int], chunk_count: int) -> dict[str, float]:
    """The query's content words and their rarity in the index (a word no chunk has weighs most)."""
    weights: dict[str, float] = {}
    for word in _WORD.findall(query.lower()):
        if word in STOPWORDS:
            continue
        frequency = document_frequency.get(word, 0)
        weights[stem(word)] = max(weights.get(stem(word), 0.0), math.log(1 + (chunk_count + 1) / (frequency + 1)))
    return weights


def coverage(weights: Mapping[str, float], text: str) -> float:
    """The weighted share of the query's words that `text` holds (0 when the query has none)."""
    total = sum(weights.values())
    if not total:
        return 0.0
    held = content_words(text)
    return sum(weight for word, weight in weights.items() if word in held) / total
