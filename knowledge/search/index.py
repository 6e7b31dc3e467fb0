"""The two indexes behind a knowledge base: chromadb (dense vectors) and bm25s (lexical).

Chroma is the source of truth for chunks: ids, embeddings, display text and metadata. The
BM25 index is derived from it: after a run that changed anything, `LocalIndex.rebuild`
writes a new version under `data_dir/bm25/` and flips a `CURRENT` pointer atomically; every
process checks that pointer's mtime before a search (one `stat`) and reloads when it moved,
so a CLI ingest is seen by a running server without a restart. In memory a version is one
immutable `IndexSnapshot`, swapped whole. Each version records the database's index version it
was built from (`knowledge.search.versions`), which is how hosts with data_dirs of their own follow
each other's ingest runs on a shared Chroma server.

Only this module imports chromadb or bm25s (and `brute_force` faiss).
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import re
import shutil
import threading
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any
from urllib.parse import urlparse

import numpy as np

from knowledge.ingest.chunking import heading_text
from knowledge.search.brute_force import BruteForce, top_rows
from knowledge.search.phrasings import Phrasings

log = logging.getLogger(__name__)

_WORD = re.compile(r"(?u)\b\w\w+\b")


@dataclass(frozen=True, slots=True)
class ChunkRecord:
    """A stored chunk: what a search can return."""

    chunk_id: str
    source: str
    title: str
    section: str
    text: str
    url: str = ""
    """Its document's public address (the citation's link); empty when it has none."""
    language: str = ""
    """Its document's language (ISO 639-1, `knowledge.ingest.languages`); empty when unsaid."""

    @property
    def searchable(self) -> str:
        """Title, section and text: the words a lexical match may hit."""
        return f"{heading_text(self.title, self.section)}\n{self.text}"


def _record(chunk_id: str, document: str | None, meta: Any) -> ChunkRecord:
    meta = meta or {}
    return ChunkRecord(
        chunk_id=chunk_id,
        source=str(meta.get("source", "")),
        title=str(meta.get("title", "")),
        section=str(meta.get("section", "")),
        text=document or "",
        url=str(meta.get("url", "")),
        language=str(meta.get("language", "")),
    )


WRITE_SLICE = 64
"""Chunks per chroma upsert in a serving process. Chroma's Python binding holds the GIL for a
whole insert (its maintainers freed it for reads only), so one call of 2,000 chunks froze
every other thread of a serving process, the event loop included, for 3.0 s (a 1 ms ticker
thread, 6,000-chunk collection); slices of 64 froze it 177 ms at the longest, in the same total
time there. At 50,000 chunks the slices made `supporthub reindex` 13 % slower (each call has its
own overhead), so a process with no loop to keep (the command line) writes chroma's largest
batch at once."""
DELETE_SLICE = 32
"""Sources per chroma delete, for the same reason: 500 chunks deleted at once froze 108 ms."""
READ_PAGE = 1000
"""Chunks per chroma read: chroma reads without the GIL, but turns a page into Python lists
with it; pages of 5,000 with their vectors froze the other threads 120 ms, of 1,000 25 ms."""


