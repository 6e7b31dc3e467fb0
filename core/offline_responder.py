"""Answers without a language model: quote the most relevant sentences of the best hits,
cite them, and say plainly when nothing relevant was found (offering a person instead)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from core.messages import Citation, Reply
from core.settings import AnswerSettings
from knowledge.hits import Hit

DECLINE = (
    "I couldn't find anything about that in our help centre, and I'd rather not guess. "
    "Would you like me to bring in a person from our support team?"
)
GREETING_REPLY = "Hi! Ask me anything about our product — I'll answer from our help centre and show you where it says so."
THANKS_REPLY = "You're welcome! Anything else I can help with?"

_GREETING = re.compile(r"^\s*(hi|hello|hey|hiya|good (morning|afternoon|evening))\b[\s!.,]*(there)?[\s!.]*$", re.I)
_THANKS = re.compile(r"^\s*(thanks|thank you|thx|cheers)\b[\w\s!.,]*$", re.I)
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[\"'(\[]?[A-Z0-9`*])")
_WORD = re.compile(r"[a-z0-9]+(?:[-_.][a-z0-9]+)*")
_STOPWORDS = frozenset(
    "a an and are as at be but by can could do does for from have how i if in is it its me my "
    "of on or our so that the their then there these this to was we what when where which who "
    "why will with you your yours".split()
)


@dataclass(frozen=True, slots=True)
class _Passage:
    hit: Hit
    sentences: tuple[str, ...]


def content_words(text: str) -> set[str]:
    """Lower-cased words without stop words, crudely stemmed so 'resetting' meets 'reset'."""
    return {_stem(w) for w in _WORD.findall(text.lower()) if w not in _STOPWORDS}


def _stem(word: str) -> str:
    for suffix in ("ing", "ed", "es", "s"):
        if len(word) > len(suffix) + 3 and word.endswith(suffix):
            return word[: -len(suffix)]
    return word


def split_sentences(text: str) -> list[str]:
    """Sentences and list items of a markdown chunk, markup stripped, in order."""
    units: list[str] = []
    for line in text.splitlines():
        line = re.sub(r"^\s*(#+|[-*+]|\d+[.)]|>)\s*", "", line).strip()
        line = line.replace("|", " ").strip()
        if not line or set(line) <= set("-: "):
            continue
        units.extend(s.strip() for s in _SENTENCE_END.split(line) if s.strip())
    return units


class OfflineResponder:
    def __init__(self, settings: AnswerSettings) -> None:
        self._settings = settings

    def answer(self, question: str, hits: list[Hit]) -> Reply:
        if _GREETING.match(question):
            return Reply(GREETING_REPLY)
        if _THANKS.match(question):
            return Reply(THANKS_REPLY)
        relevant = [h for h in hits if self._is_relevant(h)]
        if not relevant:
            return Reply(DECLINE, handoff=True)
        best = relevant[0]
        passage = self._quote(question, best)
        title = best.title if not best.section or best.section == best.title else f"{best.title} › {best.section}"
        quoted = "\n".join(f"> {sentence}" for sentence in passage.sentences)
        text = f"Here's what our help centre says in **{title}**:\n\n{quoted}"
        citations = [self._cite(best)]
        more = [h for h in relevant[1:] if h.source != best.source][:1]
        if more:
            text += f"\n\nSee also **{more[0].title}**."
            citations.append(self._cite(more[0]))
        return Reply(text, citations=tuple(citations))

    def _is_relevant(self, hit: Hit) -> bool:
        return hit.exact_match or hit.relevance >= self._settings.min_relevance

    def _quote(self, question: str, hit: Hit) -> _Passage:
        """The sentences that share the most content words with the question, kept in order."""
        sentences = split_sentences(hit.text)
        if not sentences:
            return _Passage(hit, (hit.text.strip(),))
        wanted = content_words(question)
        scored = [
            (len(wanted & content_words(s)) - index * 0.01, index)  # ties go to the earlier sentence
            for index, s in enumerate(sentences)
        ]
        scored.sort(reverse=True)
        keep = sorted(index for _, index in scored[: self._settings.max_sentences])
        if scored[0][0] <= 0:  # nothing overlaps: the opening of the passage is the best summary
            keep = list(range(min(self._settings.max_sentences, len(sentences))))
        return _Passage(hit, tuple(sentences[i] for i in keep))

    @staticmethod
    def _cite(hit: Hit) -> Citation:
        return Citation(source=hit.source, title=hit.title, section=hit.section, score=round(hit.score, 4))
