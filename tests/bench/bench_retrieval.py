"""Retrieval benchmark on StackFAQ (and a synthetic exact-token set), run with:

    make bench            (python -m tests.bench [path/to/stackfaq])

Quality: one document per thread (question + answers), every human paraphrase a query; hit@1
and MRR@10 at the document level for dense, BM25, reciprocal-rank fusion and our fusion.
Speed: ingest chunks/s vs raw `model.encode` of the same texts; search latency vs brute-force
numpy cosine; 50 concurrent async searches vs the model's raw batch-encode rate.
Answer-or-decline: a KB from the even threads, paraphrases of all threads, and the share of
in-domain queries above / out-of-domain queries below candidate thresholds.
"""

from __future__ import annotations

import asyncio
import json
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from core.settings import Settings
from core.store.db import make_engine, make_sessionmaker, prepare_database
from knowledge.base import KnowledgeBase
from knowledge.embedding.embedder import Embedder
from knowledge.hits import Hit
from knowledge.search import fusion
from knowledge.settings import KnowledgeSettings

DEPTH = 40


def load_threads(stackfaq_path: Path) -> list[dict[str, Any]]:
    data = json.loads((stackfaq_path / "stackExchange-FAQ.json").read_text(encoding="utf-8"))
    threads: list[dict[str, Any]] = data["root"]["qapair"]
    for thread in threads:
        thread["queries"] = [q.strip() for q in thread["rephr"] if q and q.strip() and q.strip() != "*"]
    return threads


def write_threads(threads: Sequence[dict[str, Any]], directory: Path) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for i, thread in enumerate(threads):
        path = directory / f"thread-{i:03d}.md"
        answers = "\n\n".join(a.strip() for a in thread["answer"] if a.strip())
        path.write_text(f"# {thread['question'].strip()}\n\n{answers}\n", encoding="utf-8")
        paths.append(path)
    return paths


async def open_kb(root: Path, embedder: Embedder | None = None) -> tuple[KnowledgeBase, Any]:
    settings = Settings(data_dir=root / "data")
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    engine = make_engine(settings.resolved_database_url)
    await prepare_database(engine)
    if embedder is None:
        kb = KnowledgeBase.open(settings.knowledge, data_dir=settings.data_dir, sessionmaker=make_sessionmaker(engine))
    else:
        from knowledge.search.index import DenseStore, LocalIndex
        from knowledge.search.spelling import Speller, english_words

        kb = KnowledgeBase(
            embedder=embedder,
            dense=DenseStore.open(chroma_url="", data_dir=settings.data_dir, collection="knowledge"),
            local=LocalIndex(settings.data_dir / "bm25" / "knowledge"),
            sessionmaker=make_sessionmaker(engine),
            max_chars=settings.knowledge.chunk_max_chars,
            speller=Speller(english_words()),
        )
    return kb, engine


def ranks_by_source(items: Sequence[tuple[str, float]]) -> list[str]:
    """Sources in order of their best item (a document may have several chunks)."""
    seen: dict[str, None] = {}
    for source, _ in items:
        seen.setdefault(source, None)
    return list(seen)


def metrics(rankings: Sequence[list[str]], expected: Sequence[str]) -> dict[str, float]:
    hit1 = mrr = 0.0
    for ranking, want in zip(rankings, expected, strict=True):
        top = ranking[:10]
        if top and top[0] == want:
            hit1 += 1
        if want in top:
            mrr += 1 / (top.index(want) + 1)
    n = max(len(expected), 1)
    return {"hit@1": hit1 / n, "mrr@10": mrr / n}


class Candidates:
    """Per query: dense and lexical candidates, fetched once and re-fused with many weights."""

    def __init__(self, kb: KnowledgeBase, queries: Sequence[str], vectors: np.ndarray) -> None:
        self.queries, self.vectors = queries, vectors
        kb.local.refresh()
        self.snapshot = kb.local.snapshot
        self.dense = [kb.dense.query(v, DEPTH) for v in vectors]
        self.lexical = [self.snapshot.search(q, DEPTH) for q in queries]
        ids = {r.chunk_id for lst in self.lexical for r, _ in lst}
        self._vectors = kb.dense.embeddings(sorted(ids))

    def embeddings(self, ids: Sequence[str]) -> dict[str, np.ndarray]:
        return {i: self._vectors[i] for i in ids if i in self._vectors}

    def dense_rankings(self) -> list[list[str]]:
        return [ranks_by_source([(r.source, s) for r, s in lst]) for lst in self.dense]

    def lexical_rankings(self) -> list[list[str]]:
        return [ranks_by_source([(r.source, s) for r, s in lst]) for lst in self.lexical]

    def rrf_rankings(self, k: int = 60) -> list[list[str]]:
        out = []
        for dense, lexical in zip(self.dense, self.lexical, strict=True):
            scores: dict[str, float] = {}
            for lst in (dense, lexical):
                for rank, source in enumerate(ranks_by_source([(r.source, s) for r, s in lst])):
                    scores[source] = scores.get(source, 0.0) + 1 / (k + rank + 1)
            out.append(sorted(scores, key=scores.__getitem__, reverse=True))
        return out

    def fused(self, weights: fusion.FusionWeights) -> list[list[Hit]]:
        snapshot = self.snapshot
        return [
            fusion.rank(
                query_vector=vector,
                dense=dense,
                lexical=lexical,
                tokens=fusion.exact_tokens(query, snapshot.document_frequency, len(snapshot.records), weights=weights),
                embeddings=self.embeddings,
                k=DEPTH,
                weights=weights,
            )
            for query, vector, dense, lexical in zip(self.queries, self.vectors, self.dense, self.lexical, strict=True)
        ]

    def fused_rankings(self, weights: fusion.FusionWeights) -> list[list[str]]:
        return [ranks_by_source([(h.source, h.score) for h in hits]) for hits in self.fused(weights)]


