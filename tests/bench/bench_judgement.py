"""Answer or hand over, against a plain cosine threshold on the same help centres, run with:

    python -m tests.bench.bench_judgement [path/to/stackfaq]

Each development set is turned into help centres of two halves, a calibration one and a
held-out one, and every question of the set is asked of each: a question whose article is in
that help centre should be answered with it cited first, the others (same product, not
covered) should be handed over. The hub answers through its real path (each question
searched, then `OfflineResponder.answer_all`); the baseline is one MiniLM vector per article
and a cosine threshold, the judgement the hub has to beat. The baseline's threshold is set
with the answers known (an oracle no deployment has): at the hub's own coverage, and at 95 %
of the answerable questions answered.

The sets (see tests/bench/datasets/PROVENANCE.md):
- StackFAQ: one article per thread (the question as title, then its answers); the
  paraphrases people wrote are the questions. Even threads make the calibration help centre,
  odd ones the held-out one.
- HWU64: 64 intents of a home assistant's users; one article per intent (its name as title,
  eight training utterances as the questions it answers), the test fold's utterances asked.
  Even intents (by name) make the calibration help centre, odd ones the held-out one.
- Bitext's customer-support sample: 27 intents of a shop's customers (cancel an order, track a
  refund, recover a password…), one article per intent as for HWU64, 40 questions per intent.
  Even intents make the calibration help centre, odd ones the held-out one.
- "HWU64 lines" and "Bitext lines": the same held-out help centres with each article's
  questions one per line, without list markers.
- The sample help centre with config/eval/sample-questions.jsonl: its lines marked
  `held_out` are the held-out part, the others the calibration part. It is one help centre
  with an operator's labelled questions: its bar is learned from the calibration part, as
  `supporthub eval --calibrate` learns it, and used on both.
"""

from __future__ import annotations

import asyncio
import json
import tempfile
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from core.answering.agent import ask_each
from core.answering.calibration import Labelled, fit
from core.answering.offline_responder import OfflineResponder
from core.settings import AnswerSettings
from knowledge.embedding.embedder import Embedder
from knowledge.evaluation import EvalQuestion, load_questions
from knowledge.hits import Hit
from knowledge.settings import KnowledgeSettings
from tests.bench.bench_retrieval import load_threads, open_kb
from tests.bench.calibrate_answers import ROOT

DATA = Path(__file__).resolve().parent / "datasets"
BASELINE_COVERAGE = 0.95
"""The share of answerable questions the cosine baseline is set to answer (the issue's bar)."""


@dataclass(frozen=True, slots=True)
class HelpCentre:
    name: str
    part: str
    """"calibration" or "held out"."""
    articles: dict[str, str]
    """File name → markdown; None for a folder of the repository (the sample help centre)."""
    questions: list[tuple[str, str | None]]
    """(question, the file that answers it, or None: it should be handed over)."""
    folder: Path | None = None
    labelled: list[EvalQuestion] = field(default_factory=list)
    """The operator's labelled questions, from which the bar is learned (`supporthub eval
    --calibrate`); none: the hub's bar as it stands (the floor, or answer.min_match)."""


def stackfaq_centres(threads: Sequence[dict[str, Any]]) -> list[HelpCentre]:
    centres = []
    for parity, part in ((0, "calibration"), (1, "held out")):
        articles = {}
        expected: dict[int, str] = {}
        for i, thread in enumerate(threads):
            if i % 2 != parity:
                continue
            answers = "\n\n".join(a.strip() for a in thread["answer"] if a.strip())
            expected[i] = f"thread-{i:03d}.md"
            articles[expected[i]] = f"# {thread['question'].strip()}\n\n{answers}\n"
        questions = [(q, expected.get(i)) for i, t in enumerate(threads) for q in t["queries"]]
        centres.append(HelpCentre("StackFAQ", part, articles, questions))
    return centres


def intent_title(intent: str) -> str:
    """ "iot_hue_lightoff" → "Iot: hue lightoff"."""
    scenario, _, rest = intent.partition("_")
    return f"{scenario.capitalize()}: {rest.replace('_', ' ')}" if rest else scenario.capitalize()


