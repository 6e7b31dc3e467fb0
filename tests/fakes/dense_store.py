"""A real chroma-backed `DenseStore` that refuses to be called on an event loop's thread.

Chroma's client is synchronous, and with a Chroma server every call is a network round trip:
one on the event loop stalls every conversation the process serves. Code under test must
call it from a worker thread; here it fails loudly when it does not.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import numpy as np

from knowledge.search.index import ChunkRecord, DenseStore


def _refuse_on_the_loop(call: str) -> None:
    try:
        asyncio.get_running_loop()
    except RuntimeError:  # no loop runs in this thread: a worker thread
        return
    raise AssertionError(f"DenseStore.{call}() was called on the event loop's thread")


class LoopGuardedDenseStore(DenseStore):
    def count(self) -> int:
        _refuse_on_the_loop("count")
        return super().count()

    def query(self, vector: np.ndarray, n: int) -> list[tuple[ChunkRecord, float]]:
        _refuse_on_the_loop("query")
        return super().query(vector, n)

    def embeddings(self, ids: Sequence[str]) -> dict[str, np.ndarray]:
        _refuse_on_the_loop("embeddings")
        return super().embeddings(ids)