def method_table(
    cands: Candidates, expected: Sequence[str], grid: Sequence[fusion.FusionWeights]
) -> dict[str, dict[str, float]]:
    """hit@1 and MRR@10 of every retrieval method over the same candidates."""
    table = {
        "dense": metrics(cands.dense_rankings(), expected),
        "bm25": metrics(cands.lexical_rankings(), expected),
        "rrf(equal)": metrics(cands.rrf_rankings(), expected),
    }
    for w in grid:
        table[f"fused(lex={w.lexical},exact={w.exact})"] = metrics(cands.fused_rankings(w), expected)
    return table


def exact_token_corpus(directory: Path) -> list[tuple[str, str]]:
    """Error codes, invoice numbers and plan names in near-identical documents: dense alone
    cannot tell BD-4012 from BD-4013. Returns (query, expected source) pairs."""
    directory.mkdir(parents=True, exist_ok=True)
    reasons = [
        "the card issuer declined the charge",
        "the card has expired",
        "the CVC check failed",
        "the billing address does not match",
        "the bank requires 3-D Secure authentication",
        "the currency is not supported for this card",
        "the daily spending limit was reached",
        "the card was reported lost",
        "the payment processor timed out",
        "the account is frozen",
    ]
    pairs: list[tuple[str, str]] = []
    for i, reason in enumerate(reasons):
        code = f"BD-40{12 + i}"
        path = directory / f"error-{code}.md"
        path.write_text(
            f"# Payment error {code}\n\nA payment fails with error {code} when {reason}. "
            "Ask the customer to try another card or contact their bank.\n",
            encoding="utf-8",
        )
        pairs.append((f"What does error {code} mean?", str(path.resolve())))
        pairs.append((f"my payment failed with {code}", str(path.resolve())))
    for i in range(10):
        number = f"INV-2024-{731 + i * 17:05d}"
        path = directory / f"invoice-{number}.md"
        path.write_text(
            f"# Invoice {number}\n\nInvoice {number} was issued to customer account {1000 + i} "
            f"for the annual subscription; it was paid by bank transfer.\n",
            encoding="utf-8",
        )
        pairs.append((f"Was invoice {number} paid?", str(path.resolve())))
    plans = ["Nimbus", "Stratus", "Cirrus", "Cumulus", "Altostratus"]
    for i, plan in enumerate(plans):
        path = directory / f"plan-{plan.lower()}.md"
        path.write_text(
            f"# The {plan} plan\n\nThe {plan} plan includes {5 * (i + 1)} seats, "
            f"{10 * (i + 1)} GB of storage and email support.\n",
            encoding="utf-8",
        )
        pairs.append((f"How many seats does the {plan} plan include?", str(path.resolve())))
    return pairs


def percentile(values: Sequence[float], q: float) -> float:
    return float(np.percentile(np.asarray(values), q))