def plain_title(intent: str) -> str:
    """ "check_cancellation_fee" → "Check cancellation fee"."""
    return intent.replace("_", " ").capitalize()


def intent_centres(
    name: str, path: Path, title_of: Callable[[str], str] = intent_title, *, marker: str = "- "
) -> list[HelpCentre]:
    """`marker`: what starts each example line of an article ("" for one question per line
    with no list marker, as help centres written by hand often have it)."""
    intents = sorted(
        (json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()), key=lambda i: i["intent"]
    )
    centres = []
    for parity, part in ((0, "calibration"), (1, "held out")):
        articles = {}
        expected: dict[str, str] = {}
        for i, intent in enumerate(intents):
            if i % 2 != parity:
                continue
            title = title_of(intent["intent"])
            expected[intent["intent"]] = f"{intent['intent']}.md"
            examples = "\n".join(f"{marker}{example}" for example in intent["examples"])
            articles[expected[intent["intent"]]] = (
                f"# {title}\n\nWhat people ask about {title.lower()}:\n\n{examples}\n"
            )
        questions = [(q, expected.get(intent["intent"])) for intent in intents for q in intent["questions"]]
        centres.append(HelpCentre(name, part, articles, questions))
    return centres


def sample_centres() -> list[HelpCentre]:
    lines = load_questions(ROOT / "config" / "eval" / "sample-questions.jsonl")
    folder = ROOT / "config" / "knowledge"
    labelled = [q for q in lines if not q.held_out]
    parts = (("calibration", labelled), ("held out", [q for q in lines if q.held_out]))
    return [
        HelpCentre("sample", part, {}, [(q.question, q.expected_source) for q in chosen], folder, labelled)
        for part, chosen in parts
    ]


@dataclass(frozen=True, slots=True)
class Asked:
    """One question: what the hub did, and what the cosine baseline found."""

    expected: str | None
    answered: bool
    cited: str | None
    cosine_best: str
    cosine: float


async def answer_offline(
    question: str, search: Callable[[str], Awaitable[list[Hit]]], responder: OfflineResponder
) -> tuple[bool, str | None]:
    """The hub's offline answer path for one message: whether it answers (rather than hands over)
    and the source it cites first."""
    reply = responder.answer_all(await ask_each(question, search))
    return not reply.handoff, reply.citations[0].source if reply.citations and not reply.handoff else None


async def ask_all(
    centre: HelpCentre, root: Path, embedder: Embedder, settings: AnswerSettings
) -> tuple[list[Asked], float]:
    """Every question's outcome, and the bar the hub's decision used on this help centre."""
    kb, engine = await open_kb(root, embedder)
    folder = centre.folder
    if folder is None:
        folder = root / "docs"
        folder.mkdir(parents=True)
        for file_name, text in centre.articles.items():
            (folder / file_name).write_text(text, encoding="utf-8")
    await kb.ingest([folder], trigger="bench")
    files = sorted(p for p in folder.rglob("*") if p.is_file())
    article_vectors = embedder.encode([p.read_text(encoding="utf-8", errors="replace") for p in files])
    question_vectors = embedder.encode([q for q, _ in centre.questions])
    cosines = question_vectors @ article_vectors.T

    async def search(query: str) -> list[Hit]:
        return await kb.search(query, settings.top_k)

    learned = None
    if centre.labelled:  # as its operator would, with `supporthub eval --calibrate`
        lines = [Labelled(q, await ask_each(q.question, search)) for q in centre.labelled]
        learned = fit(lines, settings, source="labelled")
    responder = OfflineResponder(settings, floor=lambda: kb.paraphrase_floor, learned=lambda: learned)

    results = []
    for (question, expected), row in zip(centre.questions, cosines, strict=True):
        answered, cited = await answer_offline(question, search, responder)
        best = int(np.argmax(row))
        results.append(
            Asked(expected, answered, Path(cited).name if cited else None, files[best].name, float(row[best]))
        )
    bar = responder.bar().value
    await kb.aclose()
    await engine.dispose()
    return results, bar


