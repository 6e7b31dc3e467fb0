"""Answer or decline: the logistic score over the best hit's signals, and its explanation."""

from __future__ import annotations

import dataclasses
import math

import pytest

from core.answering.answer_decision import HAND_OVER_SOURCE, WEIGHTS, Bar, answer_bar, decide, match
from core.settings import AnswerSettings
from knowledge.hits import Hit
from knowledge.search.phrasings import Floor

MIN_MATCH = 0.55


def hit(
    *,
    source: str = "docs/export.md",
    section: str = "Export as CSV",
    relevance: float = 0.5,
    heading: float | None = None,
    exact: bool = False,
    lexical_rank: int | None = None,
    coverage: float | None = None,
    index: int = 0,
) -> Hit:
    return Hit(
        chunk_id=f"abc-{index}",
        source=source,
        title="Exporting your data",
        section=section,
        text="Open Settings > Export and choose CSV.",
        score=relevance + (0.3 if exact else 0.0),
        relevance=relevance,
        exact_match=exact,
        heading_relevance=heading,
        lexical_rank=lexical_rank,
        coverage=coverage,
    )


def other_document(relevance: float = 0.30) -> Hit:
    return hit(source="docs/invite.md", section="Inviting teammates", relevance=relevance, heading=0.2, index=9)


def test_no_hits_is_a_decline_with_nothing_found() -> None:
    decision = decide([], min_match=MIN_MATCH)
    assert (decision.best, decision.answer, decision.signals) == (None, False, ())
    assert decision.explain() == "decline: nothing found"


def test_an_exact_token_hit_that_ranks_first_is_answered_whatever_the_score() -> None:
    code = hit(source="error-codes.json", section="BD-4012", relevance=0.35, heading=0.02, exact=True, coverage=0.0)
    decision = decide([other_document(relevance=0.6), code], min_match=0.99)
    assert decision.best is code and decision.answer and decision.score == math.inf
    assert decision.explain() == "answer: the passage holds the question's exact tokens (error-codes.json)"


def test_an_incidental_exact_token_never_overrides_a_better_passage() -> None:
    """ "…had surgery on Monday, when do…": the opening hours hold "Monday", the aftercare
    section answers; the search's lift for the token leaves the hours below it."""
    hours = hit(source="opening-hours.md", section="Opening hours", relevance=0.3, exact=True, index=1)
    aftercare = hit(source="surgery.md", section="After surgery", relevance=0.71, heading=0.6, coverage=0.8)
    decision = decide([hours, aftercare], min_match=MIN_MATCH)
    assert decision.best is aftercare and decision.answer and decision.score != math.inf


def test_a_hit_of_the_document_the_question_is_about_outranks_a_closer_chunk_of_another() -> None:
    """A chunk that matches a topic named in passing loses to a slightly less close chunk of the
    article the whole question is about (`Hit.document_relevance`)."""
    in_passing = dataclasses.replace(other_document(relevance=0.52), document_relevance=0.25)
    about = dataclasses.replace(hit(relevance=0.48, heading=0.3), document_relevance=0.45)
    decision = decide([in_passing, about], min_match=MIN_MATCH)
    assert decision.best is about and decision.matched is in_passing
    assert {signal.name: signal.value for signal in decision.signals}["match"] == 0.52
    assert decision.explain().endswith(
        "; best docs/export.md › Export as CSV (judged on docs/invite.md › Inviting teammates)"
    )
    without = [dataclasses.replace(h, document_relevance=None) for h in (in_passing, about)]
    assert decide(without, min_match=MIN_MATCH).best is without[0]


def test_the_score_is_the_bias_plus_each_weighted_signal() -> None:
    best = hit(relevance=0.62, heading=0.70, lexical_rank=2, coverage=0.8)
    decision = decide([best, other_document()], min_match=MIN_MATCH)
    match, gap = 0.70, 0.70 - 0.30  # the heading cosine is the better; the other document's best is 0.30
    expected = (
        WEIGHTS.bias
        + WEIGHTS.match * (match - MIN_MATCH)
        + WEIGHTS.coverage * 0.8
        + WEIGHTS.bm25_agrees * 1.0
        + WEIGHTS.gap * gap
    )
    assert decision.best is best and decision.answer
    assert decision.score == pytest.approx(expected)
    assert {s.name: s.value for s in decision.signals} == pytest.approx(
        {"match": match, "coverage": 0.8, "bm25_agrees": 1.0, "gap": gap}
    )


@pytest.mark.parametrize(("lexical_rank", "agrees"), [(1, 1.0), (3, 1.0), (4, 0.0), (None, 0.0)])
def test_bm25_agrees_only_within_its_first_three(lexical_rank: int | None, agrees: float) -> None:
    decision = decide([hit(relevance=0.6, lexical_rank=lexical_rank)], min_match=MIN_MATCH)
    assert {s.name: s.value for s in decision.signals}["bm25_agrees"] == agrees


