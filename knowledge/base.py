"""The knowledge base facade: the only knowledge object the rest of the app holds."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.settings import Settings
from knowledge import fusion
from knowledge.embedder import Embedder, QueryBatcher
from knowledge.hits import Hit
from knowledge.index import DenseStore, LocalIndex
from knowledge.ingest import Ingestor, IngestSummary

log = logging.getLogger(__name__)

class KnowledgeBase:
    """Search (dense + lexical, fused) and incremental ingest over one collection."""

    def __init__(
        self,
        *,
        embedder: Embedder,
        dense: DenseStore,
        local: LocalIndex,
        sessionmaker: async_sessionmaker[AsyncSession],
        max_chars: int,
        weights: fusion.FusionWeights = fusion.DEFAULT_WEIGHTS,
    ) -> None:
        self.embedder = embedder
        self.dense = dense
        self.local = local
        self.weights = weights
        self.batcher = QueryBatcher(embedder, max_batch=64)
        self.ingestor = Ingestor(embedder=embedder, dense=dense, local=local,
                                 sessionmaker=sessionmaker, max_chars=max_chars)
        self._ready = False

    @classmethod
    def open(cls, settings: Settings, sessionmaker: async_sessionmaker[AsyncSession]) -> KnowledgeBase:
        """Load the model and the indexes (synchronous; seconds, most of it importing torch)."""
        knowledge = settings.knowledge
        embedder = Embedder.load(knowledge)
        dense = DenseStore.open(chroma_url=knowledge.chroma_url, data_dir=settings.data_dir, collection=knowledge.collection)
        local = LocalIndex(settings.data_dir / "bm25" / knowledge.collection)
        kb = cls(embedder=embedder, dense=dense, local=local, sessionmaker=sessionmaker,
                 max_chars=knowledge.chunk_max_chars)
        if (not local.refresh() or local.headings is None) and dense.count():
            # chroma has chunks but no local index (with heading embeddings) was published
            # here (a new host, a copied directory, a shared Chroma server, an index from an
            # older version): derive it now rather than search half-blind.
            kb.ingestor.rebuild_local()
        kb._ready = True
        return kb

    def ready(self) -> bool:
        """The model and the index are loaded (an empty index is ready too)."""
        return self._ready

    @property
    def chunk_count(self) -> int:
        return self.dense.count()

    async def search(self, query: str, k: int = 5) -> list[Hit]:
        """Top `k` hits; concurrent calls share one batched encode. Ranking (a fraction of a
        millisecond) stays on the event loop: handing it to threads costs more in GIL
        contention with the encoder than it saves."""
        if not query.strip():
            return []
        return self._rank(query, await self.batcher.embed_query(query), k)

    def search_sync(self, query: str, k: int = 5) -> list[Hit]:
        if not query.strip():
            return []
        return self._rank(query, self.embedder.encode([query])[0], k)

    def _with_heading_relevance(self, vector: np.ndarray, hits: list[Hit]) -> list[Hit]:
        out = []
        for hit in hits:
            heading_vector = self.local.heading_vector(hit.chunk_id)
            if heading_vector is not None:
                hit = dataclasses.replace(hit, heading_relevance=float(np.dot(vector, heading_vector)))
            out.append(hit)
        return out

    def _rank(self, query: str, vector: np.ndarray, k: int) -> list[Hit]:
        local = self.local
        local.refresh()
        depth = max(4 * k, 30)
        tokens = fusion.exact_tokens(query, local.document_frequency, len(local), weights=self.weights)
        if local.has_vectors:
            dense, embeddings = local.search_dense(vector, depth), local.vectors_for
        else:
            dense, embeddings = self.dense.query(vector, depth), self.dense.embeddings
        hits = fusion.rank(
            query_vector=vector,
            dense=dense,
            lexical=local.search(query, depth),
            tokens=tokens,
            embeddings=embeddings,
            k=k,
            weights=self.weights,
        )
        return self._with_heading_relevance(vector, hits)

    async def ingest(self, paths: Sequence[Path], *, trigger: str, prune: bool = False,
                     progress: bool = False) -> IngestSummary:
        summary = await self.ingestor.run(paths, trigger=trigger, prune=prune, progress=progress)
        log.info("knowledge ingest (%s): %s", trigger, summary.line)
        return summary

    async def aclose(self) -> None:
        await self.batcher.aclose()
        self._ready = False
