"""The knowledge base facade: the only knowledge object the rest of the app holds."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import os
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache, partial
from pathlib import Path

import numpy as np
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from knowledge.archive_limits import DEFAULT_MAX_UNPACKED_BYTES
from knowledge.asking import asks
from knowledge.embedding.batching import MicroBatcher
from knowledge.embedding.embedder import Embedder
from knowledge.embedding.prepared import Prepared
from knowledge.embedding.recent_vectors import RecentVectors
from knowledge.hits import Hit, ScoredSentence
from knowledge.ingest.chunking import heading_text
from knowledge.ingest.ingestor import Gate, Ingestor, IngestRequest, IngestSummary
from knowledge.ingest.written import links
from knowledge.passages import units
from knowledge.search import fusion
from knowledge.search.coverage import coverage, query_weights
from knowledge.search.index import ChunkRecord, DenseStore, IndexSnapshot, LocalIndex
from knowledge.search.phrasings import Floor
from knowledge.search.spelling import Speller, english_words
from knowledge.search.versions import FOLLOW_INTERVAL_S, Follower, read_version
from knowledge.settings import BRUTE_FORCE_MAX_CHUNKS, FolderSource, KnowledgeSettings
from knowledge.web.settings import SiteSource

log = logging.getLogger(__name__)

QUERY_SUB_BATCH = 25
"""sentence-transformers sorts one call's texts by length and batches them: small sub-batches
pad less. Measured on StackFAQ questions in groups of 50: 247/s as one batch, 341/s in
sub-batches of 25."""


def _folder(path: Path | FolderSource) -> FolderSource:
    return path if isinstance(path, FolderSource) else FolderSource(path=path)


UNIT_TEXTS = 16384
"""Sentences (`knowledge.passages.units`) whose vectors are kept (24 MB at 384 dimensions): the
chunks a help centre's questions land on come back again and again, so each is encoded once."""


def _depth(k: int) -> int:
    """How many candidates each retriever contributes for `k` hits."""
    return max(4 * k, 30)


def _with_signals(hit: Hit, vector: np.ndarray, snapshot: IndexSnapshot, weights: Mapping[str, float]) -> Hit:
    """The hit with what the decision to answer needs beyond its cosine: the heading's cosine
    and how much of the query the chunk (heading included) holds."""
    heading = heading_text(hit.title, hit.section)
    heading_vector = snapshot.heading_vector(hit.chunk_id)
    return dataclasses.replace(
        hit,
        heading_relevance=None if heading_vector is None else float(np.dot(vector, heading_vector)),
        phrasing_relevance=snapshot.phrasing_relevance(hit.chunk_id, vector),
        document_relevance=snapshot.document_relevance(hit.source, vector),
        coverage=coverage(weights, f"{heading}\n{hit.text}"),
    )


def _sentences_count(hit: Hit) -> bool:
    """Whether the hit's closest sentence counts in its match: in a section of an article, yes.
    An FAQ entry, headed by the question it answers, is matched by its heading, and a whole
    document (a forum thread, an intent's page) by its title: a sentence deep in either matches
    questions it does not answer (StackFAQ held out: 74.0 % of what it does not cover declined
    without its threads' sentences, 72.5 % with them). A whole document's table rows still count
    (`_scored_units`)."""
    return hit.section not in ("", hit.title) and not _asks(hit.section)


@lru_cache(maxsize=4096)
def _asks(heading: str) -> bool:
    """`asks`, kept per heading: the same sections come back search after search."""
    return asks(heading)


def _scored_units(hit: Hit) -> tuple[str, ...]:
    """The units of the hit that count in its match: all of them in a section of an article
    (`_sentences_count`), the table rows alone in a whole document, none in an FAQ entry. A row
    is a fact that stands by itself ("Day: Wednesday; Start: 19:30; End: 20:30; Session: Women-only swim"):
    a whole timetable's chunk matches "when is the ladies only swim" far worse than its row
    does. An FAQ entry is matched by its question, whatever it holds."""
    if _sentences_count(hit):
        return units(hit.text)
    return units(hit.text, tables_only=True) if hit.section in ("", hit.title) else ()


def _to_score(hits: Sequence[Hit]) -> list[str]:
    """The units of the hits that count in their match, each once, as encoded (`_in_section`).
    Only those: a unit not yet seen costs an encode."""
    return list(dict.fromkeys(_in_section(hit, text) for hit in hits for text in _scored_units(hit)))