def test_raising_min_match_turns_an_answer_into_a_decline() -> None:
    hits = [hit(relevance=0.58, heading=0.60, coverage=0.5), other_document()]
    assert decide(hits, min_match=MIN_MATCH).answer
    declined = decide(hits, min_match=0.75)
    assert not declined.answer and declined.score < 0


def test_with_one_document_there_is_no_gap() -> None:
    hits = [hit(relevance=0.7, section="Export as CSV"), hit(relevance=0.4, section="Export as JSON", index=1)]
    signals = {s.name: s.value for s in decide(hits, min_match=MIN_MATCH).signals}
    assert signals["gap"] == 0.0


def test_the_best_hit_is_ranked_by_its_heading_cosine_too() -> None:
    passage = hit(source="a.md", relevance=0.62, heading=0.40)
    question = hit(source="b.md", relevance=0.58, heading=0.85)
    decision = decide([passage, question], min_match=MIN_MATCH)
    assert decision.best is question
    assert {s.name: s.value for s in decision.signals}["gap"] == pytest.approx(0.85 - 0.62)


def test_explain_names_the_verdict_each_signal_and_the_best_passage() -> None:
    answered = decide(
        [hit(relevance=0.62, heading=0.70, lexical_rank=2, coverage=0.8), other_document()], min_match=MIN_MATCH
    ).explain()
    assert answered.startswith("answer: score +")
    for part in ("match 0.70 (+", "coverage 0.80 (+", "bm25_agrees 1.00 (+", "gap 0.40 (+"):
        assert part in answered
    assert answered.endswith("; best docs/export.md › Export as CSV")

    declined = decide([hit(relevance=0.2, coverage=0.1)], min_match=MIN_MATCH).explain()
    assert declined.startswith("decline: score -")
    assert "match 0.20 (-" in declined and "bm25_agrees 0.00 (+0.00)" in declined and "gap 0.00 (+0.00)" in declined


def test_a_question_line_of_the_passage_counts_as_its_match() -> None:
    listed = dataclasses.replace(hit(relevance=0.30, heading=0.35), phrasing_relevance=0.81)
    assert match(listed) == pytest.approx(0.81)
    assert match(hit(relevance=0.30, heading=None)) == pytest.approx(0.30)


def test_the_bar_is_the_help_centres_floor_unless_it_has_none_or_calibration_is_off() -> None:
    floor = Floor(0.31, lines=120)
    calibrated = answer_bar(AnswerSettings(), floor)
    assert calibrated.value == pytest.approx(0.31) and "120 question lines" in calibrated.why
    assert answer_bar(AnswerSettings(), None) == Bar(0.55, "answer.min_match")
    assert answer_bar(AnswerSettings(calibrate=False, min_match=0.6), floor) == Bar(0.6, "answer.min_match")


@dataclasses.dataclass(frozen=True)
class Learned:
    bar: float
    why: str


def test_the_operators_calibration_comes_before_the_floor_and_both_yield_to_calibrate_off() -> None:
    floor, learned = Floor(0.31, lines=120), Learned(0.42, "learned from 87 labelled questions")
    assert answer_bar(AnswerSettings(), floor, learned) == Bar(0.42, "learned from 87 labelled questions")
    assert answer_bar(AnswerSettings(), None, learned) == Bar(0.42, "learned from 87 labelled questions")
    assert answer_bar(AnswerSettings(calibrate=False), floor, learned) == Bar(0.55, "answer.min_match")


def test_a_help_centre_whose_own_questions_score_low_answers_at_its_own_floor() -> None:
    """Short questions against lists of short questions score low everywhere in such a help
    centre: at min_match they are declined, at its floor answered."""
    hits = [dataclasses.replace(hit(relevance=0.25, coverage=0.5), phrasing_relevance=0.42), other_document(0.2)]
    assert not decide(hits, min_match=MIN_MATCH).answer
    assert decide(hits, min_match=answer_bar(AnswerSettings(), Floor(0.30, lines=64)).value).answer


def test_a_question_closest_to_one_kept_for_a_person_is_declined_however_well_an_article_matches() -> None:
    kept = dataclasses.replace(
        hit(source=HAND_OVER_SOURCE, section="Questions a person answers", relevance=0.93, index=1),
        phrasing_relevance=0.93,  # found through a question kept for a person
    )
    article = hit(relevance=0.9, heading=0.9, coverage=1.0, lexical_rank=1)
    decision = decide([article, kept], min_match=0.5)
    assert decision.best is kept and not decision.answer
    assert decision.explain() == "decline: the support team answers questions like this in person"
    further = dataclasses.replace(
        hit(source=HAND_OVER_SOURCE, section="Questions a person answers", relevance=0.6, index=1),
        phrasing_relevance=0.6,
    )
    assert decide([article, further], min_match=0.5).answer  # the article is closer than what is kept
    own_words = dataclasses.replace(kept, phrasing_relevance=0.3)  # its text matched, no kept question
    assert decide([article, own_words], min_match=0.5).best is article
