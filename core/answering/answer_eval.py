"""`supporthub eval`'s report: knowledge's retrieval figures beside how the bot answers.

The offline responder is measured through the product's own path (each question of the
message searched with `answer.top_k`, then `OfflineResponder.answer_all`): of the answerable
questions, the share answered with the expected document as first citation, answered with
another (or no) citation, or declined; of the unanswerable ones, the share declined (`handoff`).
Where a line carries `expected_answer`, the answer is judged apart from its source: right when
the reply holds every expected text (case, spacing and markdown emphasis aside), so quoting the
right document's wrong column or paragraph is a wrong answer. The eval file and the retrieval
scores are knowledge's (`knowledge.evaluation`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from core.answering.agent import best_reading
from core.answering.answer_decision import Bar
from core.answering.calibration import Calibration, Labelled
from core.answering.offline_responder import OfflineResponder
from core.answering.questions import readings, statements
from core.messages import Reply
from core.settings import AnswerSettings
from knowledge.base import KnowledgeBase
from knowledge.evaluation import (
    RETRIEVER_LABELS,
    RETRIEVERS,
    EvalQuestion,
    RetrievalScores,
    retrieval_ranks,
    retrieval_scores,
    source_matches,
)


class Outcome(StrEnum):
    RIGHT = "right"
    WRONG = "wrong"
    DECLINED = "declined"


def outcome(reply: Reply, expected: str | None) -> Outcome:
    """'declined' (handoff); else 'right' when the first citation is the expected document,
    'wrong' otherwise (another document, no citation, or any answer to an unanswerable question)."""
    if reply.handoff:
        return Outcome.DECLINED
    if expected is not None and reply.citations and source_matches(expected, reply.citations[0].source):
        return Outcome.RIGHT
    return Outcome.WRONG


_EMPHASIS = re.compile(r"[*_`]+")
_SPACE = re.compile(r"\s+")


def _plain(text: str) -> str:
    return _SPACE.sub(" ", _EMPHASIS.sub("", text)).strip().casefold()


def holds_answer(reply: Reply, expected: Sequence[str]) -> bool:
    """The reply (not declined) holds every expected text, case, spacing and emphasis aside."""
    text = _plain(reply.text)
    return not reply.handoff and all(_plain(want) in text for want in expected)


@dataclass(frozen=True, slots=True)
class QuestionResult:
    question: EvalQuestion
    ranks: dict[str, int | None]
    """Per retriever, the expected document's rank within the top k (empty when unanswerable)."""
    outcome: Outcome
    cited: str | None
    """The reply's first citation's source, if any."""
    answer_right: bool | None = None
    """Whether the reply holds the line's `expected_answer`; None when the line has none."""


@dataclass(slots=True)
class EvalReport:
    k: int
    top_k: int
    bar: Bar
    """The match the decision measured hits against (`answer_decision.answer_bar`)."""
    results: list[QuestionResult] = field(default_factory=list)

    @property
    def answerable(self) -> list[QuestionResult]:
        return [r for r in self.results if r.question.answerable]

    @property
    def unanswerable(self) -> list[QuestionResult]:
        return [r for r in self.results if not r.question.answerable]

    @property
    def with_expected_answer(self) -> list[QuestionResult]:
        return [r for r in self.results if r.answer_right is not None]

    def held_out(self) -> EvalReport:
        """The same report over the held-out lines only."""
        return EvalReport(self.k, self.top_k, self.bar, [r for r in self.results if r.question.held_out])

    def retrieval(self, retriever: str) -> RetrievalScores | None:
        return retrieval_scores([r.ranks[retriever] for r in self.answerable], self.k)

    def share(self, results: Sequence[QuestionResult], what: Outcome) -> tuple[float | None, int, int]:
        count = sum(1 for r in results if r.outcome == what)
        return (count / len(results) if results else None), count, len(results)

    def answer_share(self) -> tuple[float | None, int, int]:
        """Of the lines with an `expected_answer`, the share whose reply holds it."""
        judged = self.with_expected_answer
        count = sum(1 for r in judged if r.answer_right)
        return (count / len(judged) if judged else None), count, len(judged)


def searched(kb: KnowledgeBase, answer: AnswerSettings, questions: Sequence[EvalQuestion]) -> list[Labelled]:
    """Every line's questions searched as the agent searches them (synchronous: call it in a
    worker thread)."""
    return [
        Labelled(
            question,
            [
                best_reading(
                    options,
                    {query: kb.search_sync(query, answer.top_k) for query in options},
                    told=statements(question.question),
                )
                for options in readings(question.question)
            ],
        )
        for question in questions
    ]


