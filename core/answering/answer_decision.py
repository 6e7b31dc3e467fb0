"""Answer or decline: a logistic score over what the search already knows of its best hit.

The signals, all in `knowledge.hits.Hit`:

- `match`: the best of the passage's cosine, its heading's and its own question lines' (in an
  FAQ the heading is the question the passage answers, in a list of what people ask each line
  is; question-to-question is what all-MiniLM-L6-v2 was trained on);
- `coverage`: the rarity-weighted share of the question's words the chunk holds (typos
  corrected before the search, `knowledge.search.spelling`);
- `bm25_agrees`: BM25 ranks this chunk among its first three;
- `gap`: how far the best document leads the next one (by `match`).

A question holding exact tokens (an error code, an invoice number) is answered whatever the
score when the passage that holds them ranks first; the search already lifts such a passage
(`knowledge.search.fusion`), so one that still ranks below another is not what the question is about
("…had surgery on Monday, when do…" is not asking for the opening hours that name Monday). The weights were fitted (logistic regression, scikit-learn, by
tests/bench/calibrate_answers.py) on the calibration halves only: StackFAQ with the
even threads as knowledge base, and the first 101 lines of config/eval/sample-questions.jsonl.
The figures on the held-out halves are in the README (Benchmarks, "Answer or decline").

The bar `match` is measured against (`Bar`) is, first found: the one the operator's labelled
questions taught (`supporthub eval --calibrate`, `core.answering.calibration`); the help
centre's own floor, the cosine its answerable questions reach 95 times in 100, measured on the
question lines it lists (`knowledge.search.phrasings.Floor`); `answer.min_match`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from core.settings import AnswerSettings
from knowledge.hits import Hit
from knowledge.search.phrasings import FLOOR_QUANTILE, Floor

BM25_AGREES_WITHIN = 3
TEAM_ANSWERS_PREFIX = "support-team-answers/"
"""The sources of the answers the support team approved (`core.store.suggestions`), indexed
beside the help centre's documents."""
HAND_OVER_SOURCE = f"{TEAM_ANSWERS_PREFIX}hand-over"
"""The source of the questions the support team keeps for a person (marked "Always hand over"
in /admin/suggestions, `core.store.suggestions.hand_over`): a question whose best hit is one of
them is handed over, however well anything else matches. Only through those questions: a hit
on the document's own words ("our support team answers…") is no reason to hand over."""


@dataclass(frozen=True, slots=True)
class Weights:
    bias: float
    match: float
    coverage: float
    bm25_agrees: float
    gap: float


WEIGHTS = Weights(bias=-0.97, match=12.11, coverage=1.39, bm25_agrees=0.51, gap=3.69)
"""Fitted on the calibration halves (see the module docstring); 0 is the boundary."""


def match(hit: Hit) -> float:
    """How well a hit matches the question: the best of the passage cosine, its heading's, its
    question lines' and its closest sentence's."""
    return max(
        r
        for r in (hit.relevance, hit.heading_relevance, hit.phrasing_relevance, hit.sentence_relevance)
        if r is not None
    )


@dataclass(frozen=True, slots=True)
class Bar:
    """The match at which the other signals decide alone, and where it comes from."""

    value: float
    why: str


class Learned(Protocol):
    """A bar learned from the operator's labelled questions (`core.answering.calibration`)."""

    @property
    def bar(self) -> float: ...

    @property
    def why(self) -> str: ...


def answer_bar(settings: AnswerSettings, floor: Floor | None, learned: Learned | None = None) -> Bar:
    """With `answer.calibrate` on, the operator's calibration, else the help centre's own floor;
    `answer.min_match` when neither is there or `answer.calibrate` is off."""
    if settings.calibrate and learned is not None:
        return Bar(learned.bar, learned.why)
    if settings.calibrate and floor is not None:
        share = round(100 * (1 - FLOOR_QUANTILE))
        why = f"this help centre's floor, the match {share} % of its {floor.lines} question lines reach"
        return Bar(floor.value, why)
    return Bar(settings.min_match, "answer.min_match")


def rank_key(hit: Hit) -> float:
    """Which hit matches the question best, the one whose signals decide whether to answer: its
    match plus the lexical part of the fused score (the exact-token boost), so the heading
    cosine also corrects the ranking."""
    return match(hit) + hit.score - hit.relevance


