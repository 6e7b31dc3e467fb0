"""Fit the weights of `core.answering.answer_decision` on the calibration halves, run with:

    python -m tests.bench.calibrate_answers [path/to/stackfaq]

Calibration data only: StackFAQ with the even threads as the knowledge base (every paraphrase
of all threads asked; in-domain ones should be answered, the others declined) and the lines of
config/eval/sample-questions.jsonl not marked `held_out`, over the sample help centre. The
held-out halves (the odd threads, the held-out eval lines) are never read here. A logistic
regression gives the direction of the weights; the bias is then set so that
TARGET_ANSWERED of StackFAQ's in-domain calibration questions are answered, or higher when
the sample set's unanswerable questions need it to keep DECLINED_UNANSWERABLE declined. Prints the
weights to paste into core/answering/answer_decision.py.
"""

from __future__ import annotations

import asyncio
import math
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from core.answering.agent import ask_each
from core.answering.answer_decision import Weights, rank_key, signals
from core.settings import AnswerSettings
from knowledge.base import KnowledgeBase
from knowledge.embedding.embedder import Embedder
from knowledge.evaluation import load_questions
from knowledge.hits import Hit
from knowledge.settings import KnowledgeSettings
from tests.bench.bench_retrieval import load_threads, open_kb, write_threads

TARGET_ANSWERED = 0.955
DECLINED_UNANSWERABLE = 12 / 14
SAMPLE_WEIGHT = 5.0
"""The sample set has few questions but is the product's own help centre: each counts more."""
NAMES = ("match", "coverage", "bm25_agrees", "gap")
ROOT = Path(__file__).resolve().parents[2]


async def _features(kb: KnowledgeBase, questions: Sequence[str], top_k: int) -> list[list[float]]:
    async def search(query: str) -> list[Hit]:
        return kb.search_sync(query, top_k)

    rows = []
    for question in questions:
        asked = await ask_each(question, search)
        hits = asked[0].hits  # calibration questions ask one thing
        if not hits or any(h.exact_match for h in hits):
            rows.append([float("nan")] * len(NAMES))
            continue
        values = signals(max(hits, key=rank_key), hits)
        rows.append([values[name] for name in NAMES])
    return rows


async def _stackfaq(path: Path, root: Path, embedder: Embedder, top_k: int) -> tuple[list[list[float]], list[int]]:
    threads = load_threads(path)
    kb, engine = await open_kb(root, embedder)
    indexed = [i for i in range(len(threads)) if i % 2 == 0]
    write_threads([threads[i] for i in indexed], root / "docs")
    await kb.ingest([root / "docs"], trigger="calibrate")
    questions = [(q, i % 2 == 0) for i, t in enumerate(threads) for q in t["queries"]]
    rows = await _features(kb, [q for q, _ in questions], top_k)
    await kb.aclose()
    await engine.dispose()
    return rows, [int(inside) for _, inside in questions]


async def _sample(root: Path, embedder: Embedder, top_k: int) -> tuple[list[list[float]], list[int]]:
    kb, engine = await open_kb(root, embedder)
    await kb.ingest([ROOT / "config" / "knowledge"], trigger="calibrate")
    questions = [q for q in load_questions(ROOT / "config" / "eval" / "sample-questions.jsonl") if not q.held_out]
    rows = await _features(kb, [q.question for q in questions], top_k)
    await kb.aclose()
    await engine.dispose()
    return rows, [int(q.answerable) for q in questions]


def fit(
    stackfaq: tuple[list[list[float]], list[int]], sample: tuple[list[list[float]], list[int]], min_match: float
) -> tuple[Weights, dict[str, Any]]:
    from sklearn.linear_model import LogisticRegression

    x = np.array(stackfaq[0] + sample[0])
    y = np.array(stackfaq[1] + sample[1])
    weight = np.array([1.0] * len(stackfaq[1]) + [SAMPLE_WEIGHT] * len(sample[1]))
    usable = ~np.isnan(x).any(axis=1)
    model = LogisticRegression(C=10.0, max_iter=1000).fit(x[usable], y[usable], sample_weight=weight[usable])
    coefficients = model.coef_[0]
    sf, sf_y = np.array(stackfaq[0]), np.array(stackfaq[1])
    sm, sm_y = np.array(sample[0]), np.array(sample[1])
    sf_raw, sm_raw = sf @ coefficients, sm @ coefficients
    inside, outside = (sf_y == 1) & ~np.isnan(sf_raw), (sf_y == 0) & ~np.isnan(sf_raw)
    answerable, unanswerable = (sm_y == 1) & ~np.isnan(sm_raw), (sm_y == 0) & ~np.isnan(sm_raw)
    # the boundary that answers TARGET_ANSWERED of StackFAQ's in-domain questions, unless the
    # sample set's unanswerable questions need a higher one to keep DECLINED_UNANSWERABLE
    boundary = float(np.quantile(sf_raw[inside], 1 - TARGET_ANSWERED))
    ranked = np.sort(sm_raw[unanswerable])[::-1]
    allowed = len(ranked) - math.ceil(DECLINED_UNANSWERABLE * len(ranked))
    boundary = max(boundary, float(ranked[allowed]) + 1e-3)
    weights = Weights(
        bias=round(-boundary + float(coefficients[0]) * min_match, 2),
        **{name: round(float(c), 2) for name, c in zip(NAMES, coefficients, strict=True)},
    )
    report = {
        "stackfaq_in_answered": float((sf_raw[inside] >= boundary).mean()),
        "stackfaq_out_declined": float((sf_raw[outside] < boundary).mean()),
        "sample_answerable_answered": float((sm_raw[answerable] >= boundary).mean()),
        "sample_unanswerable_declined": float((sm_raw[unanswerable] < boundary).mean()),
    }
    return weights, report


def main(path: Path) -> None:
    settings = AnswerSettings()
    embedder = Embedder.load(KnowledgeSettings())
    with tempfile.TemporaryDirectory() as one, tempfile.TemporaryDirectory() as two:
        stackfaq = asyncio.run(_stackfaq(path, Path(one), embedder, settings.top_k))
        sample = asyncio.run(_sample(Path(two), embedder, settings.top_k))
    weights, report = fit(stackfaq, sample, settings.min_match)
    print(weights)
    for name, value in report.items():
        print(f"  {name:32} {value:6.1%}")


if __name__ == "__main__":
    from tests.bench.__main__ import DEFAULT_STACKFAQ

    main(Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_STACKFAQ)
