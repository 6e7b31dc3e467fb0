from __future__ import annotations

import numpy as np
import pytest

from knowledge.search.brute_force import EXACT_BATCH, BruteForce


def unit_rows(array: np.ndarray) -> np.ndarray:
    rows: np.ndarray = (array / np.linalg.norm(array, axis=1, keepdims=True)).astype(np.float32)
    return rows


@pytest.fixture(scope="module")
def help_centre_like() -> tuple[np.ndarray, np.ndarray]:
    """30,000 vectors in 300 tight topics (many near-equal cosines, as in a real help
    centre) and 60 queries, each a paraphrase-like perturbation of one vector."""
    rng = np.random.default_rng(16)
    topics = unit_rows(rng.standard_normal((300, 384)))
    vectors = unit_rows(np.repeat(topics, 100, axis=0) + 0.35 * rng.standard_normal((30_000, 384)))
    queries = unit_rows(vectors[rng.choice(30_000, 60, replace=False)] + 0.6 * rng.standard_normal((60, 384)))
    return vectors, queries


def exact_top(vectors: np.ndarray, query: np.ndarray, n: int) -> list[int]:
    scores = vectors.astype(np.float64) @ query.astype(np.float64)
    return [int(i) for i in np.argsort(-scores)[:n]]


def test_a_lone_query_gets_the_exact_top_rows_and_cosines(help_centre_like: tuple[np.ndarray, np.ndarray]) -> None:
    """The first pass over 8-bit codes only picks candidates: what comes back is the exact
    float32 ranking and cosine a full product gives (with only as many candidates as rows
    asked for, 35 of these 60 queries come back in another order)."""
    vectors, queries = help_centre_like
    search = BruteForce(vectors)
    for query in queries:
        [found] = search.top(query[None, :], [30])
        assert [row for row, _ in found] == exact_top(vectors, query, 30)
        np.testing.assert_allclose([score for _, score in found], vectors[[row for row, _ in found]] @ query, atol=1e-6)


def test_a_batch_gets_the_same_rows_as_its_queries_one_by_one(help_centre_like: tuple[np.ndarray, np.ndarray]) -> None:
    vectors, queries = help_centre_like
    search = BruteForce(vectors)
    depths = [5, 30] * EXACT_BATCH
    batch = search.top(queries[: len(depths)], depths)
    alone = [search.top(query[None, :], [n])[0] for query, n in zip(queries, depths, strict=False)]
    assert [[row for row, _ in found] for found in batch] == [[row for row, _ in found] for found in alone]


def test_asking_for_more_rows_than_there_are_returns_them_all_best_first() -> None:
    vectors = unit_rows(np.random.default_rng(3).standard_normal((7, 16)))
    found = BruteForce(vectors).top(vectors[2:3], [50])[0]
    assert found[0][0] == 2 and sorted(row for row, _ in found) == list(range(7))
    assert [score for _, score in found] == sorted((score for _, score in found), reverse=True)
    assert BruteForce(np.zeros((0, 16), dtype=np.float32)).top(vectors[:1], [5]) == [[]]


def test_equal_cosines_rank_in_row_order_alone_or_in_a_batch() -> None:
    """The same text in several files embeds to the same vector: which copy comes first must
    not depend on how many queries were searched together."""
    rng = np.random.default_rng(5)
    vectors = unit_rows(np.vstack([np.repeat(rng.standard_normal((1, 32)), 5, axis=0), rng.standard_normal((200, 32))]))
    search = BruteForce(vectors)
    [alone] = search.top(vectors[:1], [3])
    batch = search.top(np.repeat(vectors[:1], EXACT_BATCH, axis=0), [3] * EXACT_BATCH)
    assert [row for row, _ in alone] == [row for row, _ in batch[0]] == [0, 1, 2]
