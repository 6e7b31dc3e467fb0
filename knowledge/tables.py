"""knowledge's tables, in their own metadata: the documents an index holds, its runs and its
version, and what people wrote for it (documents written in the app, phrasings linked to a
section).

The app creates them with its one Alembic history (core/store/migrations), whose environment
compares both metadatas with the database (tests/unit/core/store/test_migrations.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar

from sqlalchemy import JSON, Float, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from knowledge.sql_types import UTCDateTime, utcnow


class Base(DeclarativeBase):
    type_annotation_map: ClassVar[dict[Any, Any]] = {datetime: UTCDateTime(), list[Any]: JSON}


@dataclass(frozen=True, slots=True)
class SkippedFile:
    """A file an index run left out, and why (its old chunks, if any, are kept)."""

    source: str
    reason: str

    def as_json(self) -> dict[str, str]:
        return {"source": self.source, "reason": self.reason}

    @classmethod
    def from_json(cls, value: Any) -> SkippedFile:
        return cls(source=str(value["source"]), reason=str(value["reason"]))


class KnowledgeDocument(Base):
    """One indexed document (a file, a web page, a pushed or a written one); `content_hash`
    makes re-ingesting an unchanged one free. `origin` says which run manages it
    (`knowledge.ingest.origins`)."""

    __tablename__ = "knowledge_documents"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    source: Mapped[str] = mapped_column(String(1000), unique=True)
    content_hash: Mapped[str] = mapped_column(String(64))
    title: Mapped[str] = mapped_column(String(500))
    chunk_count: Mapped[int] = mapped_column(Integer)
    origin: Mapped[str] = mapped_column(String(100), default="files", server_default="files", index=True)
    url: Mapped[str | None] = mapped_column(String(2000))
    """Its public address: the citation's link on every channel."""
    page: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    """A web page's validators and links as the last crawl kept them (`knowledge.web.crawl.Seen`)."""
    language: Mapped[str | None] = mapped_column(String(8))
    """The language it is written in (ISO 639-1): its folder's or front matter's; None: unsaid."""
    missing_since: Mapped[datetime | None] = mapped_column()
    """A web page first found gone (404, or no longer listed) at this time; removed once its
    source's grace period has passed, and cleared when it is back."""
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    """When its chunks, or the phrasings linked to them, last changed."""


class IndexRun(Base):
    """A record of one ingest/re-index run, from the CLI or the scheduler."""

    __tablename__ = "index_runs"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    trigger: Mapped[str] = mapped_column(String(100))
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column()
    added: Mapped[int] = mapped_column(Integer, default=0)
    changed: Mapped[int] = mapped_column(Integer, default=0)
    removed: Mapped[int] = mapped_column(Integer, default=0)
    unchanged: Mapped[int] = mapped_column(Integer, default=0)
    seconds: Mapped[float | None] = mapped_column(Float)
    error: Mapped[str | None] = mapped_column(Text)
    skipped: Mapped[list[Any] | None] = mapped_column()
    """The files the run could not read or convert, as `SkippedFile.as_json` objects; None
    while it runs, when it failed, and for runs recorded before this column."""

    progress: Mapped[str | None] = mapped_column(String(200))
    """What a run under way is doing ("crawling help: 340 of 1000 pages"), for the dashboard."""

    @property
    def skipped_files(self) -> list[SkippedFile]:
        return [SkippedFile.from_json(item) for item in self.skipped or []]


class IndexVersion(Base):
    """A collection's index version: a new random one each time an ingest run changes its
    chunks, written in the transaction that records the run's documents. A process serving from
    a shared Chroma server rebuilds its local BM25 and heading index when this differs from the
    version that index was built from (`knowledge.search.versions`). Random, not a counter: a data_dir
    kept while the database is replaced must never look up to date by coincidence."""

    __tablename__ = "index_versions"
    collection: Mapped[str] = mapped_column(String(255), primary_key=True)
    version: Mapped[str] = mapped_column(String(32))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class WrittenDocument(Base):
    """A document written in the app rather than read from a file (an answer the support team
    approved): indexed by every ingest run, whatever paths it is given, and removed from the
    index by the first run after its row is deleted (`knowledge.ingest.written`)."""

    __tablename__ = "written_documents"
    source: Mapped[str] = mapped_column(String(1000), primary_key=True)
    title: Mapped[str] = mapped_column(String(500))
    section: Mapped[str] = mapped_column(String(500))
    """The heading it answers under (the question)."""
    text: Mapped[str] = mapped_column(Text)
    """Markdown."""
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class LinkedPhrasing(Base):
    """A customer's wording a person linked to one section of a document ("this is answered by
    exporting-your-data.md › CSV export"): searched as one of that section's phrasings, so the
    section is found for those words (`knowledge.search.phrasings`)."""

    __tablename__ = "linked_phrasings"
    __table_args__ = (UniqueConstraint("source", "section", "text"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    source: Mapped[str] = mapped_column(String(1000), index=True)
    section: Mapped[str] = mapped_column(String(500))
    text: Mapped[str] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class PushedDocument(Base):
    """A document a help centre pushed through the knowledge API (`knowledge.ingest.pushed`): indexed
    by every ingest run, whatever paths it is given, and removed from the index by the first
    run after its row is deleted."""

    __tablename__ = "pushed_documents"
    source: Mapped[str] = mapped_column(String(1000), primary_key=True)
    title: Mapped[str] = mapped_column(String(500))
    """Empty: the content's own first heading, else its id."""
    url: Mapped[str] = mapped_column(String(2000))
    """The article's public address (empty: none): the citation's link."""
    format: Mapped[str] = mapped_column(String(20))
    """markdown, html or text."""
    content: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
