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

End to end, the rule as the agent applies it without an LLM (`core.answering.agent`): a message
goes to an action when its match reaches MIN_COSINE *and* is at least the knowledge base's best
`relevance` for the message (each of its questions searched as the agent searches them, the
sample help centre config/knowledge indexed); recall questions ("what's my name?") never reach
the matcher. Each figure is printed beside the matcher alone at the same bar. Two hubs:
- the default hub, with only the built-in actions (case_status, case_note), which every hub
  has: the 170 help-centre questions routed to one are regressions for every hub (and, outside,
  Bitext's questions for no action);
- the six actions of actions.json with the built-ins, as `Actions` builds them: case_status is
  a reserved name, so its paraphrases are matched by the built-in's phrasings. Held-out
  paraphrases routed to their action, to another, to none; help-centre questions routed; and
  Bitext's (the knowledge base stays the sample's SaaS help centre, not a shop's).
"""

from __future__ import annotations

import asyncio
import json
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from core.answering.actions import built_in
from core.answering.actions.phrasing import MIN_COSINE, ActionMatch, ActionMatcher, _masked, asks_how_to
from core.answering.agent import ask_each
from core.answering.memory import recall_key
from core.settings import AnswerSettings
from knowledge.embedding.embedder import Embedder
from knowledge.evaluation import load_questions
from knowledge.hits import Hit
from knowledge.settings import KnowledgeSettings
from tests.bench.bench_retrieval import open_kb

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
class Message:
    """One customer message as the agent sees it without an LLM."""

    expected: str | None
    """The action it asks for; None: none."""
    text: str
    match: ActionMatch | None
    """The hub's closest action at any cosine; None when the agent never asks (a recall question)."""
    knowledge_best: float
    """The agent's `knowledge_best`: the best `relevance` of the passages found for its questions."""


def routed(message: Message, *, compare: bool, how_to: bool = False) -> ActionMatch | None:
    """The action the message goes to: by the matcher alone at MIN_COSINE, or (`compare`) also
    at least as close as the knowledge base's best passage, and (`how_to`) not when what matched
    asks how to do it oneself, as `Actions.offline` decides."""
    found = message.match
    if found is None or found.cosine < MIN_COSINE:
        return None
    if compare and found.cosine < message.knowledge_best:
        return None
    if how_to and (found.action in WRITES or found.action in built_in.DECLARATIONS) and asks_how_to(found.said):
        return None
    return found


@dataclass(frozen=True, slots=True)
class Routing:
    """Counts of messages asking for an action (right, wrong, none) and asking none (false)."""

    right: int = 0
    wrong: int = 0
    none: int = 0
    false: int = 0
    positives: int = 0
    negatives: int = 0


def routing(messages: Sequence[Message], *, compare: bool, how_to: bool = False) -> Routing:
    counts = dict.fromkeys(("right", "wrong", "none", "false", "positives", "negatives"), 0)
    for message in messages:
        found = routed(message, compare=compare, how_to=how_to)
        if message.expected is None:
            counts["negatives"] += 1
            counts["false"] += found is not None
        else:
            counts["positives"] += 1
            key = "none" if found is None else "right" if found.action == message.expected else "wrong"
            counts[key] += 1
    return Routing(**counts)


@dataclass(frozen=True, slots=True)
class Hub:
    """One hub's actions, end to end."""

    name: str
    sets: dict[str, list[Message]]
    """Messages by set, in file order."""


async def _knowledge_best(texts: Sequence[str], embedder: Embedder, root: Path) -> dict[str, float]:
    """Each text's `knowledge_best` against the sample help centre, searched as the agent does."""
    settings = AnswerSettings()
    kb, engine = await open_kb(root, embedder)
    await kb.ingest([ROOT / "config" / "knowledge"], trigger="bench")

    async def search(query: str) -> list[Hit]:
        return await kb.search(query, settings.top_k)

    best: dict[str, float] = {}
    for text in dict.fromkeys(texts):
        asked = await ask_each(text, search)
        best[text] = max((hit.relevance for one in asked for hit in one.hits), default=0.0)
    await kb.aclose()
    await engine.dispose()
    return best


def end_to_end(embedder: Embedder, examples: dict[str, list[str]], paraphrases: Sequence[tuple[str, str]]) -> list[Hub]:
    """The default hub (built-ins only) and the declared one (actions.json and the built-ins),
    each on the help-centre questions, the paraphrases' halves and Bitext's questions."""
    built_ins = {name: list(declaration.examples) for name, declaration in built_in.DECLARATIONS.items()}
    fit_positives, held_positives = halves(paraphrases)
    fit_questions, held_questions = help_centre_questions()
    bitext_positives, bitext_negatives = bitext()
    sets: dict[str, list[tuple[str | None, str]]] = {
        "held-out paraphrases": list(held_positives),
        "calibration paraphrases": list(fit_positives),
        "held-out help-centre questions": [(None, q) for q in held_questions],
        "calibration help-centre questions": [(None, q) for q in fit_questions],
        "Bitext, asking a declared action": list(bitext_positives),
        "Bitext, asking no action": [(None, q) for q in bitext_negatives],
    }
    with tempfile.TemporaryDirectory() as tmp:
        best = asyncio.run(_knowledge_best([text for items in sets.values() for _, text in items], embedder, Path(tmp)))
    hubs = []
    # as `Actions` builds them: the built-ins over the declared (case_status is a reserved name)
    for name, actions in (
        ("built-in actions only", built_ins),
        ("actions.json and the built-ins", examples | built_ins),
    ):
        matcher = ActionMatcher(actions, embedder.encode, min_cosine=-1.0)
        hubs.append(
            Hub(
                name,
                {
                    set_name: [
                        Message(expected, text, None if recall_key(text) else matcher.match(text), best[text])
                        for expected, text in items
                    ]
                    for set_name, items in sets.items()
                },
            )
        )
    return hubs


@dataclass(frozen=True, slots=True)
class Result:
    bar: float
    """Fitted on the calibration half."""
    rows: list[tuple[str, float, Rates]]
    """(what, at which bar, rates)."""
    triggered: list[tuple[str, Scored]]
    """Help-centre questions that trigger an action at MIN_COSINE, by half."""
    hubs: list[Hub]
    """End to end: the agent's rule, the default hub then the declared one."""


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
    return Result(bar, rows, triggered, end_to_end(embedder, examples, paraphrases))


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
    return "\n".join(lines + report_end_to_end(result.hubs))


WRITES = frozenset({"cancel_subscription", "resend_invoice", "change_delivery_address"})
"""The actions of actions.json that change something (`writes = true`): a question asking how
to do one of these (or what a built-in does) oneself is the help centre's; one asking how to
look something up is not (Bitext's shop customers ask "how can I track my order?" of the bot)."""
RULES = (("matcher alone", False, False), ("+ KB comparison", True, False), ("agent's rule", True, True))
HELP_CENTRE = ("held-out help-centre questions", "calibration help-centre questions")


def _share(part: int, whole: int) -> str:
    return f"{part / whole:6.1%} ({part:3})" if whole else f"{'':12}"


def _table(messages: dict[str, list[Message]]) -> list[str]:
    lines = [f"  {'':40} {'':13} {'right':>12} {'wrong':>12} {'none':>12} {'false':>12}"]
    for name, items in messages.items():
        for rule, compare, how_to in RULES:
            r = routing(items, compare=compare, how_to=how_to)
            label = f"{name} ({len(items)})" if not compare else ""
            cells = [_share(n, r.positives) for n in (r.right, r.wrong, r.none)] + [_share(r.false, r.negatives)]
            lines.append((f"  {label:40} {rule:15} " + " ".join(f"{c:>12}" for c in cells)).rstrip())
    return lines


def _listed(message: Message, note: str = "") -> str:
    assert message.match is not None
    m = message.match
    return f"    {m.cosine:.2f} (KB {message.knowledge_best:.2f}) {m.action:24} {note}{message.text[:70]!r}"


def report_end_to_end(hubs: Sequence[Hub]) -> list[str]:
    default, declared = hubs
    lines = [
        "End to end, the agent's rule (an action when its cosine >= MIN_COSINE and >= the knowledge",
        "base's best relevance for the message, and for a write or a built-in not a question how to do",
        "it oneself), the sample help centre indexed; beside it the matcher and the KB comparison",
        "alone. Shares of the messages asking an action (right, wrong, none) or none (false).",
        f"(a) {default.name} (every hub)",
    ]
    questions = [m for name in HELP_CENTRE for m in default.sets[name]]
    lines += _table(
        {"help-centre questions": questions, "Bitext, asking no action": default.sets["Bitext, asking no action"]}
    )
    lines.append("  help-centre questions routed to a built-in by the agent's rule:")
    reached = [m for m in questions if routed(m, compare=False)]
    lines += [_listed(m, "" if routed(m, compare=True, how_to=True) else "[kept by the KB] ") for m in reached] or [
        "    none"
    ]
    closest = sorted(questions, key=lambda m: m.match.cosine if m.match else -1.0, reverse=True)
    lines.append("  closest help-centre questions to a built-in:")
    lines += [_listed(m) for m in closest[:3]]
    lines.append("  Bitext, asking no action, routed to a built-in by the agent's rule:")
    bitext_routed = [m for m in default.sets["Bitext, asking no action"] if routed(m, compare=True, how_to=True)]
    lines += [_listed(m) for m in bitext_routed] or ["    none"]
    lines.append(f"(b) {declared.name}")
    lines += _table(
        {name: declared.sets[name] for name in ("held-out paraphrases", "calibration paraphrases", *HELP_CENTRE)}
    )
    lines.append("  paraphrases the KB comparison takes from their action (held-out half first):")
    lost = [
        m
        for name in ("held-out paraphrases", "calibration paraphrases")
        for m in declared.sets[name]
        if routed(m, compare=False) and not routed(m, compare=True, how_to=True)
    ]
    lines += [_listed(m, f"[{m.expected}] ") for m in lost] or ["    none"]
    lines.append("  help-centre questions reaching MIN_COSINE (held-out half first):")
    reached = [m for name in HELP_CENTRE for m in declared.sets[name] if routed(m, compare=False)]
    lines += [
        _listed(m, "routed " if routed(m, compare=True, how_to=True) else "[kept by the KB] ") for m in reached
    ] or ["    none"]
    lines.append(f"(c) Bitext's shop questions, never fitted on, {declared.name}")
    lines += _table(
        {name: declared.sets[name] for name in ("Bitext, asking a declared action", "Bitext, asking no action")}
    )
    return lines


if __name__ == "__main__":
    print(report(run()))
