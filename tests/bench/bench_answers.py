"""Answer-or-decline benchmark through the real path (each question of a message searched, then
`OfflineResponder.answer_all`, as the agent does), run with:

    python -m tests.bench.bench_answers [path/to/stackfaq]

StackFAQ: a knowledge base from half the threads (one document per thread: the question as `#`
title, then the answers); every human paraphrase of *all* threads is asked. Paraphrases of
indexed threads should be answered, with the right thread as the first citation; paraphrases
of the other half (same apps, different questions) should be declined. The even threads as the
knowledge base are the calibration split (`tests/bench/calibrate_answers.py` fits the decision
on it), the odd threads the held-out one.

The sample help centre with config/eval/sample-questions.jsonl: its lines marked `held_out`
(the customer-style questions) are the held-out part, the others the calibration part; the
answer bar is learned from the calibration part as `supporthub eval --calibrate` learns it.
"""

from __future__ import annotations

import asyncio
import statistics
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from core.answering.agent import ask_each
from core.answering.answer_eval import Outcome, evaluate, searched
from core.answering.calibration import fit
from core.answering.offline_responder import OfflineResponder
from core.settings import AnswerSettings
from knowledge.embedding.embedder import Embedder
from knowledge.evaluation import load_questions
from knowledge.hits import Hit
from knowledge.settings import KnowledgeSettings
from tests.bench.bench_retrieval import load_threads, open_kb, write_threads
from tests.bench.calibrate_answers import ROOT

DENSE_DEPTH = 10


async def _split(
    threads: list[dict[str, Any]], parity: int, root: Path, embedder: Embedder, settings: AnswerSettings
) -> dict[str, Any]:
    kb, engine = await open_kb(root, embedder)
    indexed = [i for i in range(len(threads)) if i % 2 == parity]
    paths = write_threads([threads[i] for i in indexed], root / "docs")
    source = {i: path.name for i, path in zip(indexed, paths, strict=True)}
    await kb.ingest([root / "docs"], trigger="bench")
    responder = OfflineResponder(settings, floor=lambda: kb.paraphrase_floor)
    questions = [(q, source.get(i)) for i, t in enumerate(threads) for q in t["queries"]]
    vectors = embedder.encode([q for q, _ in questions])
    counts = {"in": 0, "answered": 0, "right": 0, "dense_right": 0, "out": 0, "declined": 0}
    answer_ms: list[float] = []

    async def search(query: str) -> list[Hit]:
        return await kb.search(query, settings.top_k)

    started = time.perf_counter()
    for (question, expected), vector in zip(questions, vectors, strict=True):
        asked = await ask_each(question, search)
        t = time.perf_counter()
        reply = responder.answer_all(asked)
        answer_ms.append((time.perf_counter() - t) * 1000)
        if expected is None:
            counts["out"] += 1
            counts["declined"] += reply.handoff
            continue
        counts["in"] += 1
        counts["answered"] += not reply.handoff
        counts["right"] += bool(reply.citations) and Path(reply.citations[0].source).name == expected
        dense = kb.local.snapshot.search_dense(vector, DENSE_DEPTH)
        counts["dense_right"] += bool(dense) and Path(dense[0][0].source).name == expected
    elapsed = time.perf_counter() - started
    await kb.aclose()
    await engine.dispose()
    n_in, n_out = max(counts["in"], 1), max(counts["out"], 1)
    return {
        "kb": "even threads (calibration)" if parity == 0 else "odd threads (held out)",
        "in_domain": counts["in"],
        "out_of_domain": counts["out"],
        "answered": counts["answered"] / n_in,
        "first_citation_right": counts["right"] / n_in,
        "dense_top1": counts["dense_right"] / n_in,
        "declined": counts["declined"] / n_out,
        "answer_ms_p50": statistics.median(answer_ms),
        "search_and_answer_per_s": len(questions) / elapsed,
    }


