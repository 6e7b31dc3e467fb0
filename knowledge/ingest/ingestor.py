"""Turning files into indexed chunks, incrementally.

Why a content hash: a scheduled re-index walks every file of the help centre, and most of them
have not changed. Reading and hashing a file costs microseconds; converting a PDF and embedding
its chunks costs seconds. So a file whose sha256 (of `CONVERSION` and its bytes) equals
`knowledge_documents.content_hash` is neither converted nor embedded. Chroma is written before the table: if a run dies in between,
the next run sees the old hash and does the work again, and a chunk count that disagrees with
the table (a deleted chroma directory) makes every file count as changed. A run that changed
chroma gives the index a new version in the same transaction as the table
(`knowledge.search.versions`): other hosts sharing the Chroma server then rebuild their local index.

Conversion never crashes a run: an unreadable or unsupported file is logged with its path and
skipped (and its old chunks, if any, are kept); the run's row in `index_runs` keeps each skipped
file with the reason, for the dashboard.

Every run also brings in what people wrote (`knowledge.ingest.written`), whatever paths it is given:
written documents are planned like files (a content hash of their text), removed once their row
is gone, and never pruned as a missing file; the phrasings linked to a section join its own
when the local index is built. A run that changes no chunk still rebuilds the local index when
the database's index version moved (a phrasing linked since).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import shutil
import sys
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from tqdm import tqdm

from knowledge.conversion import CONVERSION, convert
from knowledge.embedding.embedder import Embedder
from knowledge.ingest import origins
from knowledge.ingest.chunking import Chunk, chunk_markdown, embedding_text, heading_text, humanize_stem
from knowledge.ingest.files import Found, discover, folder_url, found_language, source_name
from knowledge.ingest.plan import Plan, Planned, Removal, Stored
from knowledge.ingest.plan import removal as plan_removal
from knowledge.ingest.pushed import FORMATS, PREFIX, Pushed, pushed_documents
from knowledge.ingest.site_sync import plan_site
from knowledge.ingest.written import Link, Written, links, written_documents
from knowledge.search.index import ChunkRecord, DenseStore, LocalIndex
from knowledge.search.phrasings import Phrasings, phrasings
from knowledge.search.versions import bump_version, read_version
from knowledge.settings import FolderSource
from knowledge.sql_types import utcnow
from knowledge.tables import IndexRun, KnowledgeDocument, SkippedFile
from knowledge.web.settings import SiteSource

log = logging.getLogger(__name__)

_ENCODE_SLICE = 1024  # texts per encode call: big enough to batch well, small enough for a progress bar
_LOGGED_EVERY = 100
"""Pages between the log lines a crawl's progress shows where there is no terminal (the server)."""


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
    kept_ingested: tuple[str, ...] = ()
    """Documents ingested by hand that a re-index kept (`reindex --prune` removes them)."""

    @property
    def skipped(self) -> int:
        return len(self.skipped_files)

    @property
    def line(self) -> str:
        text = (
            f"added {self.added}, changed {self.changed}, removed {self.removed}, "
            f"unchanged {self.unchanged} in {self.seconds:.1f} s"
        )
        if self.kept_ingested:
            text += f"; kept {len(self.kept_ingested)} ingested by hand"
        return f"{text} ({self.skipped} skipped)" if self.skipped else text


class TooManyRemoved(Exception):
    """A re-index would remove more of the index than `knowledge.max_removed_share`: nothing
    was changed (a folder emptied by mistake, a source's URL mistyped)."""


@dataclass(frozen=True, slots=True)
class Proposed:
    """A run's changes as its gate is shown them, before they go live."""

    live: Path | None
    """The folder of the local index version live now; None before the first."""
    candidate: Path
    """The folder of the version the run built."""
    run_id: int
    """The run's row in `index_runs`."""
    trigger: str
    changed: tuple[str, ...]
    """The documents the run adds or changes, by source."""
    removed: tuple[str, ...]


Gate = Callable[[Proposed], Awaitable[str | None]]
"""Asked before a run's changes go live: the reason to hold the candidate back, or None to
publish it. The app's rehearsals are one (`core.rehearsals.gate`)."""


