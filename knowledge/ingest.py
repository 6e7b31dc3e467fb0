"""Turning files into indexed chunks, incrementally.

Why a content hash: a scheduled re-index walks every file of the help centre, and most of them
have not changed. Reading and hashing a file costs microseconds; converting a PDF and embedding
its chunks costs seconds. So a file whose sha256 (of `CONVERSION` and its bytes) equals
`knowledge_documents.content_hash` is neither converted nor embedded. Chroma is written before the table: if a run dies in between,
the next run sees the old hash and does the work again, and a chunk count that disagrees with
the table (a deleted chroma directory) makes every file count as changed. A run that changed
chroma gives the index a new version in the same transaction as the table
(`knowledge.versions`): other hosts sharing the Chroma server then rebuild their local index.

Conversion never crashes a run: an unreadable or unsupported file is logged with its path and
skipped (and its old chunks, if any, are kept); the run's row in `index_runs` keeps each skipped
file with the reason, for the dashboard.

Every run also brings in what people wrote (`knowledge.written`), whatever paths it is given:
written documents are planned like files (a content hash of their text), removed once their row
is gone, and never pruned as a missing file; the phrasings linked to a section join its own
when the local index is built. A run that changes no chunk still rebuilds the local index when
the database's index version moved (a phrasing linked since).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from tqdm import tqdm

from knowledge.chunking import (
    Chunk,
    chunk_markdown,
    embedding_text,
    heading_text,
    humanize_stem,
)
from knowledge.conversion import CONVERSION, SUPPORTED_FORMATS, convert
from knowledge.embedder import Embedder
from knowledge.index import ChunkRecord, DenseStore, LocalIndex
from knowledge.phrasings import Phrasings, phrasings
from knowledge.sql_types import utcnow
from knowledge.tables import IndexRun, KnowledgeDocument, SkippedFile
from knowledge.versions import bump_version, read_version
from knowledge.written import Link, Written, links, written_documents

log = logging.getLogger(__name__)

_ENCODE_SLICE = 1024  # texts per encode call: big enough to batch well, small enough for a progress bar


@dataclass(frozen=True, slots=True)
class IngestSummary:
    trigger: str
    added: int
    changed: int
    removed: int
    unchanged: int
    chunks_embedded: int
    seconds: float
    run_id: int | None = None
    skipped_files: tuple[SkippedFile, ...] = ()
    """Files that could not be read or converted, or named but unsupported or missing, with
    the reason (each also logged with its path)."""

    @property
    def skipped(self) -> int:
        return len(self.skipped_files)

    @property
    def skipped_paths(self) -> tuple[str, ...]:
        return tuple(skipped.source for skipped in self.skipped_files)

    @property
    def line(self) -> str:
        text = (
            f"added {self.added}, changed {self.changed}, removed {self.removed}, "
            f"unchanged {self.unchanged} in {self.seconds:.1f} s"
        )
        return f"{text} ({self.skipped} skipped)" if self.skipped else text


@dataclass(slots=True)
class _Document:
    source: str
    content_hash: str
    title: str
    chunks: list[Chunk]
    is_new: bool
    written: bool = False


@dataclass(slots=True)
class _Plan:
    documents: list[_Document] = field(default_factory=list)
    unchanged: int = 0
    skipped: list[SkippedFile] = field(default_factory=list)
    seen: set[str] = field(default_factory=set)


_REASON_CHARS = 500


def _reason(prefix: str, exc: Exception) -> str:
    """Why a file was skipped, without its server path (an OSError's text repeats it)."""
    detail = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
    return f"{prefix}: {type(exc).__name__}: {detail}"[:_REASON_CHARS]


def discover(paths: Sequence[Path]) -> tuple[list[Path], list[SkippedFile]]:
    """Supported files under `paths` (recursively, sorted, hidden files ignored), and the
    paths named directly that are missing or of an unsupported format. Unsupported files found
    in a folder (images beside the articles) are expected: logged at debug level only."""
    found: dict[Path, None] = {}
    skipped: list[SkippedFile] = []
    for root in paths:
        if root.is_dir():
            for path in sorted(root.rglob("*")):
                relative = path.relative_to(root).parts
                if path.is_file() and not any(part.startswith(".") for part in relative):
                    if path.suffix.lower() in SUPPORTED_FORMATS:
                        found[path.resolve()] = None
                    else:
                        log.debug("not a supported format, skipped: %s", path)
        elif root.is_file():
            if root.suffix.lower() in SUPPORTED_FORMATS:
                found[root.resolve()] = None
            else:
                supported = ", ".join(sorted(SUPPORTED_FORMATS))
                log.warning("not a supported format (%s), skipped: %s", supported, root)
                skipped.append(SkippedFile(source_name(root.resolve(), paths), f"not a supported format ({supported})"))
        else:
            log.warning("no such file or directory, skipped: %s", root)
            skipped.append(SkippedFile(source_name(root.resolve(), paths), "no such file or directory"))
    return list(found), skipped


def source_name(path: Path, roots: Sequence[Path]) -> str:
    """A document's name in the index and in citations, never a server path: relative to the
    working directory when it lies under it, else to the parent of the knowledge path that
    holds it (`/srv/help/billing.md` under the knowledge path `/srv/help` is `help/billing.md`)."""
    if path.is_relative_to(Path.cwd()):
        return str(path.relative_to(Path.cwd()))
    for root in (r.resolve() for r in roots):
        if path.is_relative_to(root):
            return str(path.relative_to(root.parent))
    return path.name


def chunk_ids(source: str, content_hash: str, count: int) -> list[str]:
    key = hashlib.sha1(source.encode("utf-8")).hexdigest()[:16]
    return [f"{key}-{content_hash[:8]}-{i}" for i in range(count)]


STOPPED = "stopped before it finished"
"""The error of a run cancelled (its process stopping); the next run redoes its work."""


class Ingestor:
    """One ingest run at a time over a dense store, a local index and the documents table."""

    def __init__(
        self,
        *,
        embedder: Embedder,
        dense: DenseStore,
        local: LocalIndex,
        sessionmaker: async_sessionmaker[AsyncSession],
        max_chars: int,
        max_unpacked_bytes: int,
        brute_force_max_chunks: int,
    ) -> None:
        self.embedder = embedder
        self.dense = dense
        self.local = local
        self.sessionmaker = sessionmaker
        self.max_chars = max_chars
        self.max_unpacked_bytes = max_unpacked_bytes
        self.brute_force_max_chunks = brute_force_max_chunks
        self._lock = asyncio.Lock()

    async def run(
        self, paths: Sequence[Path], *, trigger: str, prune: bool = False, progress: bool = False
    ) -> IngestSummary:
        """Bring the index in line with `paths`; with `prune`, drop documents no longer among them."""
        async with self._lock:
            show = progress and sys.stderr.isatty()
            started = time.perf_counter()
            run_id = await self._start_run(trigger)
            try:
                summary = await self._run(
                    paths, trigger=trigger, prune=prune, show=show, started=started, run_id=run_id
                )
            except asyncio.CancelledError:
                await self._finish_run(run_id, error=STOPPED, seconds=time.perf_counter() - started)
                raise
            except Exception as exc:
                await self._finish_run(
                    run_id, error=f"{type(exc).__name__}: {exc}", seconds=time.perf_counter() - started
                )
                raise
            await self._finish_run(run_id, summary=summary)
            return summary

    async def _run(
        self, paths: Sequence[Path], *, trigger: str, prune: bool, show: bool, started: float, run_id: int
    ) -> IngestSummary:
        async with self.sessionmaker() as session:
            rows = (
                await session.execute(
                    select(
                        KnowledgeDocument.source,
                        KnowledgeDocument.content_hash,
                        KnowledgeDocument.chunk_count,
                        KnowledgeDocument.written,
                    )
                )
            ).all()
            written = await written_documents(session)
        known = {source: content_hash for source, content_hash, _, _ in rows}
        known_written = {source for source, _, _, is_written in rows if is_written}
        consistent = await asyncio.to_thread(self.dense.count) == sum(count for _, _, count, _ in rows)
        if not consistent:
            log.warning("the vector store disagrees with the documents table: re-indexing every file")
        missing = [str(path) for path in paths if not path.exists()]
        if prune and missing:
            # a re-index from the wrong directory, or an unmounted volume, must not empty the
            # knowledge base: refuse, and let the run be recorded as failed
            raise FileNotFoundError(f"knowledge path not found, nothing removed: {', '.join(missing)}")
        files, unfound = await asyncio.to_thread(discover, paths)
        plan = await asyncio.to_thread(self._plan, files, paths, known if consistent else {}, set(known), show)
        self._plan_written(plan, written, known if consistent else {}, set(known))
        withdrawn = known_written - {doc.source for doc in written}
        removed = sorted((set(known) - plan.seen) if prune else withdrawn)
        records, vectors = await asyncio.to_thread(self._embed, plan.documents, show)
        stale = [d.source for d in plan.documents if not d.is_new] + removed
        if not consistent:
            stale = sorted(set(known) | {d.source for d in plan.documents})
        await asyncio.to_thread(self._write_vectors, stale, records, vectors)
        if plan.documents or removed or not consistent:
            await asyncio.to_thread(self.rebuild_local, *await self._write_table(plan.documents, removed))
        else:
            current = await read_version(self.sessionmaker, self.dense.collection_name)
            await asyncio.to_thread(self.local.refresh)
            moved = current is not None and current != self.local.snapshot.index_version  # a link since
            if self.local.stamp_missing() or moved:
                async with self.sessionmaker() as session:  # after the version: a link since moves it again
                    linked = await links(session)
                await asyncio.to_thread(self.rebuild_local, current, linked)
        return IngestSummary(
            trigger=trigger,
            added=sum(1 for d in plan.documents if d.is_new),
            changed=sum(1 for d in plan.documents if not d.is_new),
            removed=len(removed),
            unchanged=plan.unchanged,
            chunks_embedded=len(records),
            seconds=time.perf_counter() - started,
            run_id=run_id,
            skipped_files=(*unfound, *plan.skipped),
        )

    def _plan(
        self, files: Sequence[Path], roots: Sequence[Path], known: dict[str, str], in_table: set[str], show: bool
    ) -> _Plan:
        plan = _Plan()
        for path in tqdm(files, desc="reading", unit="file", disable=not show, file=sys.stderr):
            source = source_name(path, roots)
            try:
                data = path.read_bytes()
            except OSError as exc:
                log.warning("cannot read %s: %s", path, exc)
                plan.skipped.append(SkippedFile(source, _reason("cannot read", exc)))
                plan.seen.add(source)  # still there: keep what was indexed before
                continue
            plan.seen.add(source)
            content_hash = hashlib.sha256(CONVERSION + data).hexdigest()
            if known.get(source) == content_hash:
                plan.unchanged += 1
                continue
            try:
                chunks = convert(
                    data,
                    suffix=path.suffix.lower(),
                    stem=path.stem,
                    max_chars=self.max_chars,
                    max_unpacked_bytes=self.max_unpacked_bytes,
                ).chunks
            except Exception as exc:  # noqa: BLE001 — markitdown raises many types; a bad file must not stop the run
                log.warning("cannot convert %s, skipped: %s: %s", path, type(exc).__name__, exc)
                plan.skipped.append(SkippedFile(source, _reason("cannot convert", exc)))
                continue
            if not chunks:
                log.warning("no text found in %s", path)
            title = chunks[0].title if chunks else humanize_stem(path.stem)
            plan.documents.append(_Document(source, content_hash, title, chunks, is_new=source not in in_table))
        return plan

    def _plan_written(self, plan: _Plan, written: Sequence[Written], known: dict[str, str], in_table: set[str]) -> None:
        """Add the written documents that are new or changed to `plan`; files named like one
        are left to the file (a written document's source is the app's to choose)."""
        for doc in written:
            if doc.source in plan.seen:
                log.warning("a file and a written document are both named %s: the file is indexed", doc.source)
                continue
            plan.seen.add(doc.source)
            markdown = doc.markdown()
            content_hash = hashlib.sha256(CONVERSION + b"written:" + markdown.encode("utf-8")).hexdigest()
            if known.get(doc.source) == content_hash:
                plan.unchanged += 1
                continue
            chunks = chunk_markdown(markdown, stem=doc.source, max_chars=self.max_chars)
            plan.documents.append(
                _Document(doc.source, content_hash, doc.title, chunks, is_new=doc.source not in in_table, written=True)
            )

    def _embed(self, documents: Sequence[_Document], show: bool) -> tuple[list[ChunkRecord], Any]:
        """Every new chunk of the run, encoded in large length-sorted slices."""
        import numpy as np

        records: list[ChunkRecord] = []
        texts: list[str] = []
        for doc in documents:
            for chunk_id, chunk in zip(
                chunk_ids(doc.source, doc.content_hash, len(doc.chunks)), doc.chunks, strict=True
            ):
                records.append(ChunkRecord(chunk_id, doc.source, chunk.title, chunk.section, chunk.text))
                texts.append(embedding_text(chunk))
        if not texts:
            return records, None  # nothing to embed: the model need not even be loaded
        vectors = np.zeros((len(texts), self.embedder.dim), dtype=np.float32)
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]), reverse=True)
        with tqdm(total=len(texts), desc="embedding", unit="chunk", disable=not show, file=sys.stderr) as bar:
            for start in range(0, len(order), _ENCODE_SLICE):
                part = order[start : start + _ENCODE_SLICE]
                vectors[part] = self.embedder.encode([texts[i] for i in part])
                bar.update(len(part))
        return records, vectors

    def _write_vectors(self, stale: Sequence[str], records: Sequence[ChunkRecord], vectors: Any) -> None:
        if stale:
            self.dense.delete_sources(stale)
        if records:
            self.dense.add(records, vectors)

    async def _write_table(self, documents: Sequence[_Document], removed: Sequence[str]) -> tuple[str, list[Link]]:
        """Record the run's documents, and the index's new version with them; that version and
        the phrasings linked as of it (read after the version moved, in its transaction: a link
        made meanwhile either is read here or moves the version again)."""
        async with self.sessionmaker() as session, session.begin():
            if removed:
                await session.execute(delete(KnowledgeDocument).where(KnowledgeDocument.source.in_(removed)))
            existing = (
                {
                    row.source: row
                    for row in (
                        await session.scalars(
                            select(KnowledgeDocument).where(KnowledgeDocument.source.in_([d.source for d in documents]))
                        )
                    ).all()
                }
                if documents
                else {}
            )
            for doc in documents:
                row = existing.get(doc.source)
                if row is None:
                    row = KnowledgeDocument(source=doc.source)
                    session.add(row)
                row.content_hash, row.title, row.written = doc.content_hash, doc.title[:500], doc.written
                row.chunk_count, row.updated_at = len(doc.chunks), utcnow()
            version = await bump_version(session, self.dense.collection_name)
            return version, await links(session)

    def rebuild_local(self, version: str | None = None, linked: Sequence[Link] = ()) -> bool:
        """Re-derive the local index (BM25, and vectors when few enough) from chroma, as of the
        database's index `version` (read before chroma is; None: unknown), with the phrasings
        `linked` to its sections (read with the version). False, building nothing, when another
        process sharing this data_dir has already published `version`."""
        import numpy as np

        with self.local.exclusive():
            self.local.refresh()
            if version is not None and self.local.snapshot.index_version == version:
                return False
            with_vectors = self.dense.count() <= self.brute_force_max_chunks
            records: list[ChunkRecord] = []
            blocks = []
            for page, vectors in self.dense.pages(vectors=with_vectors):
                records.extend(page)
                if vectors is not None:
                    blocks.append(vectors)
            matrix = np.concatenate(blocks) if with_vectors and blocks else None
            self.local.rebuild(
                records,
                matrix,
                self._heading_vectors(records),
                self._phrasings(records, linked),
                index_version=version,
            )
            return True

    def _heading_vectors(self, records: Sequence[ChunkRecord]) -> Any:
        """Each chunk's heading embedded (headings are few and short; known ones are reused)."""
        import numpy as np

        known = self.local.snapshot.heading_vectors_by_text()
        texts = [heading_text(r.title, r.section) for r in records]
        missing = sorted({t for t in texts if t not in known})
        if missing:
            known.update(zip(missing, self.embedder.encode(missing), strict=True))
        if not texts:
            return np.zeros((0, self.embedder.dim), dtype=np.float32)
        return np.stack([known[t] for t in texts])

    def _phrasings(self, records: Sequence[ChunkRecord], linked: Sequence[Link]) -> Phrasings:
        """Each chunk's phrasings, then those linked to its section, embedded (known ones are
        reused, as headings are). A link to a section split in several chunks goes with each."""
        import numpy as np

        current = self.local.snapshot.phrasings
        known = current.by_text() if current is not None else {}
        by_section: dict[tuple[str, str], list[str]] = {}
        for item in linked:
            by_section.setdefault((item.source, item.section), []).append(item.text)
        found = [
            (row, text, is_linked)
            for row, record in enumerate(records)
            for text, is_linked in [
                *((text, False) for text in phrasings(record.text)),
                *((text, True) for text in by_section.get((record.source, record.section), ())),
            ]
        ]
        missing = sorted({text for _, text, _ in found if text not in known})
        if missing:
            known.update(zip(missing, self.embedder.encode(missing), strict=True))
        if not found:
            return Phrasings.empty(self.embedder.dim)
        return Phrasings.build(
            [text for _, text, _ in found],
            np.stack([known[text] for _, text, _ in found]),
            [row for row, _, _ in found],
            linked=[is_linked for _, _, is_linked in found],
        )

    async def _start_run(self, trigger: str) -> int:
        async with self.sessionmaker() as session, session.begin():
            run = IndexRun(trigger=trigger[:100], started_at=utcnow())
            session.add(run)
            await session.flush()
            return run.id

    async def _finish_run(
        self,
        run_id: int,
        *,
        summary: IngestSummary | None = None,
        error: str | None = None,
        seconds: float | None = None,
    ) -> None:
        async with self.sessionmaker() as session, session.begin():
            run = await session.get(IndexRun, run_id)
            if run is None:
                return
            run.finished_at = utcnow()
            if summary is not None:
                run.added, run.changed, run.removed = summary.added, summary.changed, summary.removed
                run.unchanged, run.seconds = summary.unchanged, summary.seconds
                run.skipped = [skipped.as_json() for skipped in summary.skipped_files]
            else:
                run.seconds, run.error = seconds, (error or "")[:4000]