DOCUMENT_WEIGHT = 0.75
"""How much the whole document's cosine (`Hit.document_relevance`) adds to `answer_key`."""


def answer_key(hit: Hit) -> float:
    """Which hit to answer from: `rank_key` plus how well its whole document matches
    (`DOCUMENT_WEIGHT`). A chunk that matches a topic a question names in passing loses to a
    chunk of the article the question is about ("Is there an email for the swimming lessons
    team?" is answered from the contact details, not from the swimming lessons' cancellation
    terms). Only the choice of passage: whether to answer is judged on `rank_key`'s best, so
    the bar and the declines are those the signals were fitted for."""
    return rank_key(hit) + DOCUMENT_WEIGHT * (hit.document_relevance or 0.0)


@dataclass(frozen=True, slots=True)
class Signal:
    name: str
    value: float
    contribution: float


@dataclass(frozen=True, slots=True)
class Decision:
    best: Hit | None
    """The hit to answer from; None when the search found nothing at all."""
    answer: bool
    score: float
    """The logistic score (answer at 0 and above); +inf for an exact-token match."""
    signals: tuple[Signal, ...]
    matched: Hit | None = None
    """The hit whose signals were scored, when it is not `best` (`answer_key` chose a passage of
    the document the question is about); None when it is."""

    def explain(self) -> str:
        """One line: the decision, its score and each signal's value and contribution."""
        if self.best is None:
            return "decline: nothing found"
        if self.best.source == HAND_OVER_SOURCE:
            return "decline: the support team answers questions like this in person"
        verdict = "answer" if self.answer else "decline"
        if math.isinf(self.score):
            return f"{verdict}: the passage holds the question's exact tokens ({self.best.source})"
        parts = ", ".join(f"{s.name} {s.value:.2f} ({s.contribution:+.2f})" for s in self.signals)
        line = f"{verdict}: score {self.score:+.2f} from {parts}; best {self.best.source} › {self.best.section}"
        if self.matched is not None:
            line += f" (judged on {self.matched.source} › {self.matched.section})"
        return line


def signals(best: Hit, hits: Sequence[Hit]) -> dict[str, float]:
    """The decision's inputs for `best` among `hits`."""
    # no other document in the results: no evidence of a lead
    runner_up = max((match(h) for h in hits if h.source != best.source), default=match(best))
    return {
        "match": match(best),
        "coverage": best.coverage or 0.0,
        "bm25_agrees": 1.0 if best.lexical_rank is not None and best.lexical_rank <= BM25_AGREES_WITHIN else 0.0,
        "gap": max(0.0, match(best) - runner_up),
    }


def _through_kept_question(hit: Hit) -> bool:
    """A hit on the hand-over document that one of the questions kept for a person found (its
    phrasings are those questions): not its heading, not its text."""
    phrasing = hit.phrasing_relevance
    return phrasing is not None and phrasing >= max(hit.relevance, hit.heading_relevance or -1.0)


def decide(hits: Sequence[Hit], *, min_match: float, weights: Weights = WEIGHTS) -> Decision:
    """Whether to answer, judged on the best of `hits` by `rank_key`, and from which passage
    (`answer_key`'s best), and why. `min_match` is the match at which the other signals decide alone (`answer.min_match`): raising it declines more."""
    hits = [hit for hit in hits if hit.source != HAND_OVER_SOURCE or _through_kept_question(hit)]
    if not hits:
        return Decision(None, False, -math.inf, ())
    judged = max(hits, key=rank_key)
    if judged.exact_match:  # only where the token's passage also ranks first: never over a better one
        return Decision(judged, True, math.inf, ())
    if judged.source == HAND_OVER_SOURCE:
        return Decision(judged, False, -math.inf, ())
    best = max((hit for hit in hits if hit.source != HAND_OVER_SOURCE), key=answer_key)
    values = signals(judged, hits)
    offset = {"match": min_match}
    parts = tuple(
        Signal(name, value, getattr(weights, name) * (value - offset.get(name, 0.0))) for name, value in values.items()
    )
    score = weights.bias + sum(part.contribution for part in parts)
    return Decision(best, score >= 0, score, parts, matched=None if best is judged else judged)