def evaluate(
    kb: KnowledgeBase,
    answer: AnswerSettings,
    lines: Sequence[Labelled],
    k: int,
    *,
    learned: Calibration | None = None,
) -> EvalReport:
    """Run every line through the three retrievals and its searched questions through the
    responder, at the bar the hub would use (`learned`: the operator's calibration, if any).
    Synchronous: call it in a worker thread."""
    responder = OfflineResponder(answer, floor=lambda: kb.paraphrase_floor, learned=lambda: learned)
    report = EvalReport(k=k, top_k=answer.top_k, bar=responder.bar())
    questions = [line.question for line in lines]
    for line, ranks in zip(lines, retrieval_ranks(kb, questions, k), strict=True):
        question = line.question
        reply = responder.answer_all(line.asked)
        cited = reply.citations[0].source if reply.citations else None
        answer_right = holds_answer(reply, question.expected_answer) if question.expected_answer else None
        report.results.append(
            QuestionResult(question, ranks, outcome(reply, question.expected_source), cited, answer_right)
        )
    return report


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def report_json(report: EvalReport) -> dict[str, Any]:
    answerable, unanswerable = report.answerable, report.unanswerable
    retrieval = {}
    for name in RETRIEVERS:
        scores = report.retrieval(name)
        retrieval[name] = {
            "hit@1": _round(scores.hit_at_1 if scores else None),
            "hit@k": _round(scores.hit_at_k if scores else None),
            "mrr@k": _round(scores.mrr_at_k if scores else None),
        }
    return {
        "k": report.k,
        "questions": len(report.results),
        "answerable": len(answerable),
        "unanswerable": len(unanswerable),
        "retrieval": retrieval,
        "responder": {
            "top_k": report.top_k,
            "bar": round(report.bar.value, 4),
            "bar_source": report.bar.why,
            "answerable_right_source": _round(report.share(answerable, Outcome.RIGHT)[0]),
            "answerable_wrong_citation": _round(report.share(answerable, Outcome.WRONG)[0]),
            "answerable_declined": _round(report.share(answerable, Outcome.DECLINED)[0]),
            "unanswerable_declined": _round(report.share(unanswerable, Outcome.DECLINED)[0]),
            "with_expected_answer": len(report.with_expected_answer),
            "right_answer": _round(report.answer_share()[0]),
        },
        "held_out": len(report.held_out().results),
    }


def _fmt(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"


def _table(rows: Sequence[Sequence[str]]) -> list[str]:
    """Left-aligned first column, right-aligned others, two spaces apart."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return [
        "  ".join(
            cell.ljust(w) if i == 0 else cell.rjust(w) for i, (cell, w) in enumerate(zip(row, widths, strict=True))
        ).rstrip()
        for row in rows
    ]


def format_report(report: EvalReport) -> str:
    answerable, unanswerable = report.answerable, report.unanswerable
    k = report.k
    lines = [f"{len(report.results)} questions: {len(answerable)} answerable, {len(unanswerable)} unanswerable", ""]
    rows = [["search (answerable)", "hit@1", f"hit@{k}", f"MRR@{k}"]]
    for name in RETRIEVERS:
        scores = report.retrieval(name)
        rows.append(
            [
                RETRIEVER_LABELS[name],
                _fmt(scores.hit_at_1 if scores else None),
                _fmt(scores.hit_at_k if scores else None),
                _fmt(scores.mrr_at_k if scores else None),
            ]
        )
    lines += _table(rows)
    lines.append("")
    rows = [[f"offline responder (top_k {report.top_k}, bar {report.bar.value:.2f})", "share", "count"]]
    for label, results, what in (
        ("answerable: expected source cited first", answerable, Outcome.RIGHT),
        ("answerable: answered, wrong citation", answerable, Outcome.WRONG),
        ("answerable: declined", answerable, Outcome.DECLINED),
        ("unanswerable: declined (right)", unanswerable, Outcome.DECLINED),
    ):
        value, count, total = report.share(results, what)
        rows.append([label, _fmt(value), f"{count}/{total}"])
    value, count, total = report.answer_share()
    if total:
        rows.append(["answerable: expected answer in the reply", _fmt(value), f"{count}/{total}"])
    lines += _table(rows)
    lines.append(f"bar: {report.bar.why}")
    held_out = report.held_out()
    if held_out.results and len(held_out.results) < len(report.results):
        declined = held_out.share(held_out.answerable, Outcome.DECLINED)[0]
        parts = [
            f"answered {_fmt(None if declined is None else 1 - declined)}",
            f"expected source first {_fmt(held_out.share(held_out.answerable, Outcome.RIGHT)[0])}",
            f"expected answer {_fmt(held_out.answer_share()[0])}",
            f"unanswerable declined {_fmt(held_out.share(held_out.unanswerable, Outcome.DECLINED)[0])}",
        ]
        lines += ["", f"held-out lines ({len(held_out.results)}, kept out of calibration): " + ", ".join(parts)]
    return "\n".join(lines)
