"""How a customer message reads: polarity, frustration and intent, by rules and VADER.

Polarity is VADER's compound score in [-1, 1]. Frustration in [0, 1] is a clipped sum of
non-negative terms, so every piece of evidence can only raise it:

    frustration = min(1, 0.6 * negativity
                         + 0.3 * min(phrases, 2)
                         + gate * (0.15 * punctuation + 0.2 * shouting + 0.1 * repetition))

- negativity: max(0, -compound), how negative VADER finds the message;
- phrases: how many configured frustration phrases occur (case-insensitive, whole words,
  curly and straight apostrophes alike, the apostrophe itself optional);
- punctuation: 1 when the message has a run of two or more '!' or '?' ("!!!", "??", "?!");
- shouting: 1 when a message of at least three words has at least 60% of its letters in
  capitals;
- repetition: 1 when "again" or "still" occurs as a word;
- gate: 1 unless VADER finds the message clearly positive (compound >= 0.25), because the
  same markers in "THANK YOU SO MUCH!!!" or "thanks again" are delight, not frustration
  (VADER's usual 0.05 cut would also excuse "I WANT THIS FIXED NOW", +0.08 for "fixed").

That is an English message's reading. A message in German, Spanish, French or Portuguese is
read through `core.answering.mood_languages`: VADER reads an English gloss of its mood words
only, and that language's phrases, repetition, people, complaints, questions and requests
replace the English ones (a person asked for in English still counts). A message whose
language is not known (too short to be sure) is read as English and searched for every
shipped language's people, complaints and phrases too. A language with no rules is read only
by what needs no words (emoji, "!!!", capitals, "?"): a polarity of 0 there means unread.

Intent is the first rule that matches, in this order: asking for a person, a greeting
with little else, a complaint (frustration from `COMPLAINT_FRUSTRATION` or complaint
words), a question, a request; otherwise `Intent.OTHER`.

VADER reads the first `VADER_WORDS` words of a message, counted as VADER counts them, each
emoji spelt out ("😘" is "face blowing a kiss"): its negation, idiom and "but" checks walk
the whole message for each word, so its time grows with the square of the words — 2,000 emoji
took 1.9 s, 4,000 took 7.6 s; 200 words take at most ~7 ms (negative words after a "but", the
worst case measured). A customer's message rarely has more, and its opening carries its mood.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from statistics import fmean

from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer  # type: ignore[import-untyped]

from core.answering.mood_languages import RULES, LanguageRules
from core.answering.small_talk import SmallTalk, after_greeting, small_talk
from core.settings import SentimentSettings
from core.turn_context import Intent, Signals

COMPLAINT_FRUSTRATION = 0.5
"""A message this frustrated is a complaint whatever its words."""
VADER_WORDS = 200
"""The words (emoji spelt out) of a message's opening that VADER reads (see the module docstring)."""

_CLEARLY_POSITIVE = 0.25
_SHOUTING_SHARE = 0.6
_SHOUTING_MIN_WORDS = 3

_APOSTROPHES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u02bc": "'", "`": "'", "\u00b4": "'"})
_REPEATED_PUNCTUATION = re.compile(r"[!?]{2,}")
_REPETITION = re.compile(r"\b(?:again|still)\b", re.IGNORECASE)
_WORD = re.compile(r"[a-z']+")
_TOKEN = re.compile(r"\S+")
_AROUND_WORD = re.compile(r"(\W*)(.*?)(\W*)", re.DOTALL)

# Someone to talk to; "(?![\w-])" keeps "human-readable" out.
_PERSON = (
    r"(?:(?:real|live|actual)\s+)?"
    r"(?:human(?:\s+being)?|person|agent|representative|rep|operator|somebody|someone|"
    r"(?:support\s+)?staff|manager|supervisor)(?![\w-])"
)
# After "get/have/is there a <person>" the clause must end, so "an agent API" is no request.
_CLAUSE_END = r"(?=\s*(?:$|[.!?,;:)]|(?:please|now|asap|who|that|to|i|we|on|here|there|available|instead)\b))"
_HUMAN_REQUEST = re.compile(
    "|".join(
        (
            rf"\b(?:talk|speak|chat|get\s+through)\s+(?:to|with)\s+"
            rf"(?:(?:a|an|the|some|your|one\s+of\s+your)\s+)?{_PERSON}",
            rf"\b(?:get|have|want|need|give\s+me|connect\s+me\s+(?:to|with)|transfer\s+me\s+to|"
            rf"put\s+me\s+through\s+to|is\s+there)\s+(?:a|an|any|some|your)\s+{_PERSON}{_CLAUSE_END}",
            r"\b(?:real|live|actual)\s+(?:human|person|agent|people)(?![\w-])",
            r"\b(?:someone|somebody)\s+real\b",
            r"\bhuman\s+being\b",
            rf"^\W*{_PERSON}\W*(?:please\W*)?$",
        )
    ),
    re.IGNORECASE,
)

