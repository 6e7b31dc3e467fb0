"""The bar of `core.answering.actions.phrasing`, fitted on one half and read on the other, run with:

    python -m tests.bench.bench_action_phrasing

Data (tests/bench/datasets/PROVENANCE.md): actions.json, six shop and SaaS actions with three
example phrasings each (as an operator declares them) and fifteen paraphrases of each written
apart from the examples; the questions of config/eval/sample-questions.jsonl, which ask the
sample help centre and must trigger no action. Halves: the even paraphrases and the lines not
marked `held_out` fit the bar, the odd paraphrases and the `held_out` lines are read at it.

The bar maximises, on the calibration half, the share of paraphrases that trigger their own
action minus FALSE_TRIGGER_COST times the share of help-centre questions that trigger any.

Two outside checks, never fitted on: Bitext's shop customers (bitext.jsonl: track_order,
track_refund and change_shipping_address stand for three of the actions, the intents of no
declared action must trigger nothing; get_invoice, check_invoice, get_refund and
delivery_period are left out, as asking for an action's result and asking how it works are
mixed in them), and the matcher without its sentence matching (the whole message only).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from core.answering.actions.phrasing import MIN_COSINE, ActionMatch, ActionMatcher, _masked
from knowledge.embedder import Embedder
from knowledge.evaluation import load_questions
from knowledge.settings import KnowledgeSettings

ROOT = Path(__file__).resolve().parents[2]
DATA = Path(__file__).resolve().parent / "datasets"
FALSE_TRIGGER_COST = 2.0
"""A false trigger takes a question away from the help centre and asks the customer for an
order number they never meant to give; a miss still gets the help centre's answer or a person."""
BARS = np.round(np.arange(0.40, 0.80, 0.01), 2)
BITEXT_ACTIONS = {
    "track_order": "order_status",
    "track_refund": "refund_status",
    "change_shipping_address": "change_delivery_address",
}
BITEXT_MIXED = frozenset({"get_invoice", "check_invoice", "get_refund", "delivery_period"})


@dataclass(frozen=True, slots=True)
class Scored:
    expected: str | None
    """The action the text asks for; None: none."""
    match: ActionMatch | None
    """The closest action at any cosine."""


@dataclass(frozen=True, slots=True)
class Rates:
    right: float
    wrong: float
    """Paraphrases that trigger another action."""
    false: float
    """Texts asking no action that trigger one."""
    false_count: int


def load_actions() -> tuple[dict[str, list[str]], list[tuple[str, str]]]:
    """The examples by action, and (action, paraphrase) in file order."""
    data = json.loads((DATA / "actions.json").read_text(encoding="utf-8"))
    paraphrases = [(action, text) for action, texts in data["paraphrases"].items() for text in texts]
    return data["actions"], paraphrases


def halves(paraphrases: Sequence[tuple[str, str]]) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """(calibration, held out): even and odd paraphrases of each action."""
    index: dict[str, int] = {}
    calibration: list[tuple[str, str]] = []
    held_out: list[tuple[str, str]] = []
    for action, text in paraphrases:
        position = index[action] = index.get(action, -1) + 1
        (held_out if position % 2 else calibration).append((action, text))
    return calibration, held_out


def help_centre_questions() -> tuple[list[str], list[str]]:
    """(calibration, held out) questions of the sample help centre."""
    lines = load_questions(ROOT / "config" / "eval" / "sample-questions.jsonl")
    return [q.question for q in lines if not q.held_out], [q.question for q in lines if q.held_out]


def bitext() -> tuple[list[tuple[str, str]], list[str]]:
    """(action, question) of the intents standing for a declared action, and the questions of
    the intents asking for none."""
    positives, negatives = [], []
    for line in (DATA / "bitext.jsonl").read_text(encoding="utf-8").splitlines():
        intent = json.loads(line)
        if intent["intent"] in BITEXT_ACTIONS:
            positives += [(BITEXT_ACTIONS[intent["intent"]], q) for q in intent["questions"]]
        elif intent["intent"] not in BITEXT_MIXED:
            negatives += intent["questions"]
    return positives, negatives


def score(match: Callable[[str], ActionMatch | None], items: Sequence[tuple[str | None, str]]) -> list[Scored]:
    return [Scored(expected, match(text)) for expected, text in items]