class DenseStore:
    """A chromadb collection in cosine space; embeddings are always ours (no embedding function).

    Calls on the collection take a lock, so that `reopen` never closes a client under a call."""

    def __init__(
        self, client: Any, collection_name: str, *, serving: bool = False, reconnect: Callable[[], Any] | None = None
    ) -> None:
        """`serving`: writes go in slices of `WRITE_SLICE` chunks, so that other threads (an
        event loop) get the GIL between them; otherwise in chroma's largest batches.
        `reconnect`: makes a new client on the same store, for `reopen` (None: a Chroma server,
        which serves every client the same index)."""
        self._client = client
        self.collection_name = collection_name
        self._reconnect = reconnect
        self._lock = threading.Lock()
        self._collection = self._open_collection()
        max_batch = int(client.get_max_batch_size())
        self._write_slice = min(WRITE_SLICE, max_batch) if serving else max_batch

    def _open_collection(self) -> Any:
        return self._client.get_or_create_collection(
            self.collection_name, embedding_function=None, configuration={"hnsw": {"space": "cosine"}}
        )

    @classmethod
    def open(cls, *, chroma_url: str, data_dir: Path, collection: str, serving: bool = False) -> DenseStore:
        """Embedded `PersistentClient` under `data_dir/chroma`, or a Chroma server when `chroma_url` is set."""
        import chromadb
        from chromadb.config import Settings as ChromaSettings

        chroma_settings = ChromaSettings(anonymized_telemetry=False)
        if chroma_url:
            url = urlparse(chroma_url)
            client = chromadb.HttpClient(
                host=url.hostname or "localhost",
                port=url.port or (443 if url.scheme == "https" else 8000),
                ssl=url.scheme == "https",
                settings=chroma_settings,
            )
            return cls(client, collection, serving=serving)
        path = data_dir / "chroma"
        path.mkdir(parents=True, exist_ok=True)

        def embedded() -> Any:
            return chromadb.PersistentClient(path=str(path), settings=chroma_settings)

        return cls(embedded(), collection, serving=serving, reconnect=embedded)

    def reopen(self) -> None:
        """See what another process wrote to the embedded store: chroma keeps its HNSW index in
        memory and never reloads it for another process's writes (counts and reads by id do
        see them). Reloads only when no other client in this process holds the same store."""
        if self._reconnect is None:
            return
        with self._lock:
            self._client.close()
            self._client = self._reconnect()
            self._collection = self._open_collection()

    def close(self) -> None:
        """Give back what chroma holds in this process for the store (its engine, caches and
        files, kept in a class-level cache until closed); chroma keeps them while another client
        of the same store is open."""
        with self._lock:
            self._client.close()

    @property
    def embedded(self) -> bool:
        """The store is files under this host's data_dir, not a Chroma server."""
        return self._reconnect is not None

    def count(self) -> int:
        with self._lock:
            return int(self._collection.count())

    def add(self, records: Sequence[ChunkRecord], embeddings: np.ndarray) -> None:
        for start in range(0, len(records), self._write_slice):
            part = records[start : start + self._write_slice]
            with self._lock:
                self._collection.upsert(
                    ids=[r.chunk_id for r in part],
                    embeddings=embeddings[start : start + len(part)],
                    documents=[r.text for r in part],
                    metadatas=[
                        {
                            "source": r.source,
                            "title": r.title,
                            "section": r.section,
                            "url": r.url,
                            "language": r.language,
                        }
                        for r in part
                    ],
                )

    def delete_sources(self, sources: Sequence[str]) -> None:
        for start in range(0, len(sources), DELETE_SLICE):
            with self._lock:
                self._collection.delete(where={"source": {"$in": list(sources[start : start + DELETE_SLICE])}})

    def query(self, vector: np.ndarray, n: int) -> list[tuple[ChunkRecord, float]]:
        """Nearest chunks with their cosine similarity, best first."""
        with self._lock:
            n = min(n, int(self._collection.count()))
            if n <= 0:
                return []
            result = self._collection.query(
                query_embeddings=[vector], n_results=n, include=["documents", "metadatas", "distances"]
            )
        ids, docs = result["ids"][0], (result["documents"] or [[]])[0]
        metas, distances = (result["metadatas"] or [[]])[0], (result["distances"] or [[]])[0]
        return [
            (_record(cid, doc, meta), 1.0 - float(dist))
            for cid, doc, meta, dist in zip(ids, docs, metas, distances, strict=True)
        ]

    def embeddings(self, ids: Sequence[str]) -> dict[str, np.ndarray]:
        if not ids:
            return {}
        with self._lock:
            result = self._collection.get(ids=list(ids), include=["embeddings"])
        vectors = result["embeddings"] if result["embeddings"] is not None else []
        return {cid: np.asarray(vec, dtype=np.float32) for cid, vec in zip(result["ids"], vectors, strict=True)}

    def records(self, *, page: int = READ_PAGE) -> Iterable[ChunkRecord]:
        """Every stored chunk (for rebuilding the local index), in pages."""
        for records, _ in self.pages(page=page, vectors=False):
            yield from records

    def pages(
        self, *, page: int = READ_PAGE, vectors: bool = True
    ) -> Iterable[tuple[list[ChunkRecord], np.ndarray | None]]:
        """Every stored chunk, with its embedding when asked, one page at a time."""
        offset = 0
        include = ["documents", "metadatas", "embeddings"] if vectors else ["documents", "metadatas"]
        while True:
            with self._lock:
                result = self._collection.get(include=include, limit=page, offset=offset)
            ids = result["ids"]
            if not ids:
                return
            records = [
                _record(cid, doc, meta)
                for cid, doc, meta in zip(ids, result["documents"] or [], result["metadatas"] or [], strict=True)
            ]
            embeddings = np.asarray(result["embeddings"], dtype=np.float32) if vectors else None
            yield records, embeddings
            offset += len(ids)