_COMPLAINT = re.compile(
    r"\b(?:terrible|awful|horrible|unacceptable|worst|disappointed|disappointing|complaint|"
    r"complain(?:ing)?|ridiculous|disgraceful|disgrace|scam|rip-?off|outrageous|appalling)\b"
    r"|\b(?:want|demand|expect|need)\s+(?:a|my)\s+(?:full\s+)?refund\b"
    r"|\brefund\s+me\b|\bmy\s+money\s+back\b",
    re.IGNORECASE,
)

_QUESTION_OPENERS = frozenset(
    {
        "what",
        "when",
        "where",
        "which",
        "who",
        "whom",
        "whose",
        "why",
        "how",
        "can",
        "could",
        "would",
        "will",
        "should",
        "shall",
        "may",
        "might",
        "is",
        "are",
        "am",
        "was",
        "were",
        "do",
        "does",
        "did",
        "have",
        "has",
        "any",
        "what's",
        "where's",
        "how's",
        "who's",
        "isn't",
        "can't",
        "doesn't",
        "won't",
    }
)

_REQUEST = re.compile(
    r"\bplease\b"
    r"|\bi(?:\s+really)?\s+(?:want|need|wish|would\s+like|'d\s+like|d\s+like)\s+to\b"
    r"|\b(?:cancel|change|update|close|delete)\s+my\b",
    re.IGNORECASE,
)
_IMPERATIVES = frozenset(
    {
        "cancel",
        "change",
        "update",
        "reset",
        "send",
        "resend",
        "delete",
        "remove",
        "add",
        "help",
        "show",
        "give",
        "tell",
        "refund",
        "upgrade",
        "downgrade",
        "close",
        "stop",
        "unsubscribe",
        "fix",
        "check",
        "book",
        "move",
        "transfer",
        "switch",
        "let",
        "make",
        "set",
        "activate",
        "deactivate",
        "renew",
        "email",
        "call",
        "find",
        "restore",
    }
)


@dataclass(frozen=True, slots=True)
class _Reading:
    """How messages of one language are read (see the module docstring)."""

    phrases: tuple[re.Pattern[str], ...]
    english: bool
    """The English rules apply and VADER reads the words as they are."""
    glosses: Mapping[str, str]
    """Without `english`: the words VADER reads, glossed in English; the others are left out."""
    rules: tuple[LanguageRules, ...] = ()
    """Other languages' rules; their questions, requests and repetition count only without
    `english` (a message of unknown language is only searched for their people and complaints)."""


class SentimentAnalyzer:
    """Reads one customer message at a time; build once and reuse (VADER loads a lexicon)."""

    def __init__(self, settings: SentimentSettings) -> None:
        self._vader = SentimentIntensityAnalyzer()
        self._emoji_words = {emoji: len(words.split()) for emoji, words in self._vader.emojis.items()}
        english = tuple(_phrase_pattern(phrase) for phrase in settings.frustration_phrases)
        self._by_language = {
            code: tuple(_phrase_pattern(phrase) for phrase in phrases)
            for code, phrases in settings.frustration_phrases_by_language.items()
        }
        self._english = _Reading(english, english=True, glosses={})
        self._unknown = _Reading(
            english + tuple(pattern for code in RULES for pattern in self._by_language.get(code, ())),
            english=True,
            glosses={},
            rules=tuple(RULES.values()),
        )

    def analyze(self, text: str, language: str | None = None) -> Signals:
        """How `text`, written in `language` (ISO 639-1; None: not known), reads. CPU-bound (a
        few ms for a long message): the turn runs it off the event loop."""
        text = text.translate(_APOSTROPHES)
        reading = self._reading(language)
        read = text if reading.english else _glossed(text, reading.glosses)
        polarity = float(self._vader.polarity_scores(self._opening(read))["compound"])
        frustration = self._frustration(text, polarity, reading)
        return Signals(polarity=polarity, frustration=frustration, intent=_intent(text, read, frustration, reading))

    def _reading(self, language: str | None) -> _Reading:
        if language is None:
            return self._unknown
        if language == "en":
            return self._english
        rules = RULES.get(language)
        return _Reading(
            self._by_language.get(language, ()),
            english=False,
            glosses=rules.glosses if rules is not None else {},
            rules=(rules,) if rules is not None else (),
        )

    def _opening(self, text: str) -> str:
        """The start of `text` that is at most VADER_WORDS words once VADER spells out its emoji."""
        words = 0
        for token in _TOKEN.finditer(text):
            words += 1
            for at, char in enumerate(token.group(), start=token.start()):
                words += self._emoji_words.get(char, 0)
                if words > VADER_WORDS:
                    return text[:at]
        return text

    def _frustration(self, text: str, polarity: float, reading: _Reading) -> float:
        phrases = sum(1 for pattern in reading.phrases if pattern.search(text))
        score = 0.6 * max(0.0, -polarity) + 0.3 * min(phrases, 2)
        if polarity < _CLEARLY_POSITIVE:
            score += 0.15 * bool(_REPEATED_PUNCTUATION.search(text))
            score += 0.2 * _is_shouting(text)
            score += 0.1 * _repeats(text, reading)
        return round(min(1.0, score), 4)