async def _quality(
    threads: list[dict[str, Any]],
    root: Path,
    embedder: Embedder,
    out: dict[str, Any],
    grid: Sequence[fusion.FusionWeights],
) -> None:
    kb, engine = await open_kb(root / "full", embedder)
    paths = write_threads(threads, root / "full" / "docs")
    started = time.perf_counter()
    summary = await kb.ingest([root / "full" / "docs"], trigger="bench")
    ingest_s = time.perf_counter() - started
    # the same texts, encoded raw in one call
    from knowledge.archive_limits import DEFAULT_MAX_UNPACKED_BYTES
    from knowledge.conversion import convert
    from knowledge.ingest.chunking import embedding_text

    texts = [
        embedding_text(c)
        for p in paths
        for c in convert(
            p.read_bytes(),
            suffix=p.suffix.lower(),
            stem=p.stem,
            max_chars=1200,
            max_unpacked_bytes=DEFAULT_MAX_UNPACKED_BYTES,
        ).chunks
    ]
    started = time.perf_counter()
    embedder.encode(texts)
    raw_s = time.perf_counter() - started
    out["ingest"] = {
        "docs": summary.added,
        "chunks": summary.chunks_embedded,
        "ingest_chunks_per_s": summary.chunks_embedded / ingest_s,
        "raw_encode_chunks_per_s": len(texts) / raw_s,
        "ratio": (summary.chunks_embedded / ingest_s) / (len(texts) / raw_s),
    }
    started = time.perf_counter()
    again = await kb.ingest([root / "full" / "docs"], trigger="bench")
    out["ingest"]["reingest_unchanged_s"] = time.perf_counter() - started
    out["ingest"]["reingest_unchanged"] = again.unchanged

    queries = [q for t in threads for q in t["queries"]]
    expected = [str(paths[i].resolve()) for i, t in enumerate(threads) for _ in t["queries"]]
    vectors = embedder.encode(queries)
    cands = Candidates(kb, queries, vectors)
    out["stackfaq"] = method_table(cands, expected, grid)
    snapshot = kb.local.snapshot
    token_lists = [fusion.exact_tokens(q, snapshot.document_frequency, len(snapshot.records)) for q in queries]
    dense_top = [r[0] if r else "" for r in cands.dense_rankings()]
    fused_top = [r[0] if r else "" for r in cands.fused_rankings(fusion.DEFAULT_WEIGHTS)]
    out["stackfaq_exact_token_queries"] = sum(1 for t in token_lists if t)
    out["stackfaq_top1_changed"] = [
        (q, t, "fixed" if f == e else ("broke" if d == e else "other"))
        for q, t, d, f, e in zip(queries, token_lists, dense_top, fused_top, expected, strict=True)
        if d != f
    ]

    # exact tokens: the synthetic set beside the StackFAQ documents as distractors
    pairs = exact_token_corpus(root / "full" / "exact")
    await kb.ingest([root / "full" / "docs", root / "full" / "exact"], trigger="bench")
    ex_queries = [q for q, _ in pairs]
    ex_cands = Candidates(kb, ex_queries, embedder.encode(ex_queries))
    out["exact_tokens"] = method_table(ex_cands, [s for _, s in pairs], grid)

    # also StackFAQ again with the exact-token docs present (must not hurt)
    cands2 = Candidates(kb, queries, vectors)
    out["stackfaq_with_exact_docs"] = {
        "dense": metrics(cands2.dense_rankings(), expected),
        "fused(default)": metrics(cands2.fused_rankings(fusion.DEFAULT_WEIGHTS), expected),
    }
    await _speed(kb, embedder, queries, out)
    await kb.aclose()
    await engine.dispose()


async def _speed(kb: KnowledgeBase, embedder: Embedder, queries: Sequence[str], out: dict[str, Any]) -> None:
    sample = list(queries[:300])
    vectors = embedder.encode(sample)
    ids: list[str] = []
    for record in kb.dense.records():
        ids.append(record.chunk_id)
    emb = kb.dense.embeddings(ids)
    matrix = np.stack([emb[i] for i in ids])

    def timed(fn: Callable[[int], Any]) -> list[float]:
        times = []
        for i in range(len(sample)):
            t = time.perf_counter()
            fn(i)
            times.append((time.perf_counter() - t) * 1000)
        return times

    rank_ms = timed(lambda i: kb.rank(sample[i], vectors[i], 5))
    brute_ms = timed(lambda i: np.argpartition(-(matrix @ vectors[i]), 5)[:5])
    full_ms = timed(lambda i: kb.search_sync(sample[i], 5))
    encode_ms = timed(lambda i: embedder.encode([sample[i]]))
    out["search_latency_ms"] = {
        "vectors": len(ids),
        "search_sync(p50,p95)": (percentile(full_ms, 50), percentile(full_ms, 95)),
        "encode one query(p50,p95)": (percentile(encode_ms, 50), percentile(encode_ms, 95)),
        "rank given vector(p50,p95)": (percentile(rank_ms, 50), percentile(rank_ms, 95)),
        "brute-force numpy top5(p50,p95)": (percentile(brute_ms, 50), percentile(brute_ms, 95)),
    }
    # concurrency: 50 clients through the micro-batching encoder vs raw batch encode
    load = (list(queries) * 2)[:1000]
    started = time.perf_counter()
    embedder.encode(load, batch_size=64)
    raw_qps = len(load) / (time.perf_counter() - started)
    queue = list(load)
    batches_before = kb.batcher.batches

    async def client() -> None:
        while queue:
            await kb.search(queue.pop(), 5)

    started = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(50)))
    qps = len(load) / (time.perf_counter() - started)
    out["concurrency"] = {
        "clients": 50,
        "searches": len(load),
        "search_qps": qps,
        "raw_encode_qps": raw_qps,
        "ratio": qps / raw_qps,
        "encode_calls": kb.batcher.batches - batches_before,
    }


