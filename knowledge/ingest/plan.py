"""What one ingest run will do: the documents to (re)index, the rows to update, and what to
remove by the rules of `knowledge.ingest.origins`."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from knowledge.ingest import origins
from knowledge.ingest.chunking import Chunk
from knowledge.tables import SkippedFile


@dataclass(frozen=True, slots=True)
class Stored:
    """A document as the table holds it before the run."""

    content_hash: str
    chunk_count: int
    origin: str
    page: dict[str, Any] | None = None
    missing_since: datetime | None = None


@dataclass(slots=True)
class Planned:
    """A document whose chunks the run (re)writes."""

    source: str
    content_hash: str
    title: str
    chunks: list[Chunk]
    is_new: bool
    origin: str
    url: str = ""
    page: dict[str, Any] | None = None
    language: str | None = None
    """The language it is written in (`knowledge.ingest.languages`); None: unsaid."""


@dataclass(slots=True)
class Plan:
    documents: list[Planned] = field(default_factory=list)
    unchanged: int = 0
    skipped: list[SkippedFile] = field(default_factory=list)
    seen: set[str] = field(default_factory=set)
    """Documents still there (new, changed, unchanged, unreadable for now): never removed."""
    updates: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Rows whose chunks stay as they are, with the columns that change (a file now managed by
    `reindex`, a web page's validators, a page found gone or back)."""
    gone: set[str] = field(default_factory=set)
    """Documents their source says are gone for good (a web page past its grace period)."""

    def update(self, source: str, **columns: Any) -> None:
        self.updates.setdefault(source, {}).update(columns)


@dataclass(frozen=True, slots=True)
class Removal:
    removed: list[str]
    kept_ingested: list[str]
    """Documents ingested by hand that a re-index kept (`--prune` removes them)."""


def removal(
    stored: Mapping[str, Stored],
    plan: Plan,
    *,
    rows: Collection[str],
    prune: bool,
    prune_ingested: bool,
    sites: Collection[str],
) -> Removal:
    """What the run removes. Any run: written and pushed documents whose row (in `rows`) is
    gone. A re-index
    (`prune`) also: files no longer under the configured folders, the pages of sites no longer
    configured, pages past their grace period (`plan.gone`), and with `prune_ingested` the
    documents ingested by hand."""
    removed: list[str] = []
    kept: list[str] = []
    for source, row in sorted(stored.items()):
        if source in plan.seen and source not in plan.gone:
            continue
        site = origins.site_name(row.origin)
        if row.origin in (origins.WRITTEN, origins.API):
            if source not in rows:
                removed.append(source)
        elif not prune:
            continue
        elif row.origin == origins.INGESTED:
            (removed if prune_ingested else kept).append(source)
        elif site is not None:
            if site not in sites or source in plan.gone:
                removed.append(source)
        else:
            removed.append(source)
    return Removal(removed, kept)