class HeldBack(Exception):
    """The run's gate held its changes back: the index live before stays live, the documents
    table is not updated (the next run does the work again), and the run is recorded with the
    reason."""


@dataclass(frozen=True, slots=True)
class IngestRequest:
    """What one run is asked to bring in line, and how far it may go."""

    folders: Sequence[FolderSource]
    managed: Sequence[FolderSource] = ()
    """A re-index's folders: a file under one is named and addressed as that folder's file."""
    sites: Sequence[SiteSource] | None = None
    """The websites whose pages the run manages; None leaves every website page as it is."""
    crawl: bool = True
    """Crawl `sites` now; otherwise their pages are kept as they are."""
    prune: bool = False
    """A re-index: what `knowledge.ingest.plan.removal` says goes (files no longer there, pages
    gone past their grace period). Without it (an ingest by hand) nothing is removed."""
    prune_ingested: bool = False
    """A re-index removes files ingested by hand that are gone, too."""
    force: bool = False
    """Remove more than `max_removed_share` of the documents if the plan says so."""
    gate: Gate | None = None
    """Asked before the run's changes go live (`Gate`); None: they go live."""


@dataclass(frozen=True, slots=True)
class _RunPlan:
    """A run's first phase done: what it will index, update and remove."""

    stored: Mapping[str, Stored]
    consistent: bool
    """The vector store agrees with the documents table (otherwise every file is indexed again)."""
    plan: Plan
    removal: Removal
    unfound: Sequence[SkippedFile]
    """Files a folder named that could not be read."""


async def _update_rows(session: AsyncSession, updates: Mapping[str, Mapping[str, Any]]) -> None:
    for source, columns in updates.items():
        await session.execute(update(KnowledgeDocument).where(KnowledgeDocument.source == source).values(**columns))


_REASON_CHARS = 500


def _reason(prefix: str, exc: Exception) -> str:
    """Why a file was skipped, without its server path (an OSError's text repeats it)."""
    detail = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
    return f"{prefix}: {type(exc).__name__}: {detail}"[:_REASON_CHARS]