_STOPWORDS: frozenset[str] | None = None


def tokenize(texts: Sequence[str]) -> list[list[str]]:
    """bm25s's own token pattern and English stop words, without its per-call overhead
    (0.8 ms per query, a fifth of a search)."""
    global _STOPWORDS
    if _STOPWORDS is None:
        from bm25s.stopwords import STOPWORDS_EN

        _STOPWORDS = frozenset(STOPWORDS_EN)
    stop = _STOPWORDS
    return [[word for word in _WORD.findall(text.lower()) if word not in stop] for text in texts]


@dataclass(frozen=True, slots=True, eq=False)
class IndexSnapshot:
    """One version of the local index, never changed once built.

    Why one object: a query reads the records, the BM25 index, the vectors and the headings
    several times, in worker threads and on the event loop, while another thread may install
    the next version. `LocalIndex` swaps whole snapshots in one assignment, and a reader takes
    one reference (`LocalIndex.snapshot`) and uses only it, so what it reads always belongs to
    one version: row `i` of `vectors` is the vector of `records[i]`.
    """

    records: tuple[ChunkRecord, ...]
    retriever: Any
    """bm25s's BM25 over `records` (None when there are none)."""
    brute_force: BruteForce | None
    """The dense search over one unit vector per record; None when the corpus is too large for
    brute force."""
    headings: np.ndarray | None
    """Embeddings of each record's heading (read-only), same order (see `heading_text`)."""
    phrasings: Phrasings | None
    """Each record's question lines, embedded (see `knowledge.search.phrasings`); None in a version
    published before they were kept (the index is then rebuilt at start-up)."""
    document_frequency: Mapping[str, int]
    """How many chunks contain each lower-cased word: what makes a query word rare."""
    rows: Mapping[str, int]
    documents: Mapping[str, np.ndarray]
    """Each document's unit mean vector by source (`document_vectors`); empty without vectors."""
    stamp: int | None
    """The mtime of the `CURRENT` pointer this version was published under (None: none)."""
    index_version: str | None
    """The database's index version this was built from (None: unknown, or none yet)."""

    @classmethod
    def build(
        cls,
        records: Sequence[ChunkRecord],
        retriever: Any,
        vectors: np.ndarray | None,
        headings: np.ndarray | None,
        *,
        stamp: int | None,
        index_version: str | None = None,
        document_frequency: Mapping[str, int] | None = None,
        phrasings: Phrasings | None = None,
    ) -> IndexSnapshot:
        """A snapshot owning `vectors` and `headings` (made read-only; dropped when their row
        count does not match `records`). `document_frequency`: `count_documents(records)`,
        when known."""
        frequency = count_documents(records) if document_frequency is None else document_frequency
        vectors = _frozen_rows(vectors, len(records))
        return cls(
            records=tuple(records),
            retriever=retriever,
            brute_force=None if vectors is None else BruteForce(vectors),
            headings=_frozen_rows(headings, len(records)),
            phrasings=phrasings,
            document_frequency=MappingProxyType(dict(frequency)),
            rows=MappingProxyType({record.chunk_id: i for i, record in enumerate(records)}),
            documents=MappingProxyType(document_vectors(records, vectors)),
            stamp=stamp,
            index_version=index_version,
        )

    @property
    def vectors(self) -> np.ndarray | None:
        """One unit vector per record (read-only), row `i` for `records[i]`."""
        return None if self.brute_force is None else self.brute_force.vectors

    @property
    def has_vectors(self) -> bool:
        return self.brute_force is not None

    def search(self, query: str, n: int) -> list[tuple[ChunkRecord, float]]:
        """Top `n` chunks by BM25 score (only those sharing a word with the query)."""
        if self.retriever is None or not self.records:
            return []
        words = [word for word in tokenize([query])[0] if word in self.retriever.vocab_dict]
        if not words:
            return []
        scores = self.retriever.get_scores(words)  # all chunks at once: cheaper than retrieve()
        return [(self.records[i], float(scores[i])) for i in top_rows(scores, n) if scores[i] > 0]

    def search_dense(self, vector: np.ndarray, n: int) -> list[tuple[ChunkRecord, float]]:
        """Brute-force cosine top `n` (vectors are unit length; see `knowledge.search.brute_force`)."""
        return self.search_dense_many(vector[None, :], [n])[0]

    def search_dense_many(self, queries: np.ndarray, depths: Sequence[int]) -> list[list[tuple[ChunkRecord, float]]]:
        """`search_dense` for several query vectors at once."""
        if self.brute_force is None:
            return [[] for _ in depths]
        return [[(self.records[i], score) for i, score in found] for found in self.brute_force.top(queries, depths)]

    def vectors_for(self, ids: Sequence[str]) -> dict[str, np.ndarray]:
        if (vectors := self.vectors) is None:
            return {}
        return {cid: vectors[self.rows[cid]] for cid in ids if cid in self.rows}

    def heading_vector(self, chunk_id: str) -> np.ndarray | None:
        row = self.rows.get(chunk_id)
        return self.headings[row] if self.headings is not None and row is not None else None

    def linked_dense(self, vector: np.ndarray, n: int) -> list[tuple[ChunkRecord, float]]:
        """The `n` chunks whose linked phrasings are most like the query, each scored by the
        best of them (`knowledge.search.phrasings.Phrasings.linked_best`)."""
        if self.phrasings is None:
            return []
        return [(self.records[row], score) for row, score in self.phrasings.linked_best(vector, n)]

    def document_relevance(self, source: str, vector: np.ndarray) -> float | None:
        """The query's cosine with the whole document `source` is in (`document_vectors`)."""
        document = self.documents.get(source)
        return None if document is None else float(np.dot(vector, document))

    def phrasing_relevance(self, chunk_id: str, vector: np.ndarray) -> float | None:
        row = self.rows.get(chunk_id)
        return None if row is None or self.phrasings is None else self.phrasings.relevance(row, vector)

    def heading_vectors_by_text(self) -> dict[str, np.ndarray]:
        """This version's heading embeddings by heading text, to reuse in a rebuild."""
        if self.headings is None:
            return {}
        return {heading_text(r.title, r.section): self.headings[i] for i, r in enumerate(self.records)}


