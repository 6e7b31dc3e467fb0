"""The operator's own calibration: the bar learned from their labelled questions.

A help centre that lists its questions the way customers ask them gets its bar from them
(`knowledge.search.phrasings.Floor`); most help centres are articles with headings and give none. Their
operator knows better than any constant fitted on another data set: `supporthub eval --calibrate
FILE.jsonl` asks every labelled line that is not marked `held_out` through the product's path
(each question searched once), then tries every bar from LOWEST to HIGHEST and keeps the highest
at which TARGET_ANSWERED of the answerable lines are still answered — the same aim as the
help centre's floor, measured on what its customers actually ask. Lines marked `held_out` are
not used to fit; `supporthub eval` reports them apart, so the figures on them are on questions
nothing was fitted to.

The result is a row per knowledge collection (`core.store.calibrations`): every process reads
it again now and then (`Calibrations`), so it applies to the running server without a restart,
and `answer.calibrate = false` sets it aside with the floor.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

from core.answering.offline_responder import Asked, OfflineResponder
from core.settings import AnswerSettings
from knowledge.evaluation import EvalQuestion, source_matches

TARGET_ANSWERED = 0.95
"""The share of the labelled answerable lines the bar keeps answered."""
MIN_ANSWERABLE = 20
"""Labelled answerable lines (not held out) needed before a bar is learned from them."""
LOWEST, HIGHEST, STEP = 0.20, 0.80, 0.01


class TooFewLines(ValueError):
    """Fewer labelled lines than a bar can be learned from."""


@dataclass(frozen=True, slots=True)
class Calibration:
    bar: float
    answerable: int
    out_of_scope: int
    answered: float
    """Shares, on the labelled lines, at `bar`: answerable lines answered,"""
    right_first: float
    """answerable lines answered with the expected document cited first,"""
    declined_out: float | None
    """and lines the help centre cannot answer handed over (None: there were none)."""
    source: str
    """The file the lines came from."""
    fitted_at: datetime

    @property
    def why(self) -> str:
        out = f", {self.declined_out:.0%} of {self.out_of_scope} others handed over" if self.out_of_scope else ""
        return (
            f"learned from {self.answerable} labelled questions in {self.source} ({self.fitted_at:%Y-%m-%d}): "
            f"{self.answered:.0%} answered{out}"
        )


@dataclass(frozen=True, slots=True)
class Labelled:
    """A labelled line and its questions as searched (`core.answering.agent.ask_each`)."""

    question: EvalQuestion
    asked: Sequence[Asked]


def fit(lines: Sequence[Labelled], settings: AnswerSettings, *, source: str) -> Calibration:
    """The highest bar at which TARGET_ANSWERED of the answerable lines are answered (the lowest
    bar tried when none reaches it), and the figures there. Raises TooFewLines."""
    answerable = [line for line in lines if line.question.answerable]
    others = [line for line in lines if not line.question.answerable]
    if len(answerable) < MIN_ANSWERABLE:
        raise TooFewLines(
            f"{len(answerable)} answerable lines not marked held_out; at least {MIN_ANSWERABLE} are needed to learn a bar"
        )
    fitted_at = datetime.now(UTC)

    def at(bar: float) -> Calibration:
        responder = OfflineResponder(settings.model_copy(update={"min_match": bar, "calibrate": False}))
        replies = [(line.question.expected_source, responder.answer_all(line.asked)) for line in answerable]
        answered = [(expected, reply) for expected, reply in replies if not reply.handoff]
        right = sum(
            bool(expected and reply.citations and source_matches(expected, reply.citations[0].source))
            for expected, reply in answered
        )
        declined = sum(responder.answer_all(line.asked).handoff for line in others)
        return Calibration(
            bar=bar,
            answerable=len(answerable),
            out_of_scope=len(others),
            answered=len(answered) / len(answerable),
            right_first=right / len(answerable),
            declined_out=declined / len(others) if others else None,
            source=source,
            fitted_at=fitted_at,
        )

    # from the highest bar down: the first that answers enough is the one
    steps = round((HIGHEST - LOWEST) / STEP)
    for step in range(steps, -1, -1):
        here = at(round(LOWEST + step * STEP, 2))
        if here.answered >= TARGET_ANSWERED:
            return here
    return here  # none answers enough: the lowest bar tried


class Calibrations(Protocol):
    """Where a process finds the operator's calibration (`core.store.calibrations.CalibrationCache`)."""

    @property
    def current(self) -> Calibration | None:
        """As last read."""
        ...

    async def fresh(self) -> Calibration | None:
        """Read again when what was read is old."""
        ...
