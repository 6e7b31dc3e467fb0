"""Which language a customer writes in, offline: lingua's n-gram models, which ship inside its
wheel (nothing is downloaded), choosing among `languages.detect`.

A conversation keeps its language: a message moves it only when detection is sure of it
(`SURE`) and the message has words enough to be sure of (`SURE_WORDS`), so "ok", "danke" or a
pasted error code do not flip a German conversation to English. The first sure message sets
it; until then the hub speaks `languages.default`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

from lingua import IsoCode639_1, Language, LanguageDetector, LanguageDetectorBuilder

SURE = 0.5
"""lingua's relative confidence (the candidates' values sum to 1) a message's language needs."""
SURE_WORDS = 3
"""Words (of letters) a message needs before its language can move the conversation's."""

_WORD = re.compile(r"[^\W\d_]{2,}")


@dataclass(frozen=True, slots=True)
class Detection:
    language: str
    """ISO 639-1, lowercase ("de")."""
    confidence: float


def detect(text: str, candidates: tuple[str, ...]) -> Detection | None:
    """The language `text` is most likely in, among `candidates`; None without a letter."""
    if not _WORD.search(text):
        return None
    values = _detector(candidates).compute_language_confidence_values(text)
    if not values:
        return None
    best = values[0]
    return Detection(best.language.iso_code_639_1.name.lower(), best.value)


def message_language(text: str, candidates: tuple[str, ...]) -> str | None:
    """The language a message itself is surely in (stored with it); None when it says too
    little to be sure: fewer than `SURE_WORDS` words (a word in capitals is a code, not one),
    or no language `SURE`."""
    if sum(1 for word in _WORD.findall(text) if not word.isupper()) < SURE_WORDS:
        return None
    found = detect(text, candidates)
    return found.language if found is not None and found.confidence >= SURE else None


def load_detector(candidates: tuple[str, ...]) -> None:
    """Load the models for `candidates` now (~2 s), before a customer's message waits on it."""
    _detector(candidates)


@cache
def _detector(candidates: tuple[str, ...]) -> LanguageDetector:
    """One detector per process and candidate set: its models take ~40 MB a language."""
    languages = [Language.from_iso_code_639_1(getattr(IsoCode639_1, code.upper())) for code in candidates]
    return LanguageDetectorBuilder.from_languages(*languages).with_preloaded_language_models().build()