def count_documents(records: Sequence[ChunkRecord]) -> dict[str, int]:
    """How many of `records` contain each lower-cased word (2.9 s of Python at 50,000 chunks,
    so a version stores it: `_FREQUENCY`)."""
    frequency: Counter[str] = Counter()
    for record in records:
        frequency.update({word.lower() for word in _WORD.findall(record.searchable)})
    return dict(frequency)


def document_vectors(records: Sequence[ChunkRecord], vectors: np.ndarray | None) -> dict[str, np.ndarray]:
    """Each document's chunk vectors averaged and made unit length, by source: what the whole
    article is about. "Is there an email for the swimming lessons team?" matches a cancellations
    article's swimming lessons section best chunk for chunk, and the contact article best as a
    whole (`Hit.document_relevance`). A document of one chunk is that chunk's row. Read-only;
    empty when `vectors` is None."""
    if vectors is None:
        return {}
    rows: dict[str, list[int]] = {}
    for row, record in enumerate(records):
        rows.setdefault(record.source, []).append(row)
    out = {}
    for source, picked in rows.items():
        if len(picked) == 1:  # its chunk's own row, a view: no copy for a help centre of one-chunk documents
            out[source] = vectors[picked[0]]
            continue
        mean = vectors[picked].mean(axis=0)
        mean /= max(float(np.linalg.norm(mean)), 1e-12)
        mean.setflags(write=False)
        out[source] = mean
    return out