async def _sample(root: Path, embedder: Embedder, settings: AnswerSettings) -> dict[str, Any]:
    kb, engine = await open_kb(root, embedder)
    await kb.ingest([ROOT / "config" / "knowledge"], trigger="bench")
    questions = load_questions(ROOT / "config" / "eval" / "sample-questions.jsonl")
    lines = await asyncio.to_thread(searched, kb, settings, questions)
    # as an operator would: `supporthub eval --calibrate` on the lines not held out
    learned = fit([line for line in lines if not line.question.held_out], settings, source="sample-questions.jsonl")
    report = await asyncio.to_thread(evaluate, kb, settings, lines, 5, learned=learned)
    await kb.aclose()
    await engine.dispose()
    parts: dict[str, Any] = {}
    for name, results in (
        ("calibration", [r for r in report.results if not r.question.held_out]),
        ("held out", [r for r in report.results if r.question.held_out]),
    ):
        answerable = [r for r in results if r.question.answerable]
        unanswerable = [r for r in results if not r.question.answerable]
        parts[name] = {
            "answerable": len(answerable),
            "right": sum(r.outcome == Outcome.RIGHT for r in answerable),
            "declined_answerable": sum(r.outcome == Outcome.DECLINED for r in answerable),
            "unanswerable": len(unanswerable),
            "declined": sum(r.outcome == Outcome.DECLINED for r in unanswerable),
        }
    return parts


def run(stackfaq_path: Path, *, settings: AnswerSettings | None = None) -> dict[str, Any]:
    threads = load_threads(stackfaq_path)
    settings = settings or AnswerSettings()
    embedder = Embedder.load(KnowledgeSettings())
    out: dict[str, Any] = {
        "threads": len(threads),
        "queries": sum(len(t["queries"]) for t in threads),
        "min_match": settings.min_match,
        "splits": [],
    }
    for parity in (0, 1):
        with tempfile.TemporaryDirectory() as tmp:
            out["splits"].append(asyncio.run(_split(threads, parity, Path(tmp), embedder, settings)))
    with tempfile.TemporaryDirectory() as tmp:
        out["sample"] = asyncio.run(_sample(Path(tmp), embedder, settings))
    return out


def _share(part: int, whole: int) -> str:
    return f"{part / whole:6.1%} ({part}/{whole})" if whole else "n/a"


def report(out: dict[str, Any]) -> str:
    lines = [
        (
            f"StackFAQ answer-or-decline: {out['threads']} threads, {out['queries']} questions, "
            f"min_match {out['min_match']}"
        )
    ]
    for s in out["splits"]:
        lines += [
            f"  KB = {s['kb']} ({s['in_domain']} in-domain / {s['out_of_domain']} out-of-domain questions)",
            f"    in-domain answered            {s['answered']:6.1%}   (target >= 95 %)",
            (
                f"    first citation right          {s['first_citation_right']:6.1%} of all in-domain, declines "
                f"counted as misses   (dense alone top-1 {s['dense_top1']:.1%}; target: at least as often)"
            ),
            f"    out-of-domain declined        {s['declined']:6.1%}   (target >= 85 %)",
            (
                f"    answer_all() p50 {s['answer_ms_p50']:.2f} ms; search + answer, one at a time: "
                f"{s['search_and_answer_per_s']:.0f} questions/s"
            ),
        ]
    lines.append("Sample help centre, config/eval/sample-questions.jsonl")
    sample: dict[str, Any] = out["sample"]
    for name, part in sample.items():
        lines += [
            f"  {name} part ({part['answerable']} answerable, {part['unanswerable']} unanswerable)",
            f"    right source cited first      {_share(part['right'], part['answerable'])}   (target >= 85 %)",
            f"    answerable declined           {_share(part['declined_answerable'], part['answerable'])}",
            f"    unanswerable declined         {_share(part['declined'], part['unanswerable'])}   (target >= 12/14)",
        ]
    return "\n".join(lines)


def _main(argv: Sequence[str]) -> None:
    from tests.bench.__main__ import DEFAULT_STACKFAQ

    print(report(run(Path(argv[1]) if len(argv) > 1 else DEFAULT_STACKFAQ)))


if __name__ == "__main__":
    import sys

    _main(sys.argv)
