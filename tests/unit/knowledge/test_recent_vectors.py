"""A question the search encoded is not encoded again for the action matcher: the model runs once
a message for the words both read, and only for what the search did not see; from the event
loop (`aencode`) that rest rides in the search's batch with the other customers' questions."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from knowledge.base import KnowledgeBase
from knowledge.embedding.recent_vectors import RecentVectors


@dataclass
class ModelCalls:
    """The texts of each call the knowledge base made to the model, and the model itself."""

    calls: list[list[str]]
    model: Callable[..., np.ndarray]


@pytest.fixture
async def model_calls(kb: KnowledgeBase, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> ModelCalls:
    """`kb` holding one article about refunds, its model's calls counted from here on."""
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "refunds.md").write_text("# Refunds\n\nRefunds reach your card within 5 days.\n", encoding="utf-8")
    await kb.ingest([docs], trigger="test")
    counted = ModelCalls([], kb.embedder.encode)

    def counting(texts: Sequence[str], *, batch_size: int | None = None) -> np.ndarray:
        counted.calls.append(list(texts))
        return counted.model(texts, batch_size=batch_size)

    monkeypatch.setattr(kb.embedder, "encode", counting)
    return counted


async def test_a_searched_question_is_encoded_once_for_search_and_matching(
    kb: KnowledgeBase, model_calls: ModelCalls
) -> None:
    await kb.search("when will my refund arrive", 5)
    vectors = kb.encode(["when will my refund arrive", "cancel order"])

    assert model_calls.calls == [["when will my refund arrive"], ["cancel order"]]  # each text through the model once
    np.testing.assert_allclose(vectors, model_calls.model(["when will my refund arrive", "cancel order"]), atol=1e-5)


async def test_texts_the_search_did_not_see_are_encoded_in_its_batch(
    kb: KnowledgeBase, model_calls: ModelCalls
) -> None:
    await kb.search("when will my refund arrive", 5)
    model_calls.calls.clear()

    hits, vectors = await asyncio.gather(
        kb.search("how do refunds work", 5),
        kb.aencode(["when will my refund arrive", "order 12 status", "order 12 status"]),
    )

    assert hits and hits[0].source.endswith("refunds.md")
    assert sorted(map(sorted, model_calls.calls)) == [["how do refunds work", "order 12 status"]]  # one call
    np.testing.assert_allclose(
        vectors, model_calls.model(["when will my refund arrive", "order 12 status", "order 12 status"]), atol=1e-5
    )


def test_the_oldest_text_is_forgotten_past_the_capacity() -> None:
    recent = RecentVectors(capacity=2)
    recent.remember(["a", "b", "c"], np.eye(3, dtype=np.float32))
    encoded: list[str] = []

    def model(texts: list[str]) -> np.ndarray:
        encoded.extend(texts)
        return np.ones((len(texts), 3), dtype=np.float32)

    vectors = recent.encode(["c", "a", "b", "a"], model)

    assert encoded == ["a"]  # "a" was forgotten, asked for twice, encoded once
    np.testing.assert_array_equal(vectors, [[0, 0, 1], [1, 1, 1], [0, 1, 0], [1, 1, 1]])