def _frozen_rows(array: np.ndarray | None, rows: int) -> np.ndarray | None:
    if array is None or len(array) != rows:
        return None
    array = np.ascontiguousarray(array, dtype=np.float32)
    array.setflags(write=False)
    return array


_EMPTY = IndexSnapshot.build((), None, None, None, stamp=None)


class LocalIndex:
    """BM25 and a vector matrix over the same chunks as the dense store, versioned on disk.

    Readers use `snapshot`; `refresh` and `rebuild` replace it whole (see `IndexSnapshot`)."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._pointer = directory / "CURRENT"
        self._lock_file = directory / "LOCK"
        self._lock = threading.Lock()
        """Serialises loading and installing versions (two threads refreshing load once)."""
        self._snapshot = _EMPTY

    @property
    def snapshot(self) -> IndexSnapshot:
        """The current version: take it once and use only it for a whole query."""
        return self._snapshot

    @contextmanager
    def exclusive(self) -> Iterator[None]:
        """Held, across the processes sharing this directory, from deciding to build a version
        until it is published: every process of a host may see the same new database version at
        once, and one building while another publishes would have its half-written version
        deleted. The next one in sees the version already published (`refresh`), and skips."""
        self.directory.mkdir(parents=True, exist_ok=True)
        with self._lock_file.open("a") as handle:  # closing it releases the lock, a crash too
            fcntl.flock(handle, fcntl.LOCK_EX)
            yield

    def stamp_missing(self) -> bool:
        """No version was ever published here (a fresh data_dir, or a copied chroma directory)."""
        return not self._pointer.exists()

    def refresh(self) -> bool:
        """Reload when another process (or this one) published a new version; True if reloaded."""
        try:
            stamp = self._pointer.stat().st_mtime_ns
        except FileNotFoundError:
            return False
        if stamp == self._snapshot.stamp:
            return False
        with self._lock:
            if stamp == self._snapshot.stamp:
                return False
            try:
                name = self._pointer.read_text(encoding="utf-8").strip()
                snapshot = _load(self.directory / name, stamp=stamp)
                if self._pointer.read_text(encoding="utf-8").strip() != name:
                    # published over while loading, so perhaps deleted: a file found missing
                    # would have left this version without its vectors or headings
                    return False
            except (OSError, ValueError) as exc:  # a version deleted under us: next search retries
                log.warning("could not load the lexical index in %s: %s", self.directory, exc)
                return False
            self._snapshot = snapshot
            return True

    def current_version(self) -> Path | None:
        """The folder of the version published here; None before the first."""
        try:
            return self.directory / self._pointer.read_text(encoding="utf-8").strip()
        except FileNotFoundError:
            return None

    def stage(
        self,
        records: Sequence[ChunkRecord],
        vectors: np.ndarray | None,
        headings: np.ndarray,
        phrasings: Phrasings | None = None,
    ) -> Path:
        """A version of `records` written to a folder of its own and not published: a candidate
        to try before it goes live (`knowledge.ingest.ingestor.Gate`). The caller removes it."""
        return self._write(f"{_CANDIDATE}{uuid.uuid4().hex[:12]}", records, vectors, headings, phrasings, None)[0]

    def rebuild(
        self,
        records: Sequence[ChunkRecord],
        vectors: np.ndarray | None,
        headings: np.ndarray,
        phrasings: Phrasings | None = None,
        *,
        index_version: str | None = None,
    ) -> None:
        """Index `records` (with their `vectors`, same order, when the corpus is small enough
        for brute force, their heading embeddings and their phrasings), publish them as the current version,
        and use them here at once. The arrays become the new snapshot's (read-only).
        `index_version`: the database's, read before chroma was. Call it within `exclusive()`
        when other processes may publish here."""
        version, written = self._write(
            f"v-{uuid.uuid4().hex[:12]}", records, vectors, headings, phrasings, index_version
        )
        temporary = self.directory / f"CURRENT.{uuid.uuid4().hex[:8]}"
        temporary.write_text(version.name, encoding="utf-8")
        with self._lock:
            os.replace(temporary, self._pointer)
            stamp = self._pointer.stat().st_mtime_ns
            self._snapshot = IndexSnapshot.build(
                records,
                written.retriever,
                written.vectors,
                written.headings,
                stamp=stamp,
                index_version=index_version,
                document_frequency=written.frequency,
                phrasings=written.phrasings,
            )
        self._remove_old_versions(keep=version.name)

    def _write(
        self,
        name: str,
        records: Sequence[ChunkRecord],
        vectors: np.ndarray | None,
        headings: np.ndarray,
        phrasings: Phrasings | None,
        index_version: str | None,
    ) -> tuple[Path, _Written]:
        """A version's files in the folder `name`: BM25, vectors, headings, phrasings, chunks."""
        import bm25s

        retriever = None
        if vectors is not None:
            vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        self.directory.mkdir(parents=True, exist_ok=True)
        version = self.directory / name
        version.mkdir()
        if records:
            retriever = bm25s.BM25()
            retriever.index(tokenize([r.searchable for r in records]), show_progress=False)
            retriever.save(str(version / "bm25"), show_progress=False)
        if vectors is not None:
            np.save(version / "vectors.npy", vectors)
        headings = np.ascontiguousarray(headings, dtype=np.float32)
        np.save(version / "headings.npy", headings)
        phrasings = (
            phrasings if phrasings is not None else Phrasings.empty(headings.shape[1] if headings.ndim == 2 else 0)
        )
        phrasings.save(version)
        frequency = count_documents(records)
        (version / _FREQUENCY).write_text(json.dumps(frequency, ensure_ascii=False), encoding="utf-8")
        with (version / "chunks.jsonl").open("w", encoding="utf-8") as out:
            for r in records:
                out.write(
                    json.dumps(
                        {
                            "chunk_id": r.chunk_id,
                            "source": r.source,
                            "title": r.title,
                            "section": r.section,
                            "text": r.text,
                            "url": r.url,
                            "language": r.language,
                        },
                        ensure_ascii=False,
                    )
                    + "\n"
                )
        (version / _MANIFEST).write_text(json.dumps({"index_version": index_version}), encoding="utf-8")
        return version, _Written(retriever, vectors, headings, phrasings, frequency)

    def _remove_old_versions(self, *, keep: str) -> None:
        for path in self.directory.glob("v-*"):
            if path.name != keep:
                shutil.rmtree(path, ignore_errors=True)