def _in_section(hit: Hit, sentence: str) -> str:
    """A sentence as it is encoded: after its section's heading, which says what it is about
    ("Import from a CSV file: For any other tool, export a CSV file…" is about importing, though
    alone it reads as an answer to "can I export my data as CSV")."""
    return f"{hit.section}: {sentence}"


def _with_sentences(hits: Sequence[Hit], vector: np.ndarray, vectors: Mapping[str, np.ndarray]) -> list[Hit]:
    """Each hit whose sentences count in its match with them scored against the query
    (`Hit.sentences`, `Hit.sentence_relevance`); the others as they are."""
    out = []
    for hit in hits:
        texts = _scored_units(hit)
        if not texts:
            out.append(hit)
            continue
        scores = (np.stack([vectors[_in_section(hit, text)] for text in texts]) @ vector).tolist()
        scored = tuple(ScoredSentence(text, score) for text, score in zip(texts, scores, strict=True))
        out.append(dataclasses.replace(hit, sentences=scored, sentence_relevance=max(scores)))
    return out


@dataclass(frozen=True, slots=True)
class _Encoded:
    vector: np.ndarray
    snapshot: IndexSnapshot
    """The local index version this query is ranked against, from start to end."""
    dense: list[tuple[ChunkRecord, float]] | None
    """Brute-force dense candidates, when the snapshot holds the vectors."""


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
        max_unpacked_bytes: int = DEFAULT_MAX_UNPACKED_BYTES,
        brute_force_max_chunks: int = BRUTE_FORCE_MAX_CHUNKS,
        max_removed_share: float = 1.0,
        query_workers: int = 1,
        weights: fusion.FusionWeights = fusion.DEFAULT_WEIGHTS,
        follow_interval: float | None = None,
        speller: Speller | None = None,
    ) -> None:
        """`follow_interval`: seconds between checks of the database's index version, for a
        process whose chunks live on a Chroma server other hosts write to (None: don't; within
        one data_dir the `CURRENT` pointer tells processes about a new version). `speller`
        corrects misspelt query words (None: queries are searched as written)."""
        self.embedder = embedder
        self.speller = speller
        self.dense = dense
        self.local = local
        self.weights = weights
        self.recent = RecentVectors()
        self.sentence_vectors = RecentVectors(UNIT_TEXTS)
        self.batcher: MicroBatcher[tuple[str, int | None], _Encoded] = MicroBatcher(
            self._encode_queries, size=lambda item: len(item[0]), max_batch=64, workers=query_workers
        )
        self.prepared: Prepared[tuple[str, int], tuple[str, _Encoded]] = Prepared()
        self.ingestor = Ingestor(
            embedder=embedder,
            dense=dense,
            local=local,
            sessionmaker=sessionmaker,
            max_chars=max_chars,
            max_unpacked_bytes=max_unpacked_bytes,
            brute_force_max_chunks=brute_force_max_chunks,
            max_removed_share=max_removed_share,
        )
        self._follower = Follower(self.catch_up, interval=follow_interval) if follow_interval is not None else None
        self._refreshing = threading.Lock()
        self._reopen_dense = False
        self._ready = False

    @classmethod
    def open(
        cls,
        settings: KnowledgeSettings,
        *,
        data_dir: Path,
        sessionmaker: async_sessionmaker[AsyncSession],
        serving: bool = False,
    ) -> KnowledgeBase:
        """Open the indexes under `data_dir` and the model (synchronous; seconds). `sessionmaker`
        reaches the database holding knowledge's tables.

        `serving`: for a process answering many concurrent queries (the server). The model is
        then loaded now rather than on first use, on ONNX Runtime with one thread per forward
        pass, and `query_workers` threads encode in parallel (see `knowledge.embedding.batching` for the
        measurements), and chroma is written in slices that leave the event loop its turns
        (`knowledge.search.index.WRITE_SLICE`); indexing loads the model when it has something to embed,
        on PyTorch on every core for a big run and on ONNX Runtime for a small one
        (`knowledge.embedding.embedder.SMALL_RUN_TEXTS`), and writes chroma's largest batches. A server on a Chroma server
        (`chroma_url`) also follows the ingest runs of other hosts (`knowledge.search.versions`)."""
        workers = (settings.query_workers or os.cpu_count() or 1) if serving else 1
        embedder = Embedder.load(settings, serving=serving, lazy=not serving)
        dense = DenseStore.open(
            chroma_url=settings.chroma_url, data_dir=data_dir, collection=settings.collection, serving=serving
        )
        local = LocalIndex(data_dir / "bm25" / settings.collection)
        kb = cls(
            embedder=embedder,
            dense=dense,
            local=local,
            sessionmaker=sessionmaker,
            max_chars=settings.chunk_max_chars,
            max_unpacked_bytes=settings.max_unpacked_bytes,
            brute_force_max_chunks=settings.brute_force_max_chunks,
            max_removed_share=settings.max_removed_share,
            query_workers=workers,
            speller=Speller(english_words()),
            follow_interval=FOLLOW_INTERVAL_S if serving and settings.chroma_url else None,
        )
        if not settings.chroma_url and kb._local_index_missing():
            # chroma has chunks but no local index (with heading embeddings) was published
            # here (a copied directory, an index from an older version): derive it now rather
            # than search half-blind. With a Chroma server the caller's `catch_up()` does it,
            # once, as of the database's index version.
            kb.ingestor.rebuild_local()
        kb._ready = True
        return kb

    def ready(self) -> bool:
        """The model and the index are loaded (an empty index is ready too)."""
        return self._ready

    async def chunk_count(self) -> int:
        """Chunks this process searches (readiness, metrics). A Chroma server is asked, in a
        worker thread: a network round trip, and it tells whether the server answers. The
        embedded store is not: its client holds the GIL while it waits for a lock another
        process holds on its files — a re-index child writing, or the command line's — and the
        whole process, event loop included, waited with it (measured: a count that waited 3 s
        for a locked file let another thread run once in those 3 s). Its chunks are the local
        index's, after the same check for a newer version that a search makes: readiness
        shows a `supporthub reindex` as soon as search does."""
        if self._follower is not None:
            self._follower.poke()
        if self.dense.embedded:
            await asyncio.to_thread(self.refresh)
            return len(self.local.snapshot.records)
        return await asyncio.to_thread(self.dense.count)

    async def catch_up(self) -> bool:
        """Rebuild the local index from chroma (in a worker thread) when the database's index
        version differs from the one it was built from: another host changed the shared Chroma
        server, or no local index was published here yet (a new host). True if this process
        rebuilt it; False when it was up to date, or when another process sharing this data_dir
        had already published that version (loaded here then)."""
        version = await read_version(self.ingestor.sessionmaker, self.dense.collection_name)
        if version == self.local.snapshot.index_version:
            return False
        if version is None and not await asyncio.to_thread(self._local_index_missing):
            return False  # no run recorded in this database; the local index is all there is to go on
        async with self.ingestor.sessionmaker() as session:
            linked = await links(session)
        return await asyncio.to_thread(self.ingestor.rebuild_local, version, linked)

    def refresh(self) -> None:
        """Load the local index version another process published, if any (a `supporthub
        reindex`, or the server's re-index child). Past brute force, search asks chroma, and the
        embedded one is then reopened: its HNSW index in memory misses other processes' writes.
        Threads refreshing meanwhile wait until it is, rather than search the old client; a
        reopen that failed is tried again by the next refresh. Synchronous: call it off the
        event loop."""
        with self._refreshing:
            if self.local.refresh() and not self.local.snapshot.has_vectors:
                self._reopen_dense = True
            if self._reopen_dense:
                self.dense.reopen()
                self._reopen_dense = False

    def _local_index_missing(self) -> bool:
        """Chroma holds chunks, but no local index (with heading embeddings and phrasings) was
        published here."""
        local = self.local
        missing = not local.refresh() or local.snapshot.headings is None or local.snapshot.phrasings is None
        return missing and self.dense.count() > 0

    @property
    def paraphrase_floor(self) -> Floor | None:
        """The current version's `knowledge.search.phrasings.Floor`: the cosine an answerable question
        reaches 95 times in 100 on this help centre, when it lists enough question lines."""
        phrasings = self.local.snapshot.phrasings
        return None if phrasings is None else phrasings.floor

    def corrected(self, query: str) -> str:
        """`query` as it is searched: misspelt words replaced by the index's (`knowledge.search.spelling`)."""
        if self.speller is None:
            return query
        return self.speller.correct(query, self.local.snapshot.document_frequency)

    async def search(self, query: str, k: int = 5, *, language: str | None = None) -> list[Hit]:
        """Top `k` hits; passages written in `language` (the customer's) first where the help
        centre has them (`fusion.FusionWeights.language`). Concurrent calls are encoded, and their dense candidates scored, together
        in worker threads (numpy releases the GIL); the rest of the ranking (a fraction of a
        millisecond of Python) stays on the event loop — measured, moving all of it into the
        workers cost a quarter of the throughput in contention for the GIL. Without local
        vectors (a corpus too large for brute force) ranking asks chroma, whose client is
        synchronous: then it runs in a thread."""
        if not query.strip():
            return []
        if self._follower is not None:
            self._follower.poke()
        if (started := self.prepared.take((query, k))) is not None:
            query, encoded = await started
        else:
            query = self.corrected(query)
            encoded = await self.batcher.submit((query, k))
        if not encoded.snapshot.has_vectors:
            hits = await asyncio.to_thread(self._rank, query, encoded, k, language)
        else:
            hits = self._rank(query, encoded, k, language)
        if not (texts := _to_score(hits)):
            return hits
        vectors = await self.sentence_vectors.aencode(texts, self._encode_sentences)
        return _with_sentences(hits, encoded.vector, dict(zip(texts, vectors, strict=True)))

    def prepare(self, query: str, k: int = 5) -> None:
        """Start encoding `query` for a `search(query, k)` to come (`knowledge.embedding.prepared`):
        called from the event loop as a message arrives, the encode runs while the message is
        stored and read."""
        if query.strip():
            self.prepared.start((query, k), self._corrected_and_encoded(query, k))

    async def _corrected_and_encoded(self, query: str, k: int) -> tuple[str, _Encoded]:
        corrected = self.corrected(query)
        return corrected, await self.batcher.submit((corrected, k))

    def search_sync(self, query: str, k: int = 5, *, language: str | None = None) -> list[Hit]:
        if not query.strip():
            return []
        query = self.corrected(query)
        [encoded] = self._encode_queries([(query, k)])
        return self._scored_sync(self._rank(query, encoded, k, language), encoded.vector)

    def rank(self, query: str, vector: np.ndarray, k: int) -> list[Hit]:
        """What `search` returns, for a query encoded beforehand (evaluations and benchmarks
        encode many queries in one call) and so searched as written: no spelling correction.
        Synchronous: call it off the event loop."""
        self.refresh()
        return self._scored_sync(self._rank(query, _Encoded(vector, self.local.snapshot, None), k), vector)

    def _scored_sync(self, hits: list[Hit], vector: np.ndarray) -> list[Hit]:
        """`search`'s sentence scoring, blocking."""
        if not (texts := _to_score(hits)):
            return hits
        vectors = self.sentence_vectors.encode(texts, self._encode_sentences_sync)
        return _with_sentences(hits, vector, dict(zip(texts, vectors, strict=True)))

    async def _encode_sentences(self, texts: list[str]) -> np.ndarray:
        """Sentences not scored lately, encoded in the search's next batch and kept."""
        vectors = await self._in_next_batch(texts)
        self.sentence_vectors.remember(texts, vectors)
        return vectors

    def _encode_sentences_sync(self, texts: list[str]) -> np.ndarray:
        vectors = self.embedder.encode(texts, batch_size=QUERY_SUB_BATCH)
        self.sentence_vectors.remember(texts, vectors)
        return vectors

    def encode(self, texts: Sequence[str], *, batch_size: int | None = None) -> np.ndarray:
        """`texts`' vectors, unit length: those searched lately as the search encoded them, the
        rest by the model (`knowledge.embedding.recent_vectors`). Blocking: call it off the event loop."""
        return self.recent.encode(texts, partial(self.embedder.encode, batch_size=batch_size))

    async def aencode(self, texts: Sequence[str]) -> np.ndarray:
        """`encode` from the event loop: the texts not searched lately are encoded in the
        search's next batch, with the questions other customers ask meanwhile, rather than in
        a call of their own (a forward pass over one text costs nearly what one over 25 does).
        `texts`: at least one."""
        return await self.recent.aencode(texts, self._in_next_batch)

    async def _in_next_batch(self, texts: list[str]) -> np.ndarray:
        return np.stack([found.vector for found in await self.batcher.submit_all([(text, None) for text in texts])])

    def _encode_queries(self, queries: list[tuple[str, int | None]]) -> list[_Encoded]:
        """Encode a batch: a query with its `k` is also given its dense candidates; one with
        None is only encoded (`aencode`)."""
        texts = [query for query, _ in queries]
        vectors = self.embedder.encode(texts, batch_size=QUERY_SUB_BATCH)
        searched = [i for i, (_, k) in enumerate(queries) if k is not None]
        # the questions searched, for the matcher: not a section's sentences, which would push them out
        self.recent.remember([texts[i] for i in searched], vectors[searched])
        self.refresh()
        snapshot = self.local.snapshot
        if not snapshot.has_vectors or not searched:
            return [_Encoded(vector, snapshot, None) for vector in vectors]
        dense = iter(snapshot.search_dense_many(vectors[searched], [_depth(k) for _, k in queries if k is not None]))
        return [
            _Encoded(vector, snapshot, next(dense) if k is not None else None)
            for vector, (_, k) in zip(vectors, queries, strict=True)
        ]

    def _rank(self, query: str, encoded: _Encoded, k: int, language: str | None = None) -> list[Hit]:
        """Fuse dense candidates (given, or found here) with lexical ones into `k` hits, those in
        `language` preferred."""
        snapshot, vector = encoded.snapshot, encoded.vector
        depth = _depth(k)
        tokens = fusion.exact_tokens(query, snapshot.document_frequency, len(snapshot.records), weights=self.weights)
        embeddings: Callable[[Sequence[str]], Mapping[str, np.ndarray]]
        if snapshot.has_vectors:
            dense = encoded.dense if encoded.dense is not None else snapshot.search_dense(vector, depth)
            embeddings = snapshot.vectors_for
        else:  # too many chunks for brute force: ask chroma
            dense, embeddings = self.dense.query(vector, depth), self.dense.embeddings
        hits = fusion.rank(
            query_vector=vector,
            dense=fusion.best_of(dense, snapshot.linked_dense(vector, depth)),
            lexical=snapshot.search(query, depth),
            tokens=tokens,
            embeddings=embeddings,
            k=k,
            weights=self.weights,
            language=language,
        )
        weights = query_weights(query, snapshot.document_frequency, len(snapshot.records))
        return [_with_signals(hit, vector, snapshot, weights) for hit in hits]

    async def ingest(
        self,
        paths: Sequence[Path],
        *,
        trigger: str,
        managed: Sequence[FolderSource] = (),
        progress: bool = False,
    ) -> IngestSummary:
        """Add the files under `paths`, and update those that changed; `trigger` names the run
        in `index_runs` and in the log. A file under one of the `managed` folders (those a
        re-index indexes) is that folder's, named and addressed as a re-index does; any other
        counts as ingested by hand (`knowledge.ingest.origins`): a re-index keeps it."""
        return await self._ingest(
            [_folder(p) for p in paths], trigger=trigger, prune=False, progress=progress, managed=managed
        )

    async def reindex(
        self,
        folders: Sequence[Path | FolderSource],
        *,
        trigger: str,
        sites: Sequence[SiteSource] | None = None,
        crawl: bool = True,
        prune_ingested: bool = False,
        force: bool = False,
        progress: bool = False,
        gate: Gate | None = None,
    ) -> IngestSummary:
        """Make the index mirror `folders` and the website `sites` (crawled when `crawl`): ingest
        them, and drop what `knowledge.ingest.plan.removal` says (files no longer there, pages gone past
        their grace period, the pages of a site not among `sites`; with `prune_ingested`,
        documents ingested by hand). `sites` None: every website page is left as it is.
        Raises FileNotFoundError, removing nothing, when one of `folders` does not exist (an
        unmounted volume must not empty the knowledge base), and `TooManyRemoved` when it would
        remove more than `max_removed_share` of the documents, unless `force`. A `gate` is asked
        before the run's changes go live, and may hold them back (`HeldBack`)."""
        return await self._ingest(
            [_folder(f) for f in folders],
            trigger=trigger,
            sites=sites,
            crawl=crawl,
            prune=True,
            prune_ingested=prune_ingested,
            force=force,
            gate=gate,
            progress=progress,
        )

    async def _ingest(
        self,
        folders: Sequence[FolderSource],
        *,
        trigger: str,
        prune: bool,
        progress: bool,
        sites: Sequence[SiteSource] | None = None,
        crawl: bool = False,
        prune_ingested: bool = False,
        force: bool = False,
        managed: Sequence[FolderSource] = (),
        gate: Gate | None = None,
    ) -> IngestSummary:
        request = IngestRequest(
            folders, managed, sites, crawl=crawl, prune=prune, prune_ingested=prune_ingested, force=force, gate=gate
        )
        summary = await self.ingestor.run(request, trigger=trigger, progress=progress)
        log.info("knowledge ingest (%s): %s", trigger, summary.line)
        return summary

    async def aclose(self) -> None:
        if self._follower is not None:
            await self._follower.aclose()
        await self.batcher.aclose()
        await asyncio.to_thread(self.dense.close)
        self._ready = False
