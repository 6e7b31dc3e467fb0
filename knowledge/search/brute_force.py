"""Brute-force cosine top-n over the local index's unit vectors: exact scores, found fast.

A query's product with 50,000 × 384 float32 vectors (77 MB) is bound by memory bandwidth:
5.8–6.7 ms on one core of this 2-core machine, most of a big help centre's ranking. So a
lone query takes two passes. The first scans 8-bit codes of the same vectors (faiss's scalar
quantizer: 19 MB, 3.4 ms with its top candidates, and it lets go of the GIL while it scans);
the second scores only those candidates' float32 rows. A hit's score is therefore the
float32 cosine the full product gives, which the answer-or-decline thresholds were
calibrated on; the 8-bit scores only choose the candidates (on the 49,996-chunk benchmark
index they were off by up to 0.0018, enough to swap close hits). On that index the exact top
30 of each of 1,000 StackFAQ questions was among the first pass's top 100 every time (among
its top 50 for all but 12 of them), so `CANDIDATES_PER_ROW` candidates are rescored for each
row asked for (120 for the 30 a search asks), never fewer than `RESCORED`.

A batch of queries is different: one float32 matrix product reads the matrix once for all of
them. Measured on the same index, one core (ms for the batch): 2 queries 19.2 vs 6.7 with
two passes each, 4: 18.1 vs 13.6, 8: 21.5 vs 26.1, 16: 26.7 vs 53.4 — so from `EXACT_BATCH`
queries on, the batch is one exact product.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

CANDIDATES_PER_ROW = 4
RESCORED = 100
"""The fewest first-pass candidates scored exactly, however few rows are asked for."""
EXACT_BATCH = 8


def top_rows(scores: np.ndarray, n: int) -> list[int]:
    """Indices of the `n` highest `scores`, highest first (equal scores: lower index first)."""
    if n >= len(scores):
        return [int(i) for i in np.argsort(-scores, kind="stable")]
    part = np.sort(np.argpartition(-scores, n)[:n])
    return [int(i) for i in part[np.argsort(-scores[part], kind="stable")]]


class BruteForce:
    """Exact cosine top-n over fixed unit vectors (rows of a read-only float32 matrix)."""

    def __init__(self, vectors: np.ndarray) -> None:
        """Keeps `vectors` (not copied) and builds their 8-bit codes (0.1 s for 50,000)."""
        import faiss

        self.vectors = vectors
        self._codes: Any = faiss.IndexScalarQuantizer(
            vectors.shape[1], faiss.ScalarQuantizer.QT_8bit, faiss.METRIC_INNER_PRODUCT
        )
        if len(vectors):
            self._codes.train(vectors)
            self._codes.add(vectors)

    def top(self, queries: np.ndarray, depths: Sequence[int]) -> list[list[tuple[int, float]]]:
        """For each query (a row of `queries`), its `depths[i]` best rows and their cosines."""
        if not len(self.vectors):
            return [[] for _ in depths]
        if len(queries) >= EXACT_BATCH:
            scores = queries @ self.vectors.T
            return [[(i, float(row[i])) for i in top_rows(row, n)] for row, n in zip(scores, depths, strict=True)]
        return [self._rescored(query, n) for query, n in zip(queries, depths, strict=True)]

    def _rescored(self, query: np.ndarray, n: int) -> list[tuple[int, float]]:
        wanted = min(len(self.vectors), max(CANDIDATES_PER_ROW * n, RESCORED))
        _, found = self._codes.search(np.ascontiguousarray(query[None, :], dtype=np.float32), wanted)
        rows = np.sort(found[0][found[0] >= 0])  # in row order, so that equal scores rank as in a batch
        scores = self.vectors[rows] @ query
        return [(int(rows[i]), float(scores[i])) for i in top_rows(scores, n)]
