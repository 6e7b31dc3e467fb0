"""A hit's document counts in its rank: a question that names a topic in passing is answered
from the article it is about, not from the one chunk of another article about that topic
(`Hit.document_relevance`, `core.answering.answer_decision.answer_key`)."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from core.answering.answer_decision import decide
from knowledge.base import KnowledgeBase
from knowledge.search.index import ChunkRecord, IndexSnapshot

LEISURE_CENTRE = (
    Path(__file__).resolve().parents[2] / "bench" / "datasets" / "dev-centres" / "leisure-centre" / "knowledge"
)
"""A development help centre of seven articles in seven formats (tests/bench/datasets/PROVENANCE.md)."""


def record(source: str, index: int) -> ChunkRecord:
    return ChunkRecord(chunk_id=f"{source}-{index}", source=source, title=source, section=f"part {index}", text="…")


def test_a_documents_vector_is_the_unit_mean_of_its_chunks() -> None:
    vectors = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.0, 1.0, 0.0]], dtype=np.float32)
    records = [record("a.md", 0), record("b.md", 0), record("a.md", 1)]  # a document's chunks need not be together
    snapshot = IndexSnapshot.build(records, None, vectors, None, stamp=None)

    half = float(np.sqrt(0.5))
    np.testing.assert_allclose(snapshot.documents["a.md"], [half, half, 0.0], rtol=1e-6)
    np.testing.assert_allclose(snapshot.documents["b.md"], [0.0, 0.0, 1.0])
    assert snapshot.vectors is not None and np.shares_memory(snapshot.documents["b.md"], snapshot.vectors)
    assert not snapshot.documents["a.md"].flags.writeable
    assert snapshot.document_relevance("a.md", np.array([1.0, 0.0, 0.0], dtype=np.float32)) == pytest.approx(half)
    assert snapshot.document_relevance("gone.md", vectors[0]) is None


def test_without_vectors_no_document_counts() -> None:
    snapshot = IndexSnapshot.build([record("a.md", 0)], None, None, None, stamp=None)
    assert snapshot.document_relevance("a.md", np.ones(3, dtype=np.float32)) is None


async def test_a_question_is_answered_from_the_article_it_is_about(kb: KnowledgeBase) -> None:
    """ "swimming lessons" is named in passing: the question asks for an address. The swimming
    lessons section of the cancellations article matches it best chunk for chunk; the contact
    article matches it best as a whole."""
    await kb.ingest([LEISURE_CENTRE], trigger="test")

    hits = await kb.search("Is there an email for the swimming lessons team?", 5)

    decision = decide(hits, min_match=0.55)
    best = decision.best
    assert decision.answer
    assert best is not None and (Path(best.source).name, best.section) == ("opening-hours-and-contact.md", "Contact us")
    assert re.search(
        r"; best \S*opening-hours-and-contact\.md › Contact us "
        r"\(judged on \S*cancellations-refunds-and-freezing\.pdf › Swimming lessons\)$",
        decision.explain(),
    )
    lessons = next(hit for hit in hits if hit.section == "Swimming lessons")
    assert lessons.relevance > best.relevance
    assert best.document_relevance is not None and lessons.document_relevance is not None
    assert best.document_relevance > lessons.document_relevance
