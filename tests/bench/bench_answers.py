"""Answer-or-decline benchmark on StackFAQ, through the real path, run with:

    python -m tests.bench.bench_answers [path/to/stackfaq]

A knowledge base from half the threads (one document per thread: the question as `#` title,
then the answers); every human paraphrase of *all* threads is asked through
`KnowledgeBase.search` + `OfflineResponder.answer`, exactly as the agent does. Paraphrases of
indexed threads should be answered, with the right thread as the first citation; paraphrases
of the other half (same apps, different questions) should be declined. Both splits: the even
threads as the knowledge base (the one the rule was chosen on) and the odd ones (the check).
"""

from __future__ import annotations

import asyncio
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from core.offline_responder import OfflineResponder
from core.settings import AnswerSettings
from knowledge.embedder import Embedder
from knowledge.settings import KnowledgeSettings
from tests.bench.bench_retrieval import (
    load_threads,
    open_kb,
    write_threads,
)

DENSE_DEPTH = 10


async def _split(threads: list[dict[str, Any]], parity: int, root: Path, embedder: Embedder,
                 settings: AnswerSettings) -> dict[str, Any]:
    kb, engine = await open_kb(root, embedder)
    indexed = [i for i in range(len(threads)) if i % 2 == parity]
    paths = write_threads([threads[i] for i in indexed], root / "docs")
    source = {i: str(path.resolve()) for i, path in zip(indexed, paths, strict=True)}
    await kb.ingest([root / "docs"], trigger="bench")
    responder = OfflineResponder(settings)
    questions = [(q, source.get(i)) for i, t in enumerate(threads) for q in t["queries"]]
    vectors = embedder.encode([q for q, _ in questions])
    counts = {"in": 0, "answered": 0, "right": 0, "dense_right": 0, "out": 0, "declined": 0}
    answer_ms: list[float] = []
    started = time.perf_counter()
    for (question, expected), vector in zip(questions, vectors, strict=True):
        hits = await kb.search(question, settings.top_k)
        t = time.perf_counter()
        reply = responder.answer(question, hits)
        answer_ms.append((time.perf_counter() - t) * 1000)
        if expected is None:
            counts["out"] += 1
            counts["declined"] += reply.handoff
            continue
        counts["in"] += 1
        counts["answered"] += not reply.handoff
        counts["right"] += bool(reply.citations) and reply.citations[0].source == expected
        dense = kb.local.snapshot.search_dense(vector, DENSE_DEPTH)
        counts["dense_right"] += bool(dense) and dense[0][0].source == expected
    elapsed = time.perf_counter() - started
    await kb.aclose()
    await engine.dispose()
    n_in, n_out = max(counts["in"], 1), max(counts["out"], 1)
    return {
        "kb": "even threads" if parity == 0 else "odd threads",
        "in_domain": counts["in"], "out_of_domain": counts["out"],
        "answered": counts["answered"] / n_in,
        "first_citation_right": counts["right"] / n_in,
        "first_citation_right_of_answered": counts["right"] / max(counts["answered"], 1),
        "dense_top1": counts["dense_right"] / n_in,
        "declined": counts["declined"] / n_out,
        "answer_ms_p50": statistics.median(answer_ms),
        "search_and_answer_per_s": len(questions) / elapsed,
    }


def run(stackfaq_path: Path, *, settings: AnswerSettings | None = None) -> dict[str, Any]:
    threads = load_threads(stackfaq_path)
    settings = settings or AnswerSettings()
    embedder = Embedder.load(KnowledgeSettings())
    out: dict[str, Any] = {"threads": len(threads), "queries": sum(len(t["queries"]) for t in threads),
                           "min_match": settings.min_match, "splits": []}
    for parity in (0, 1):
        with tempfile.TemporaryDirectory() as tmp:
            out["splits"].append(asyncio.run(_split(threads, parity, Path(tmp), embedder, settings)))
    return out


def report(out: dict[str, Any]) -> str:
    lines = [(f"StackFAQ answer-or-decline: {out['threads']} threads, {out['queries']} questions, "
              f"min_match {out['min_match']}")]
    for s in out["splits"]:
        lines += [
            f"  KB = {s['kb']} ({s['in_domain']} in-domain / {s['out_of_domain']} out-of-domain questions)",
            f"    in-domain answered            {s['answered']:6.1%}   (target >= 95 %)",
            (f"    first citation right          {s['first_citation_right']:6.1%} of all in-domain, "
             f"{s['first_citation_right_of_answered']:.1%} of answered   (dense alone top-1 {s['dense_top1']:.1%})"),
            f"    out-of-domain declined        {s['declined']:6.1%}   (target >= 90 %)",
            (f"    answer() p50 {s['answer_ms_p50']:.2f} ms; search + answer, one at a time: "
             f"{s['search_and_answer_per_s']:.0f} questions/s"),
        ]
    return "\n".join(lines)