def trend(polarities: Sequence[float], *, window: int = 3) -> float:
    """How the mood moved: mean polarity of the last `window` messages minus the mean of the
    `window` before them; negative means it is getting worse.

    With fewer than `2 * window` messages both halves shrink to `len(polarities) // 2`
    (for an odd count the oldest message is left out); fewer than two messages give 0.0.
    """
    if window < 1:
        raise ValueError(f"window must be at least 1, not {window}")
    size = min(window, len(polarities) // 2)
    if size == 0:
        return 0.0
    recent = polarities[-size:]
    before = polarities[-2 * size : -size]
    return fmean(recent) - fmean(before)


def _phrase_pattern(phrase: str) -> re.Pattern[str]:
    """Whole words, any whitespace between them, and the apostrophe optional ("doesnt")."""
    words = phrase.translate(_APOSTROPHES).split()
    body = r"\s+".join(re.escape(word).replace("'", "'?") for word in words)
    return re.compile(rf"(?<!\w){body}(?!\w)", re.IGNORECASE)


def _is_shouting(text: str) -> bool:
    if len(text.split()) < _SHOUTING_MIN_WORDS:
        return False
    letters = [char for char in text if char.isalpha()]
    return bool(letters) and sum(char.isupper() for char in letters) / len(letters) >= _SHOUTING_SHARE


def asks_for_person(text: str, language: str | None = None) -> bool:
    """Whether `text` asks to talk to a person (what makes `Intent.HUMAN_REQUEST`): in English,
    and in `language` (None: in any language the analyzer reads)."""
    if _HUMAN_REQUEST.search(text):
        return True
    rules = RULES.values() if language is None else filter(None, [RULES.get(language)])
    return any(rule.person.search(text) for rule in rules)


def _glossed(text: str, glosses: Mapping[str, str]) -> str:
    """What VADER reads of a message in another language: its glossed mood words, in capitals
    when written so, with what is not a letter around them ("!!!", emoji, ":("); other words
    left out."""
    kept: list[str] = []
    for token in _TOKEN.findall(text):
        before, word, after = _AROUND_WORD.fullmatch(token).groups()  # type: ignore[union-attr]
        if not word:
            kept.append(token)
            continue
        gloss = glosses.get(word.lower())
        if gloss is not None:
            kept.append(before + (gloss.upper() if word.isupper() and len(word) > 1 else gloss) + after)
        elif before or after:
            kept.append(before + after)
    return " ".join(kept)


def _repeats(text: str, reading: _Reading) -> bool:
    if reading.english:
        return _REPETITION.search(text) is not None
    return any(rule.repetition.search(text) for rule in reading.rules)


def _intent(text: str, read: str, frustration: float, reading: _Reading) -> Intent:
    """`read`: the message as VADER read it (glossed in English for another language)."""
    if _HUMAN_REQUEST.search(text) or any(rule.person.search(text) for rule in reading.rules):
        return Intent.HUMAN_REQUEST
    if small_talk(text) is SmallTalk.GREETING:
        return Intent.GREETING
    rest = after_greeting(text)  # "Hi, how do I…" is a question
    words = _WORD.findall(rest.lower())
    if (
        frustration >= COMPLAINT_FRUSTRATION
        or _COMPLAINT.search(read)
        or any(rule.complaint.search(text) for rule in reading.rules)
    ):
        return Intent.COMPLAINT
    if text.rstrip().rstrip(".!)").endswith("?") or rest.startswith("\u00bf"):
        return Intent.QUESTION
    if reading.english:
        if words and words[0] in _QUESTION_OPENERS:
            return Intent.QUESTION
        if _REQUEST.search(text) or (words and words[0] in _IMPERATIVES):
            return Intent.REQUEST
        return Intent.OTHER
    if any(rule.question.match(rest) for rule in reading.rules):
        return Intent.QUESTION
    if any(rule.request.search(text) for rule in reading.rules):
        return Intent.REQUEST
    return Intent.OTHER
