"""The vectors of the questions searched lately, for whatever else reads the same words.

A message is searched (its question encoded in the search's batch) and then matched against the
operator's actions' example phrasings, which encoded the same text again, one message at a
time outside the batch: the second encode cost as much as the first, on every message. The
matcher now asks for its texts here and the model runs only for those not searched lately
(a sentence with an order number masked, a question the search corrected).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Sequence

import numpy as np

RECENT_TEXTS = 2048
"""Texts kept (1.5 MB of vectors at 384 dimensions): far more than a busy process searches
between a message's search and its action match."""


class RecentVectors:
    """A bounded, thread-safe map from a text to the vector the model gave it."""

    def __init__(self, capacity: int = RECENT_TEXTS) -> None:
        self._capacity = capacity
        self._vectors: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    def remember(self, texts: Sequence[str], vectors: np.ndarray) -> None:
        with self._lock:
            for text, vector in zip(texts, vectors, strict=True):
                self._vectors[text] = vector
                self._vectors.move_to_end(text)
            while len(self._vectors) > self._capacity:
                self._vectors.popitem(last=False)

    def encode(self, texts: Sequence[str], encode: Callable[[list[str]], np.ndarray]) -> np.ndarray:
        """`texts`' vectors, one row each: the remembered ones as they are, the rest from
        `encode` in one call."""
        known, missing = self._split(texts)
        if missing:
            known |= dict(zip(missing, encode(missing), strict=True))
        return np.stack([known[text] for text in texts]) if texts else encode([])

    async def aencode(self, texts: Sequence[str], encode: Callable[[list[str]], Awaitable[np.ndarray]]) -> np.ndarray:
        """`encode` with an async model call (`KnowledgeBase.aencode`); `texts` not empty."""
        known, missing = self._split(texts)
        if missing:
            known |= dict(zip(missing, await encode(missing), strict=True))
        return np.stack([known[text] for text in texts])

    def _split(self, texts: Sequence[str]) -> tuple[dict[str, np.ndarray], list[str]]:
        """The remembered vectors among `texts`, and the rest, each once, in order."""
        with self._lock:
            known = {text: self._vectors[text] for text in texts if text in self._vectors}
        return known, list(dict.fromkeys(text for text in texts if text not in known))
