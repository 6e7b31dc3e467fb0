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
from types import MappingProxyType

import snowballstemmer

_TOKEN = re.compile(r"[a-z0-9]+(?:[-_.'’][a-z0-9]+)*")
_JOINER = re.compile(r"[-_.]")
_NUMBER_AND_WORD = re.compile(r"(\d+(?:\.\d+)?)-([a-z]{2,}(?:-[a-z]{2,})*)")
"""A number joined to the word it counts ("1-hour", "3-bed", "24-hour"): a measure, not a code
("2-b", "flat 12-c" are codes, a letter each)."""
_VOWELS = frozenset("aeiouy")
_ENDING_IN_S = frozenset(
    {
        "gps",
        "sms",
        "mms",
        "nhs",
        "dns",
        "cms",
        "rss",
        "aws",
        "tls",
        "cvs",
        "bbs",
        "dbs",
        "kbps",
        "mbps",
        "gbps",
        "https",
    }
)
"""Initialisms whose last letter is an S of their own, not a plural's."""


def words(text: str) -> list[str]:
    """The lower-cased words of `text`: a code with a digit stays whole ("bd-4012", "4.2.1": a
    neighbouring code must not share "bd"), a number joined to the word it counts is both ("a
    1-hour lesson" holds "hour", as "2 hours" does), other joined words are parted ("sign-in"
    meets "sign in"), a contraction keeps its first part ("can't" is "can"), single letters go."""
    out: list[str] = []
    for token in _TOKEN.findall(text.lower()):
        if measure := _NUMBER_AND_WORD.fullmatch(token):
            out.append(measure.group(1))
            out.extend(part for part in measure.group(2).split("-") if len(part) > 1)
            continue
        if any(ch.isdigit() for ch in token):
            out.append(token)
            continue
        token = re.split(r"['’]", token, maxsplit=1)[0]
        out.extend(part for part in _JOINER.split(token) if len(part) > 1)
    return out


STOPWORDS = frozenset(
    [
        "a",
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "but",
        "by",
        "can",
        "could",
        "do",
        "does",
        "for",
        "from",
        "have",
        "how",
        "i",
        "if",
        "in",
        "is",
        "it",
        "its",
        "me",
        "my",
        "of",
        "on",
        "or",
        "our",
        "so",
        "that",
        "the",
        "their",
        "then",
        "there",
        "these",
        "this",
        "to",
        "was",
        "we",
        "what",
        "when",
        "where",
        "which",
        "who",
        "why",
        "will",
        "with",
        "you",
        "your",
        "yours",
        "am",
        "any",
        "did",
        "get",
        "got",
        "im",
        "please",
        "us",
        "want",
        "would",
        "should",
        "cant",
        "dont",
        "doesnt",
        "isnt",
        "arent",
        "wont",
        "anymore",
        "still",
        "just",
        "really",
        "also",
    ]
)
_STEMMER = snowballstemmer.stemmer("english")
_IRREGULAR_PLURALS: Mapping[str, str] = MappingProxyType(
    {
        "teeth": "tooth",
        "women": "woman",
        "mice": "mous",
        "gees": "goos",
        "knive": "knife",
        "wive": "wife",
        "shelv": "shelf",
        "thiev": "thief",
        "wolv": "wolf",
        "loav": "loaf",
        "calv": "calf",
        "scarv": "scarf",
    }
)
"""Snowball's stems of the English plurals it does not fold into their singular, and their
singular's stem ("teeth" stays "teeth" where "tooth" is "tooth"). Keyed on Snowball's output, so
"womens" and "women's" fold as "women" does. Not "lives" or "leaves": as verbs they are "live"
and "leave" ("the ferry leaves at 9"), which Snowball already meets; not "men" ("man" is also
"manned" and the Isle of Man) nor "feet" ("7 feet" is a height, "on foot" no foot)."""


@lru_cache(maxsize=65536)
def stem(word: str) -> str:
    """Snowball's English stem: 'encrypted', 'encryption' and 'encrypts' all give 'encrypt'. A
    word of no vowel ending in s is an initialism's plural ("DVDs", "dvds", "TVs"), which
    Snowball keeps whole, unless it is one of the initialisms that end in S (`_ENDING_IN_S`:
    "GPS" is not the plural of "GP"). An irregular plural is its singular's stem
    (`_IRREGULAR_PLURALS`: "teeth" is "tooth"), and "children" "child", as in "grandchildren"
    and "childrens"."""
    if len(word) > 2 and word.endswith("s") and word[-2] != "s" and not _VOWELS.intersection(word):
        return word if word in _ENDING_IN_S else word[:-1]
    stemmed = str(_STEMMER.stemWord(word))
    if stemmed.endswith("children"):
        return stemmed.removesuffix("ren")
    return _IRREGULAR_PLURALS.get(stemmed, stemmed)


@lru_cache(maxsize=8192)
def content_words(text: str) -> frozenset[str]:
    """Lower-cased, stemmed words without stop words. Cached: the same chunks (and their
    sentences) come back in the results of query after query."""
    return frozenset(stem(w) for w in words(text) if w not in STOPWORDS)


def query_weights(query: str, document_frequency: Mapping[str, int], chunk_count: int) -> dict[str, float]:
    """The query's content words and their rarity in the index (a word no chunk has weighs most)."""
    weights: dict[str, float] = {}
    for word in words(query):
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
