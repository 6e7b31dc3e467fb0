"""How well the knowledge base finds the expected document for each question of an eval file.

An eval file is JSON Lines, one question per line:

    {"question": "how do i reset my pasword", "expected_source": "reset-your-password.md"}
    {"question": "how many seats does Starter have?", "expected_source": "pricing.xlsx", "expected_answer": "25"}
    {"question": "do you sell coffee mugs?", "expected_source": null, "held_out": true}

`expected_source` is matched against a hit's `source` by path suffix (whole path components:
"reset-your-password.md" matches "config/knowledge/reset-your-password.md", "password.md" does
not); null means the knowledge base cannot answer the question and the bot should decline.
`expected_answer` (optional; a string or a list of strings) is text the reply must hold for
the answer to count as right, not only its source; `held_out` (optional, false) marks a line
kept out of calibration, so figures on it are not figures on what was tuned.

Retrieval is measured over the answerable questions: hit@1, hit@k and MRR@k of the expected
document for three rankings side by side: dense only (cosine), BM25 only, and fused (the
product's ranking, `KnowledgeBase.rank`). Rankings are of *documents*: the chunk lists are cut
to each document's first chunk before scoring, since a document often has several chunks.
How the bot answers the same questions is the app's to measure (`core.answering.answer_eval`).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

import numpy as np

from knowledge.base import KnowledgeBase
from knowledge.search.index import ChunkRecord

RETRIEVERS = ("dense", "bm25", "fused")
RETRIEVER_LABELS = {"dense": "dense only", "bm25": "BM25 only", "fused": "fused (product)"}
KEYS = ("question", "expected_source", "expected_answer", "held_out")


class EvalFileError(ValueError):
    """A line of an eval file that cannot be used; `line` is 1-based (None: the whole file)."""

    def __init__(self, line: int | None, reason: str) -> None:
        super().__init__(reason if line is None else f"line {line}: {reason}")
        self.line = line
        self.reason = reason


@dataclass(frozen=True, slots=True)
class EvalQuestion:
    line: int
    question: str
    expected_source: str | None
    """None: the knowledge base cannot answer it, the bot should decline."""
    expected_answer: tuple[str, ...] = ()
    """Texts the reply must hold (case and spacing aside) for the answer to be right."""
    held_out: bool = False
    """Kept out of calibration: figures on these lines are on data nothing was tuned on."""

    @property
    def answerable(self) -> bool:
        return self.expected_source is not None


# ---------------------------------------------------------------------------------------------
# the file


def parse_questions(lines: Iterable[str | bytes]) -> list[EvalQuestion]:
    """Eval questions from JSON Lines; blank lines are skipped. Raises EvalFileError naming the
    first bad line (not UTF-8, not JSON, not an object, missing or mistyped keys, unknown keys)."""
    questions = []
    for number, raw in enumerate(lines, 1):
        if isinstance(raw, bytes):
            try:
                raw = raw.decode("utf-8")
            except UnicodeDecodeError:
                raise EvalFileError(number, "not UTF-8 text") from None
        text = raw.strip().lstrip("\ufeff") if number == 1 else raw.strip()
        if not text:
            continue
        try:
            row = json.loads(text)
        except json.JSONDecodeError as exc:
            raise EvalFileError(number, f"not valid JSON ({exc.msg} at column {exc.colno})") from None
        questions.append(_question(number, row))
    if not questions:
        raise EvalFileError(None, "no questions in the file")
    return questions


def _question(number: int, row: Any) -> EvalQuestion:
    if not isinstance(row, dict):
        raise EvalFileError(number, f"expected a JSON object, got {_json_type(row)}")
    unknown = sorted(set(row) - set(KEYS))
    if unknown:
        allowed = ", ".join(repr(key) for key in KEYS)
        raise EvalFileError(number, f"unknown key {unknown[0]!r} (allowed: {allowed})")
    if "question" not in row:
        raise EvalFileError(number, "missing 'question'")
    question = row["question"]
    if not isinstance(question, str):
        raise EvalFileError(number, f"'question' must be a string, got {_json_type(question)}")
    if not question.strip():
        raise EvalFileError(number, "'question' is empty")
    if "expected_source" not in row:
        raise EvalFileError(number, "missing 'expected_source' (a file name, or null when the bot should decline)")
    expected = row["expected_source"]
    if expected is not None and not isinstance(expected, str):
        raise EvalFileError(number, f"'expected_source' must be a string or null, got {_json_type(expected)}")
    if expected is not None and not expected.strip():
        raise EvalFileError(number, "'expected_source' is empty (use null when the bot should decline)")
    answer = _expected_answer(number, row.get("expected_answer"), answerable=expected is not None)
    held_out = row.get("held_out", False)
    if not isinstance(held_out, bool):
        raise EvalFileError(number, f"'held_out' must be true or false, got {_json_type(held_out)}")
    return EvalQuestion(number, question.strip(), expected.strip() if expected is not None else None, answer, held_out)


def _expected_answer(number: int, value: Any, *, answerable: bool) -> tuple[str, ...]:
    if value is None:
        return ()
    texts = [value] if isinstance(value, str) else value
    if not isinstance(texts, list) or not all(isinstance(text, str) for text in texts):
        raise EvalFileError(number, f"'expected_answer' must be a string or a list of strings, got {_json_type(value)}")
    if not texts or not all(text.strip() for text in texts):
        raise EvalFileError(number, "'expected_answer' is empty")
    if not answerable:
        raise EvalFileError(number, "'expected_answer' needs an 'expected_source' (the bot should decline this one)")
    return tuple(text.strip() for text in texts)


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return "a string"


def load_questions(path: Path) -> list[EvalQuestion]:
    with path.open("rb") as lines:
        return parse_questions(lines)


# ---------------------------------------------------------------------------------------------
# scoring


def _parts(path: str) -> tuple[str, ...]:
    return tuple(part for part in PurePosixPath(path.replace("\\", "/")).parts if part not in ("", "."))


def source_matches(expected: str, source: str) -> bool:
    """`expected` is `source` or a tail of its path, by whole components."""
    want, have = _parts(expected), _parts(source)
    return bool(want) and len(want) <= len(have) and have[len(have) - len(want) :] == want


def documents(sources: Iterable[str], k: int) -> list[str]:
    """The first `k` distinct sources, in ranked order (a document's best chunk stands for it)."""
    out: list[str] = []
    for source in sources:
        if source not in out:
            out.append(source)
            if len(out) == k:
                break
    return out


def rank_of(expected: str, ranked: Sequence[str]) -> int | None:
    """1-based rank of the first document matching `expected`, None when absent."""
    return next((rank for rank, source in enumerate(ranked, 1) if source_matches(expected, source)), None)


@dataclass(frozen=True, slots=True)
class RetrievalScores:
    hit_at_1: float
    hit_at_k: float
    mrr_at_k: float


def retrieval_scores(ranks: Sequence[int | None], k: int) -> RetrievalScores | None:
    """hit@1, hit@k and MRR@k of ranks (None = not in the top k); None for no questions."""
    if not ranks:
        return None
    n = len(ranks)
    within = [r for r in ranks if r is not None and r <= k]
    return RetrievalScores(
        hit_at_1=sum(1 for r in within if r == 1) / n,
        hit_at_k=len(within) / n,
        mrr_at_k=sum(1 / r for r in within) / n,
    )


# ---------------------------------------------------------------------------------------------
# running it


def chunk_depth(k: int) -> int:
    """How many chunks to rank so that de-duplication still leaves `k` documents."""
    return max(10 * k, 50)


def dense_ranking(kb: KnowledgeBase, vector: np.ndarray, n: int) -> list[ChunkRecord]:
    """Chunks by cosine alone, best first (brute force when the local index holds the vectors,
    as in the product; otherwise the dense store)."""
    kb.local.refresh()
    snapshot = kb.local.snapshot
    pairs = snapshot.search_dense(vector, n) if snapshot.has_vectors else kb.dense.query(vector, n)
    return [record for record, _ in pairs]


def bm25_ranking(kb: KnowledgeBase, question: str, n: int) -> list[ChunkRecord]:
    """Chunks by BM25 alone, best first (only chunks sharing a word with the question)."""
    kb.local.refresh()
    return [record for record, _ in kb.local.snapshot.search(question, n)]


def fused_sources(kb: KnowledgeBase, question: str, vector: np.ndarray, n: int) -> list[str]:
    """Sources of the product's ranking (dense + exact-token boost, BM25 as candidates)."""
    return [hit.source for hit in kb.rank(question, vector, n)]


def rankings(kb: KnowledgeBase, question: str, vector: np.ndarray, k: int) -> dict[str, list[str]]:
    """The top `k` documents of each retriever for one question."""
    n = chunk_depth(k)
    return {
        "dense": documents((r.source for r in dense_ranking(kb, vector, n)), k),
        "bm25": documents((r.source for r in bm25_ranking(kb, question, n)), k),
        "fused": documents(fused_sources(kb, question, vector, n), k),
    }


def unknown_sources(kb: KnowledgeBase, questions: Sequence[EvalQuestion]) -> list[EvalQuestion]:
    """Answerable questions whose expected_source matches no indexed document (a typo, or a
    file that was never ingested): scoring them would only count misses."""
    kb.local.refresh()
    indexed = {record.source for record in kb.local.snapshot.records}
    return [
        q
        for q in questions
        if q.expected_source is not None and not any(source_matches(q.expected_source, s) for s in indexed)
    ]


def retrieval_ranks(kb: KnowledgeBase, questions: Sequence[EvalQuestion], k: int) -> list[dict[str, int | None]]:
    """Per question, the expected document's rank within the top `k` of each retriever (None:
    not among them); empty for an unanswerable question. Synchronous: seconds of encoding."""
    vectors = kb.embedder.encode([q.question for q in questions])
    ranks: list[dict[str, int | None]] = []
    for question, vector in zip(questions, vectors, strict=True):
        if question.expected_source is None:
            ranks.append({})
            continue
        ranked = rankings(kb, question.question, vector, k)
        ranks.append({name: rank_of(question.expected_source, ranked[name]) for name in RETRIEVERS})
    return ranks