def _matches(cited: str | None, expected: str | None) -> bool:
    return cited is not None and expected is not None and Path(expected).name == cited


def measure(results: Sequence[Asked]) -> dict[str, Any]:
    answerable = [r for r in results if r.expected is not None]
    covered_out = [r for r in results if r.expected is None]
    n_in, n_out = max(len(answerable), 1), max(len(covered_out), 1)
    hub_answered = sum(r.answered for r in answerable) / n_in

    def cosine_at(coverage: float) -> dict[str, float]:
        scores = sorted((r.cosine for r in answerable), reverse=True)
        if not scores or coverage <= 0:
            return {"threshold": 1.0, "right_first": 0.0, "declined_out": 1.0}
        threshold = scores[min(len(scores) - 1, max(0, round(coverage * len(scores)) - 1))]
        right = sum(r.cosine >= threshold and _matches(r.cosine_best, r.expected) for r in answerable)
        declined = sum(r.cosine < threshold for r in covered_out)
        return {"threshold": threshold, "right_first": right / n_in, "declined_out": declined / n_out}

    return {
        "answerable": len(answerable),
        "out_of_scope": len(covered_out),
        "hub": {
            "answered": hub_answered,
            "right_first": sum(r.answered and _matches(r.cited, r.expected) for r in answerable) / n_in,
            "declined_out": sum(not r.answered for r in covered_out) / n_out,
        },
        "cosine_at_hub_coverage": cosine_at(hub_answered),
        "cosine_at_95": cosine_at(BASELINE_COVERAGE),
    }


def run(stackfaq_path: Path, *, settings: AnswerSettings | None = None) -> list[dict[str, Any]]:
    settings = settings or AnswerSettings()
    embedder = Embedder.load(KnowledgeSettings())
    centres = [
        *stackfaq_centres(load_threads(stackfaq_path)),
        *intent_centres("HWU64", DATA / "hwu64.jsonl"),
        *intent_centres("Bitext", DATA / "bitext.jsonl", plain_title),
        *[c for c in intent_centres("HWU64 lines", DATA / "hwu64.jsonl", marker="") if c.part == "held out"],
        *[
            c
            for c in intent_centres("Bitext lines", DATA / "bitext.jsonl", plain_title, marker="")
            if c.part == "held out"
        ],
        *sample_centres(),
    ]
    out = []
    for centre in centres:
        with tempfile.TemporaryDirectory() as tmp:
            results, bar = asyncio.run(ask_all(centre, Path(tmp), embedder, settings))
        out.append({"set": centre.name, "part": centre.part, "bar": bar, **measure(results)})
    return out


def report(out: Sequence[dict[str, Any]]) -> str:
    lines = [
        "answer or hand over: the hub at its default vs one MiniLM vector per article and a cosine threshold",
        f"{'set':12} {'part':12} {'in/out':>9} {'bar':>5}  {'hub: answered right-first declined-out':38}"
        f"  {'cosine@hub coverage':22}  {'cosine@95 %':22}",
    ]
    for row in out:
        hub, same, at95 = row["hub"], row["cosine_at_hub_coverage"], row["cosine_at_95"]
        lines.append(
            f"{row['set']:12} {row['part']:12} {row['answerable']:>4}/{row['out_of_scope']:<4} {row['bar']:5.2f}"
            f"  {hub['answered']:7.1%} {hub['right_first']:10.1%} {hub['declined_out']:12.1%}       "
            f"  {same['right_first']:9.1%} {same['declined_out']:9.1%}   "
            f"  {at95['right_first']:9.1%} {at95['declined_out']:9.1%}"
        )
    lines.append(
        "targets (held-out parts): hub right-first >= cosine@95 % right-first, hub declined-out >= "
        "cosine@95 % declined-out, hub answered >= 90 %"
    )
    return "\n".join(lines)


def _main(argv: Sequence[str]) -> None:
    from tests.bench.__main__ import DEFAULT_STACKFAQ

    print(report(run(Path(argv[1]) if len(argv) > 1 else DEFAULT_STACKFAQ)))


if __name__ == "__main__":
    import sys

    _main(sys.argv)