def rates(positives: Sequence[Scored], negatives: Sequence[Scored], bar: float) -> Rates:
    def fired(scored: Scored) -> ActionMatch | None:
        return scored.match if scored.match is not None and scored.match.cosine >= bar else None

    right = sum(1 for s in positives if (m := fired(s)) and m.action == s.expected)
    wrong = sum(1 for s in positives if (m := fired(s)) and m.action != s.expected)
    false = sum(1 for s in negatives if fired(s))
    return Rates(right / len(positives), wrong / len(positives), false / len(negatives), false)


def fit(positives: Sequence[Scored], negatives: Sequence[Scored]) -> float:
    """The bar with the best right-trigger share less FALSE_TRIGGER_COST x false-trigger share;
    the lowest of equals."""
    gains = [(r.right - FALSE_TRIGGER_COST * r.false, -bar) for bar in BARS for r in [rates(positives, negatives, bar)]]
    return float(-max(gains)[1])


def whole_message_only(examples: dict[str, list[str]], embedder: Embedder) -> Callable[[str], ActionMatch | None]:
    """The matcher's cosine without its sentences: the whole message (masked as it masks it)."""
    phrasings = [(action, example) for action, texts in examples.items() for example in texts]
    vectors = embedder.encode([_masked(example) or example for _, example in phrasings])

    def match(text: str) -> ActionMatch | None:
        cosines = embedder.encode([_masked(text) or text])[0] @ vectors.T
        column = int(np.argmax(cosines))
        action, example = phrasings[column]
        return ActionMatch(action=action, cosine=float(cosines[column]), example=example, said=text)

    return match


@dataclass(frozen=True, slots=True)
class Result:
    bar: float
    """Fitted on the calibration half."""
    rows: list[tuple[str, float, Rates]]
    """(what, at which bar, rates)."""
    triggered: list[tuple[str, Scored]]
    """Help-centre questions that trigger an action at MIN_COSINE, by half."""


def run() -> Result:
    embedder = Embedder.load(KnowledgeSettings())
    examples, paraphrases = load_actions()
    matcher = ActionMatcher(examples, embedder.encode, min_cosine=-1.0)
    whole = whole_message_only(examples, embedder)
    fit_positives, held_positives = halves(paraphrases)
    fit_questions, held_questions = help_centre_questions()
    bitext_positives, bitext_negatives = bitext()

    def scored(
        match: Callable[[str], ActionMatch | None], positives: Sequence[tuple[str, str]], negatives: Sequence[str]
    ) -> tuple[list[Scored], list[Scored]]:
        return score(match, positives), score(match, [(None, q) for q in negatives])

    calibration = scored(matcher.match, fit_positives, fit_questions)
    held_out = scored(matcher.match, held_positives, held_questions)
    bar = fit(*calibration)
    rows = [
        ("calibration half (fitted)", bar, rates(*calibration, bar)),
        ("held-out half", bar, rates(*held_out, bar)),
        ("calibration half", MIN_COSINE, rates(*calibration, MIN_COSINE)),
        ("held-out half", MIN_COSINE, rates(*held_out, MIN_COSINE)),
        (
            "held-out half, whole message only",
            MIN_COSINE,
            rates(*scored(whole, held_positives, held_questions), MIN_COSINE),
        ),
        (
            "Bitext shop questions",
            MIN_COSINE,
            rates(*scored(matcher.match, bitext_positives, bitext_negatives), MIN_COSINE),
        ),
    ]
    triggered = [
        (half, s)
        for half, negatives in (("calibration", calibration[1]), ("held out", held_out[1]))
        for s in negatives
        if s.match is not None and s.match.cosine >= MIN_COSINE
    ]
    return Result(bar, rows, triggered)


def report(result: Result) -> str:
    lines = [
        f"Action phrasing: bar fitted {result.bar:.2f}, MIN_COSINE {MIN_COSINE:.2f}",
        f"{'':36} {'bar':>5} {'right':>6} {'wrong':>6} {'false':>6}",
    ]
    for name, bar, r in result.rows:
        lines.append(f"{name:36} {bar:5.2f} {r.right:6.1%} {r.wrong:6.1%} {r.false:6.1%} ({r.false_count})")
    lines.append("help-centre questions that trigger an action at MIN_COSINE:")
    for half, s in result.triggered:
        assert s.match is not None
        lines.append(f"  {half:11} {s.match.cosine:.2f} {s.match.action:24} {s.match.said[:70]!r}")
    return "\n".join(lines)


if __name__ == "__main__":
    print(report(run()))