@contextmanager
def _bar(
    description: str, unit: str, show: bool, *, told: Callable[[str], None]
) -> Iterator[Callable[[int, int], None]]:
    """A progress bar on a terminal (`show`), and every 5 % (at most every `_LOGGED_EVERY`
    items) a log line and the same words to `told` (the run's row, for the dashboard); fed with
    (done, total) as the total grows (a crawl finds pages as it goes)."""
    with tqdm(total=0, desc=description, unit=unit, disable=not show, file=sys.stderr) as bar:
        logged = 0

        def note(done: int, total: int) -> None:
            nonlocal logged
            bar.total = total
            bar.update(done - bar.n)
            if done - logged >= max(1, min(_LOGGED_EVERY, total // 20)):  # every 5 %, at most every 100
                logged = done
                words = f"{description}: {done} of {total} {unit}s"
                log.info("%s", words)
                told(words)

        told(f"{description}")
        yield note


def _titled(chunks: list[Chunk], title: str, fallback: str) -> list[Chunk]:
    """`chunks` under the `title` given with a pushed document, where its content had none of
    its own (the conversion fell back to the id)."""
    if not title:
        return chunks
    return [
        Chunk(title, title if c.section == c.title else c.section, c.text) if c.title == fallback else c for c in chunks
    ]


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
        max_removed_share: float = 1.0,
    ) -> None:
        self.embedder = embedder
        self.dense = dense
        self.local = local
        self.sessionmaker = sessionmaker
        self.max_chars = max_chars
        self.max_unpacked_bytes = max_unpacked_bytes
        self.brute_force_max_chunks = brute_force_max_chunks
        self.max_removed_share = max_removed_share
        self._progress_writes: set[asyncio.Task[None]] = set()
        self._lock = asyncio.Lock()

    async def run(self, request: IngestRequest, *, trigger: str, progress: bool = False) -> IngestSummary:
        """Bring the index in line with `request`, in three phases: plan (what changed, what
        goes), index (embed and write the vectors), publish (the documents table, the index
        version and the local index). A re-index that would remove more than
        `max_removed_share` of the documents raises `TooManyRemoved` while planning, changing
        nothing, unless `force` (documents removed because their row was deleted, written or
        pushed, do not count: someone asked for that). The run is recorded, failed or not."""
        async with self._lock:
            show = progress and sys.stderr.isatty()
            started = time.perf_counter()
            run_id = await self._start_run(trigger)
            try:
                planned = await self._plan_run(request, run_id=run_id, show=show)
                embedded = await self._index(planned, run_id=run_id, show=show)
                await self._publish(planned, request.gate, run_id=run_id, trigger=trigger)
            except asyncio.CancelledError:
                await self._finish_run(run_id, error=STOPPED, seconds=time.perf_counter() - started)
                raise
            except Exception as exc:
                await self._finish_run(
                    run_id, error=f"{type(exc).__name__}: {exc}", seconds=time.perf_counter() - started
                )
                raise
            plan, removed = planned.plan, planned.removal.removed
            summary = IngestSummary(
                trigger=trigger,
                added=sum(1 for d in plan.documents if d.is_new),
                changed=sum(1 for d in plan.documents if not d.is_new),
                removed=len(removed),
                unchanged=plan.unchanged,
                chunks_embedded=embedded,
                seconds=time.perf_counter() - started,
                run_id=run_id,
                skipped_files=(*planned.unfound, *plan.skipped),
                kept_ingested=tuple(planned.removal.kept_ingested),
            )
            await self._finish_run(run_id, summary=summary)
            return summary

    async def _stored(self) -> tuple[dict[str, Stored], list[Written], list[Pushed]]:
        async with self.sessionmaker() as session:
            rows = (
                await session.execute(
                    select(
                        KnowledgeDocument.source,
                        KnowledgeDocument.content_hash,
                        KnowledgeDocument.chunk_count,
                        KnowledgeDocument.origin,
                        KnowledgeDocument.page,
                        KnowledgeDocument.missing_since,
                    )
                )
            ).all()
            written = await written_documents(session)
            pushed = await pushed_documents(session)
        stored = {
            row.source: Stored(row.content_hash, row.chunk_count, row.origin, row.page, row.missing_since)
            for row in rows
        }
        return stored, written, pushed

    async def _plan_run(self, request: IngestRequest, *, run_id: int, show: bool) -> _RunPlan:
        """What the run will index, update and remove: files, written and pushed documents and
        website pages compared with what the index holds; raises before anything is changed when
        a re-index's folders are missing or it would remove too much."""
        stored, written, pushed = await self._stored()
        consistent = await asyncio.to_thread(self.dense.count) == sum(row.chunk_count for row in stored.values())
        if not consistent:
            log.warning("the vector store disagrees with the documents table: re-indexing every file")
        missing = [str(folder.path) for folder in request.folders if not folder.path.exists()]
        if request.prune and missing:
            # a re-index from the wrong directory, or an unmounted volume, must not empty the
            # knowledge base: refuse, and let the run be recorded as failed
            raise FileNotFoundError(f"knowledge path not found, nothing removed: {', '.join(missing)}")
        files, unfound = await asyncio.to_thread(discover, request.folders, request.managed)
        roots = [folder.path for folder in (*request.managed, *request.folders)]
        compared = stored if consistent else {}
        plan = await asyncio.to_thread(self._plan, files, roots, stored, compared, request.prune, show)
        self._plan_written(plan, written, stored, compared)
        await asyncio.to_thread(self._plan_pushed, plan, pushed, stored, compared)
        for site in request.sites or ():
            if request.crawl:
                with _bar(f"crawling {site.name}", "page", show, told=partial(self._told, run_id)) as bar:
                    await plan_site(
                        plan,
                        site,
                        stored,
                        consistent=consistent,
                        now=utcnow(),
                        max_chars=self.max_chars,
                        progress=bar,
                    )
            else:
                plan.seen.update(s for s, row in stored.items() if row.origin == origins.site(site.name))
        if request.sites is None:
            plan.seen.update(s for s, row in stored.items() if origins.site_name(row.origin) is not None)
        removal = plan_removal(
            stored,
            plan,
            rows={doc.source for doc in written} | {doc.source for doc in pushed},
            prune=request.prune,
            prune_ingested=request.prune_ingested,
            sites={site.name for site in request.sites or ()},
        )
        if request.prune and not request.force:
            self._guard_removal(stored, removal.removed)
        return _RunPlan(stored, consistent, plan, removal, unfound)

    def _guard_removal(self, stored: Mapping[str, Stored], removed: Sequence[str]) -> None:
        """Raise `TooManyRemoved` when a re-index would remove more than `max_removed_share` of
        the documents (those whose row someone deleted do not count)."""
        if not stored:
            return
        asked = {origins.WRITTEN, origins.API}  # their rows were deleted: someone asked for that
        share = sum(1 for source in removed if stored[source].origin not in asked) / len(stored)
        if share > self.max_removed_share:
            raise TooManyRemoved(
                f"this re-index would remove {len(removed)} of the {len(stored)} indexed documents "
                f"({share:.0%}, more than knowledge.max_removed_share {self.max_removed_share:.0%}), "
                f"e.g. {', '.join(removed[:3])}; nothing was changed. Check knowledge.paths and "
                "knowledge.sources, or run `supporthub reindex --force` to remove them"
            )

    async def _index(self, planned: _RunPlan, *, run_id: int, show: bool) -> int:
        """Embed the planned documents' chunks and write them to the vector store, dropping the
        chunks of changed and removed documents (and, when the store disagreed with the table,
        every chunk the table does not account for); the number of chunks embedded."""
        plan, removed, stored = planned.plan, planned.removal.removed, planned.stored
        if chunks := sum(len(doc.chunks) for doc in plan.documents):
            self._told(run_id, f"embedding {chunks} chunks of {len(plan.documents)} documents")
        records, vectors = await asyncio.to_thread(self._embed, plan.documents, show)
        stale = [d.source for d in plan.documents if not d.is_new] + removed
        if not planned.consistent:
            # every document this run converted again is written anew, and chunks of documents
            # the table does not hold go; one it could not convert again (a file unreadable for
            # now, a web page that failed or was not crawled, a file ingested by hand) keeps
            # whatever chunks it has
            converted = {d.source for d in plan.documents}
            in_store = await asyncio.to_thread(self._chunks_in_store)
            orphans = set(in_store) - set(stored)
            stale = sorted(converted | set(removed) | orphans)
            for source in set(stored) - converted - set(removed):
                plan.update(source, chunk_count=in_store.get(source, 0))  # so the store agrees from now on
            if not_rebuilt := sorted(set(stored) - converted - set(removed)):
                log.warning(
                    "%d documents could not be indexed again this run and keep what the vector store has "
                    "of them, e.g. %s",
                    len(not_rebuilt),
                    ", ".join(not_rebuilt[:3]),
                )
        await asyncio.to_thread(self._write_vectors, stale, records, vectors)
        return len(records)

    async def _publish(self, planned: _RunPlan, gate: Gate | None, *, run_id: int, trigger: str) -> None:
        """The documents table and the index version, then the local index rebuilt from them;
        with nothing indexed or removed, only the rows' updates, and the local index rebuilt only
        when another host's run or a link moved the version since. With a `gate`, a run that
        changed the index first builds its version as a candidate and asks the gate, which may
        hold it back (`HeldBack`, before anything of it is published)."""
        plan, removed = planned.plan, planned.removal.removed
        if plan.documents or removed or not planned.consistent:
            if gate is not None:
                await self._ask(gate, planned, run_id=run_id, trigger=trigger)
            await asyncio.to_thread(self.rebuild_local, *await self._write_table(plan, removed))
            return
        if plan.updates:
            await self._write_updates(plan.updates)
        current = await read_version(self.sessionmaker, self.dense.collection_name)
        await asyncio.to_thread(self.local.refresh)
        moved = current is not None and current != self.local.snapshot.index_version  # a link since
        if self.local.stamp_missing() or moved:
            async with self.sessionmaker() as session:  # after the version: a link since moves it again
                linked = await links(session)
            await asyncio.to_thread(self.rebuild_local, current, linked)

    async def _ask(self, gate: Gate, planned: _RunPlan, *, run_id: int, trigger: str) -> None:
        async with self.sessionmaker() as session:
            linked = await links(session)
        candidate = await asyncio.to_thread(self.stage_local, linked)
        proposed = Proposed(
            live=self.local.current_version(),
            candidate=candidate,
            run_id=run_id,
            trigger=trigger,
            changed=tuple(sorted(document.source for document in planned.plan.documents)),
            removed=tuple(planned.removal.removed),
        )
        try:
            reason = await gate(proposed)
        finally:
            await asyncio.to_thread(shutil.rmtree, candidate, True)
        if reason is not None:
            raise HeldBack(reason)

    def _plan(
        self,
        files: Sequence[Found],
        roots: Sequence[Path],
        stored: Mapping[str, Stored],
        compared: Mapping[str, Stored],
        reindex: bool,
        show: bool,
    ) -> Plan:
        """The files that are new or changed, converted; `compared` is what the table holds
        (empty when the vector store disagrees with it: everything is converted again)."""
        plan = Plan()
        for found in tqdm(files, desc="reading", unit="file", disable=not show, file=sys.stderr):
            path = found.path
            source = source_name(path, roots)
            row = stored.get(source)
            managed = reindex or found.managed or (row is not None and row.origin == origins.FILES)
            origin = origins.FILES if managed else origins.INGESTED
            try:
                data = path.read_bytes()
            except OSError as exc:
                log.warning("cannot read %s: %s", path, exc)
                plan.skipped.append(SkippedFile(source, _reason("cannot read", exc)))
                plan.seen.add(source)  # still there: keep what was indexed before
                continue
            plan.seen.add(source)
            base_url, language = folder_url(found), found_language(found)
            said = base_url.encode() + b"\0" + (f"{language}\0".encode() if language else b"")
            content_hash = hashlib.sha256(CONVERSION + said + data).hexdigest()
            known = compared.get(source)
            if known is not None and known.content_hash == content_hash:
                plan.unchanged += 1
                if known.origin != origin:
                    plan.update(source, origin=origin)
                continue
            try:
                converted = convert(
                    data,
                    suffix=path.suffix.lower(),
                    stem=path.stem,
                    max_chars=self.max_chars,
                    max_unpacked_bytes=self.max_unpacked_bytes,
                )
            except Exception as exc:  # noqa: BLE001 — the converters raise many types; a bad file must not stop the run
                log.warning("cannot convert %s, skipped: %s: %s", path, type(exc).__name__, exc)
                plan.skipped.append(SkippedFile(source, _reason("cannot convert", exc)))
                continue
            chunks = converted.chunks
            if not chunks:
                log.warning("no text found in %s", path)
            title = chunks[0].title if chunks else humanize_stem(path.stem)
            plan.documents.append(
                Planned(
                    source,
                    content_hash,
                    title,
                    chunks,
                    is_new=row is None,
                    origin=origin,
                    url=converted.url or base_url,
                    language=converted.language or language,
                )
            )
        return plan

    def _plan_written(
        self, plan: Plan, written: Sequence[Written], stored: Mapping[str, Stored], compared: Mapping[str, Stored]
    ) -> None:
        """Add the written documents that are new or changed to `plan`; files named like one
        are left to the file (a written document's source is the app's to choose)."""
        for doc in written:
            if doc.source in plan.seen:
                log.warning("a file and a written document are both named %s: the file is indexed", doc.source)
                continue
            plan.seen.add(doc.source)
            markdown = doc.markdown()
            content_hash = hashlib.sha256(CONVERSION + b"written:" + markdown.encode("utf-8")).hexdigest()
            known = compared.get(doc.source)
            if known is not None and known.content_hash == content_hash:
                plan.unchanged += 1
                continue
            chunks = chunk_markdown(markdown, stem=doc.source, max_chars=self.max_chars)
            plan.documents.append(
                Planned(
                    doc.source,
                    content_hash,
                    doc.title,
                    chunks,
                    is_new=doc.source not in stored,
                    origin=origins.WRITTEN,
                )
            )

    def _plan_pushed(
        self, plan: Plan, pushed: Sequence[Pushed], stored: Mapping[str, Stored], compared: Mapping[str, Stored]
    ) -> None:
        """Add the pushed documents that are new or changed to `plan`, converted as files of
        their format are; one that cannot be converted is skipped (its old chunks kept)."""
        for doc in pushed:
            if doc.source in plan.seen:
                log.warning("a file and a pushed document are both named %s: the file is indexed", doc.source)
                continue
            plan.seen.add(doc.source)
            data = doc.content.encode("utf-8")
            header = f"{doc.format}\0{doc.title}\0{doc.url}\0".encode()
            content_hash = hashlib.sha256(CONVERSION + b"api:" + header + data).hexdigest()
            known = compared.get(doc.source)
            if known is not None and known.content_hash == content_hash:
                plan.unchanged += 1
                continue
            stem = doc.source.removeprefix(PREFIX)
            try:
                converted = convert(
                    data,
                    suffix=FORMATS[doc.format],
                    stem=stem,
                    max_chars=self.max_chars,
                    max_unpacked_bytes=self.max_unpacked_bytes,
                )
            except Exception as exc:  # noqa: BLE001 — as for a file: a bad document must not stop the run
                log.warning(
                    "cannot convert the pushed document %s, skipped: %s: %s", doc.source, type(exc).__name__, exc
                )
                plan.skipped.append(SkippedFile(doc.source, _reason("cannot convert", exc)))
                continue
            chunks = _titled(converted.chunks, doc.title, humanize_stem(stem))
            plan.documents.append(
                Planned(
                    doc.source,
                    content_hash,
                    chunks[0].title if chunks else doc.title or humanize_stem(stem),
                    chunks,
                    is_new=doc.source not in stored,
                    origin=origins.API,
                    url=doc.url,
                    language=converted.language,
                )
            )

    def _embed(self, documents: Sequence[Planned], show: bool) -> tuple[list[ChunkRecord], Any]:
        """Every new chunk of the run, encoded in large length-sorted slices."""
        import numpy as np

        records: list[ChunkRecord] = []
        texts: list[str] = []
        for doc in documents:
            for chunk_id, chunk in zip(
                chunk_ids(doc.source, doc.content_hash, len(doc.chunks)), doc.chunks, strict=True
            ):
                records.append(
                    ChunkRecord(
                        chunk_id,
                        doc.source,
                        chunk.title,
                        chunk.section,
                        chunk.text,
                        url=doc.url,
                        language=doc.language or "",
                    )
                )
                texts.append(embedding_text(chunk))
        if not texts:
            return records, None  # nothing to embed: the model need not even be loaded
        self.embedder.expect(len(texts))
        vectors = np.zeros((len(texts), self.embedder.dim), dtype=np.float32)
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]), reverse=True)
        with tqdm(total=len(texts), desc="embedding", unit="chunk", disable=not show, file=sys.stderr) as bar:
            for start in range(0, len(order), _ENCODE_SLICE):
                part = order[start : start + _ENCODE_SLICE]
                vectors[part] = self.embedder.encode([texts[i] for i in part])
                bar.update(len(part))
        return records, vectors

    def _chunks_in_store(self) -> Counter[str]:
        """Each source's chunks in the vector store."""
        return Counter(record.source for record in self.dense.records())

    def _write_vectors(self, stale: Sequence[str], records: Sequence[ChunkRecord], vectors: Any) -> None:
        if stale:
            self.dense.delete_sources(stale)
        if records:
            self.dense.add(records, vectors)

    async def _write_updates(self, updates: Mapping[str, Mapping[str, Any]]) -> None:
        """Rows whose chunks stay, with their changed columns (no new index version)."""
        async with self.sessionmaker() as session, session.begin():
            await _update_rows(session, updates)

    async def _write_table(self, plan: Plan, removed: Sequence[str]) -> tuple[str, list[Link]]:
        """Record the run's documents, and the index's new version with them; that version and
        the phrasings linked as of it (read after the version moved, in its transaction: a link
        made meanwhile either is read here or moves the version again)."""
        documents = plan.documents
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
                row.content_hash, row.title, row.origin = doc.content_hash, doc.title[:500], doc.origin
                row.url, row.page, row.missing_since = doc.url[:2000] or None, doc.page, None
                row.chunk_count, row.updated_at, row.language = len(doc.chunks), utcnow(), doc.language
            await _update_rows(session, {s: u for s, u in plan.updates.items() if s not in set(removed)})
            version = await bump_version(session, self.dense.collection_name)
            return version, await links(session)

    def rebuild_local(self, version: str | None = None, linked: Sequence[Link] = ()) -> bool:
        """Re-derive the local index (BM25, and vectors when few enough) from chroma, as of the
        database's index `version` (read before chroma is; None: unknown), with the phrasings
        `linked` to its sections (read with the version). False, building nothing, when another
        process sharing this data_dir has already published `version`."""
        with self.local.exclusive():
            self.local.refresh()
            if version is not None and self.local.snapshot.index_version == version:
                return False
            records, matrix, headings, phrasings = self._local_parts(linked)
            self.local.rebuild(records, matrix, headings, phrasings, index_version=version)
            return True

    def stage_local(self, linked: Sequence[Link]) -> Path:
        """The local index chroma holds now, written as a candidate version and not published
        (`LocalIndex.stage`): what a gate tries before it goes live."""
        return self.local.stage(*self._local_parts(linked))

    def _local_parts(self, linked: Sequence[Link]) -> tuple[list[ChunkRecord], Any, Any, Phrasings]:
        """chroma's records, their vectors when few enough for brute force, their headings'
        embeddings and their phrasings: a local index version's contents."""
        import numpy as np

        with_vectors = self.dense.count() <= self.brute_force_max_chunks
        records: list[ChunkRecord] = []
        blocks = []
        for page, vectors in self.dense.pages(vectors=with_vectors):
            records.extend(page)
            if vectors is not None:
                blocks.append(vectors)
        matrix = np.concatenate(blocks) if with_vectors and blocks else None
        if not self.local.snapshot.records:  # from nothing (a new host, an older version's index):
            self.embedder.expect(len(records))  # every heading and phrasing is embedded
        return records, matrix, self._heading_vectors(records), self._phrasings(records, linked)

    def _heading_vectors(self, records: Sequence[ChunkRecord]) -> Any:
        """Each chunk's heading embedded (headings are few and short; known ones are reused)."""
        import numpy as np

        known = self.local.snapshot.heading_vectors_by_text()
        texts = [heading_text(r.title, r.section) for r in records]
        missing = sorted({t for t in texts if t not in known})
        if missing:
            self.embedder.expect(len(missing))
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
            self.embedder.expect(len(missing))
            known.update(zip(missing, self.embedder.encode(missing), strict=True))
        if not found:
            return Phrasings.empty(self.embedder.dim)
        return Phrasings.build(
            [text for _, text, _ in found],
            np.stack([known[text] for _, text, _ in found]),
            [row for row, _, _ in found],
            linked=[is_linked for _, _, is_linked in found],
        )

    def _told(self, run_id: int, words: str) -> None:
        """Record what the run is doing on its row, in the background: progress never holds
        the run up, and a write that fails is only logged."""
        task = asyncio.get_running_loop().create_task(self._record_progress(run_id, words[:200]))
        self._progress_writes.add(task)
        task.add_done_callback(self._progress_writes.discard)

    async def _record_progress(self, run_id: int, words: str) -> None:
        try:
            async with self.sessionmaker() as session, session.begin():
                await session.execute(update(IndexRun).where(IndexRun.id == run_id).values(progress=words))
        except Exception as exc:  # noqa: BLE001 — progress is a courtesy: the run goes on
            log.warning("could not record the run's progress: %s: %s", type(exc).__name__, exc)

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
        await asyncio.gather(*self._progress_writes, return_exceptions=True)  # none lands after the end
        async with self.sessionmaker() as session, session.begin():
            run = await session.get(IndexRun, run_id)
            if run is None:
                return
            run.finished_at, run.progress = utcnow(), None
            if summary is not None:
                run.added, run.changed, run.removed = summary.added, summary.changed, summary.removed
                run.unchanged, run.seconds = summary.unchanged, summary.seconds
                run.skipped = [skipped.as_json() for skipped in summary.skipped_files]
            else:
                run.seconds, run.error = seconds, (error or "")[:4000]