@dataclass(frozen=True, slots=True)
class _Written:
    """What `LocalIndex._write` built, for the snapshot that publishes it."""

    retriever: Any
    vectors: np.ndarray | None
    headings: np.ndarray
    phrasings: Phrasings
    frequency: dict[str, int]


_CANDIDATE = "candidate-"
"""A staged version's folder starts so: `_remove_old_versions` (`v-*`) leaves it to its caller."""
_MANIFEST = "manifest.json"
"""A version's own facts: the database index version it was built from."""

_FREQUENCY = "document_frequency.json"
"""`count_documents` of a version's records: loading it instead of counting again takes a
new version's load in `serve` from ~3 s of Python to ~0.7 s (50,000 chunks)."""


def _load(version: Path, *, stamp: int) -> IndexSnapshot:
    import bm25s

    rows = [json.loads(line) for line in (version / "chunks.jsonl").read_text(encoding="utf-8").splitlines() if line]
    records = [ChunkRecord(**row) for row in rows]
    retriever = bm25s.BM25.load(str(version / "bm25"), show_progress=False) if records else None
    vectors_path, headings_path = version / "vectors.npy", version / "headings.npy"
    vectors = np.load(vectors_path) if vectors_path.exists() else None
    headings = np.load(headings_path) if headings_path.exists() else None
    manifest_path = version / _MANIFEST
    manifest = json.loads(manifest_path.read_text(encoding="utf-8")) if manifest_path.exists() else {}
    frequency_path = version / _FREQUENCY  # missing in versions published before it was stored
    frequency = json.loads(frequency_path.read_text(encoding="utf-8")) if frequency_path.exists() else None
    return IndexSnapshot.build(
        records,
        retriever,
        vectors,
        headings,
        stamp=stamp,
        index_version=manifest.get("index_version"),
        document_frequency=frequency,
        phrasings=Phrasings.load(version),
    )