async def _decline(threads: list[dict[str, Any]], root: Path, embedder: Embedder, out: dict[str, Any]) -> None:
    half = [t for i, t in enumerate(threads) if i % 2 == 0]
    kb, engine = await open_kb(root / "half", embedder)
    write_threads(half, root / "half" / "docs")
    await kb.ingest([root / "half" / "docs"], trigger="bench")
    queries, in_domain = [], []
    for i, t in enumerate(threads):
        for q in t["queries"]:
            queries.append(q)
            in_domain.append(i % 2 == 0)
    flags = np.asarray(in_domain)
    top1, margin, title_cos = [], [], []
    title_vectors: dict[str, np.ndarray] = {}
    vectors = embedder.encode(queries)
    for query, vector in zip(queries, vectors, strict=True):
        hits = kb.rank(query, vector, 10)
        top1.append(hits[0].relevance)
        second = next((h.relevance for h in hits[1:] if h.source != hits[0].source), 0.0)
        margin.append(hits[0].relevance - second)
        title = hits[0].title
        if title not in title_vectors:
            title_vectors[title] = embedder.encode([title])[0]
        title_cos.append(max(hits[0].relevance, float(np.dot(vector, title_vectors[title]))))
    signals = {
        "top1 cosine": np.asarray(top1),
        "max(cos chunk, cos title)": np.asarray(title_cos),
        "top1 - top2 margin": np.asarray(margin),
    }
    table: dict[str, Any] = {}
    for name, values in signals.items():
        rows = []
        lo, hi = (0.0, 0.4) if "margin" in name else (0.3, 0.8)
        for threshold in np.arange(lo, hi + 1e-9, 0.025 if "margin" not in name else 0.02):
            answered = float(np.mean(values[flags] >= threshold))
            declined = float(np.mean(values[~flags] < threshold))
            rows.append((round(float(threshold), 3), answered, declined))
        best = max(rows, key=lambda r: min(r[1], r[2]))
        table[name] = {
            "rows": rows,
            "best_balanced": best,
            "in_mean": float(values[flags].mean()),
            "out_mean": float(values[~flags].mean()),
        }
    out["decline"] = table
    await kb.aclose()
    await engine.dispose()


GRID = [fusion.FusionWeights(lexical=lex, exact=ex) for lex in (0.0, 0.05, 0.1) for ex in (0.0, 0.1, 0.2, 0.3)]


def run(stackfaq_path: Path, *, grid: Sequence[fusion.FusionWeights] = GRID) -> dict[str, Any]:
    threads = load_threads(stackfaq_path)
    embedder = Embedder.load(KnowledgeSettings())
    out: dict[str, Any] = {"threads": len(threads), "queries": sum(len(t["queries"]) for t in threads)}
    with tempfile.TemporaryDirectory() as tmp:
        asyncio.run(_quality(threads, Path(tmp), embedder, out, grid))
        asyncio.run(_decline(threads, Path(tmp), embedder, out))
    return out


def print_report(out: dict[str, Any]) -> None:
    print(f"StackFAQ: {out['threads']} threads, {out['queries']} queries")
    for name in ("stackfaq", "exact_tokens", "stackfaq_with_exact_docs"):
        print(f"\n{name:40s} {'hit@1':>7s} {'mrr@10':>7s}")
        for method, m in out[name].items():
            print(f"  {method:38s} {m['hit@1']:7.3f} {m['mrr@10']:7.3f}")
    print(f"\nStackFAQ queries with exact tokens: {out['stackfaq_exact_token_queries']}; top-1 changed by fusion:")
    for row in out["stackfaq_top1_changed"]:
        print("   ", row)
    print("\ningest:", json.dumps(out["ingest"], indent=None, default=float))
    print("search latency (ms):")
    for key, value in out["search_latency_ms"].items():
        print(f"  {key}: {value if isinstance(value, int) else tuple(round(v, 2) for v in value)}")
    print("concurrency:", {k: round(v, 3) if isinstance(v, float) else v for k, v in out["concurrency"].items()})
    print("\nanswer-or-decline (KB = even threads; in-domain answered >= t, out-of-domain declined < t)")
    for name, info in out["decline"].items():
        print(
            f"  {name}: mean in {info['in_mean']:.3f}, out {info['out_mean']:.3f}; best balanced {info['best_balanced']}"
        )
        for threshold, answered, declined in info["rows"]:
            print(f"    t={threshold:5.3f}  answered in-domain {answered:6.1%}  declined out-of-domain {declined:6.1%}")
