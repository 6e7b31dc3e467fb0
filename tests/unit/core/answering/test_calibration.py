"""The operator's calibration: the highest bar that keeps 95 % of their labelled answerable
questions answered, and the figures it reached there."""

from __future__ import annotations

import pytest

from core.answering.calibration import MIN_ANSWERABLE, TARGET_ANSWERED, Labelled, TooFewLines, fit
from core.answering.offline_responder import Asked, OfflineResponder
from core.settings import AnswerSettings
from knowledge.evaluation import EvalQuestion
from tests.unit.core.answering.test_answer_decision import hit

SETTINGS = AnswerSettings()


def labelled(line: int, relevance: float, *, answerable: bool = True) -> Labelled:
    source = f"docs/article-{line}.md"
    hits = [hit(source=source, relevance=relevance, index=1), hit(source="docs/other.md", relevance=0.2, index=2)]
    return Labelled(EvalQuestion(line, f"question {line}", source if answerable else None), [Asked("q", hits)])


def answered_at(bar: float, lines: list[Labelled]) -> float:
    responder = OfflineResponder(SETTINGS.model_copy(update={"min_match": bar, "calibrate": False}))
    answerable = [line for line in lines if line.question.answerable]
    return sum(not responder.answer_all(line.asked).handoff for line in answerable) / len(answerable)


def test_the_bar_is_the_highest_that_keeps_95_in_100_labelled_questions_answered() -> None:
    lines = [labelled(i, 0.35 + 0.01 * i) for i in range(40)] + [
        labelled(100 + i, 0.25, answerable=False) for i in range(6)
    ]
    learned = fit(lines, SETTINGS, source="ours.jsonl")
    assert answered_at(learned.bar, lines) >= TARGET_ANSWERED > answered_at(learned.bar + 0.01, lines)
    assert learned.answered == answered_at(learned.bar, lines) and learned.right_first == learned.answered
    assert learned.declined_out == 1.0 and (learned.answerable, learned.out_of_scope) == (40, 6)
    assert "learned from 40 labelled questions in ours.jsonl" in learned.why


def test_a_help_centre_whose_questions_score_higher_gets_a_higher_bar() -> None:
    low = fit([labelled(i, 0.35 + 0.01 * i) for i in range(40)], SETTINGS, source="a.jsonl")
    high = fit([labelled(i, 0.55 + 0.01 * i) for i in range(40)], SETTINGS, source="b.jsonl")
    assert high.bar > low.bar


def test_too_few_labelled_answerable_lines_teach_nothing() -> None:
    lines = [labelled(i, 0.6) for i in range(MIN_ANSWERABLE - 1)] + [labelled(99, 0.2, answerable=False)]
    with pytest.raises(TooFewLines, match=f"at least {MIN_ANSWERABLE}"):
        fit(lines, SETTINGS, source="few.jsonl")
