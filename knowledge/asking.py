"""Whether a sentence asks or requests something: what a customer's message is searched for
(`core.answering.questions` cuts a message into sentences and keeps these), and which lines of
a help-centre article are questions it answers (`knowledge.search.phrasings`).

A sentence asks when it ends with "?", starts the way questions start ("how", "can", "is"…),
or requests ("I need", "please", "show me", "not working"…), and holds a content word: "I was
wondering," asks nothing.
"""

from __future__ import annotations

import re

_ASKING_START = re.compile(
    r"^(?:how|what|what's|whats|where|when|why|which|who|whom|whose|can|can't|cant|could|would|will|"
    r"should|shall|is|isn't|are|aren't|am|was|were|do|does|doesn't|did|didn't|have|has|may|might|"
    r"any|anyone|anybody)\b",
    re.IGNORECASE,
)
_REQUEST = re.compile(
    r"\b(?:i|we)\s*(?:need|want|wanna|would\s+like|'d\s+like|d\s+like|am\s+trying|'m\s+trying|m\s+trying|"
    r"tried|can'?t|cannot|couldn'?t|forgot|lost|keep\s+getting|am\s+getting|'m\s+getting|"
    r"don'?t\s+(?:know|understand|see)|wonder|was\s+wondering|'m\s+wondering|am\s+wondering|am\s+looking|"
    r"'m\s+looking|m\s+looking)\b"
    r"|\b(?:please|pls|plz|help|tell\s+me|show\s+me|explain|is\s+there|are\s+there|how\s+to|"
    r"not\s+working|doesn'?t\s+work|won'?t|isn'?t\s+working|broken|error|fails?|failed|stuck|unable)\b",
    re.IGNORECASE,
)
_CONTENT = re.compile(r"[a-z0-9]+")
_FUNCTION_WORDS = frozenset(
    [
        "a",
        "an",
        "and",
        "the",
        "it",
        "its",
        "is",
        "are",
        "be",
        "to",
        "of",
        "in",
        "on",
        "for",
        "at",
        "by",
        "me",
        "my",
        "i",
        "we",
        "our",
        "us",
        "you",
        "your",
        "this",
        "that",
        "these",
        "those",
        "they",
        "them",
        "one",
        "how",
        "much",
        "many",
        "what",
        "whats",
        "where",
        "when",
        "why",
        "which",
        "who",
        "does",
        "do",
        "did",
        "can",
        "could",
        "would",
        "will",
        "should",
        "there",
        "any",
        "some",
        "so",
        "also",
        "please",
        "know",
        "want",
        "need",
        "wonder",
        "wondering",
        "ask",
        "question",
        "quick",
        "like",
    ]
)
_COURTESY_WORDS = frozenset(
    [
        "thanks",
        "thank",
        "advance",
        "appreciate",
        "appreciated",
        "hope",
        "help",
        "advise",
        "have",
        "nice",
        "great",
        "day",
        "let",
        "hear",
        "soon",
        "reply",
    ]
)
"""A sentence of only these and function words asks nothing: "Thanks in advance for your help!",
"Hope you can help.", "Please advise.", "Have a nice day!" after the question."""


def asks(sentence: str) -> bool:
    sentence = sentence.replace("\u2019", "'")  # a phone's keyboard types "I’d like", "can’t"
    if not content_words(sentence):
        return False
    return sentence.rstrip().endswith("?") or bool(_ASKING_START.match(sentence)) or bool(_REQUEST.search(sentence))


def content_words(sentence: str) -> list[str]:
    """The sentence's words that say what it is about (not function or courtesy words)."""
    return [w for w in _CONTENT.findall(sentence.lower()) if w not in _FUNCTION_WORDS and w not in _COURTESY_WORDS]
