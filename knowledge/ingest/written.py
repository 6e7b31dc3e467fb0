"""What people write for the index rather than put in files: documents written in the app (the
support team's approved answers) and customers' wordings linked to a section of a document.

The app writes both in its own transactions (these functions take its synchronous session), and
the next ingest run, of any paths or none, brings the index in line (`knowledge.ingest.ingestor`): a
written document is indexed like a file and cited like one, and is never removed by a re-index
of the files; a linked phrasing is searched as one of its section's phrasings
(`knowledge.search.phrasings`), so the section is found for the customer's own words. A link changes
the index without changing a chunk, so it gives the collection a new index version at once:
the next run rebuilds the local index for it, and hosts sharing a Chroma server follow
(`knowledge.search.versions`). It also counts as a change of the linked document (its `updated_at`),
which is what tells a knowledge gap it is answered now.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import delete, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from knowledge.search.versions import bump_version_in
from knowledge.sql_types import utcnow
from knowledge.tables import KnowledgeDocument, LinkedPhrasing, WrittenDocument

MAX_PHRASING_CHARS = 500
_EMPHASIS = re.compile(r"[*_`#]+")
_HEADING = re.compile(r"^ {0,3}#{1,6}[ \t]+(.+?)[ \t#]*$", re.MULTILINE)
_BOLD = r"**\1**"
"""A heading inside a written text, as a bold line ("## Steps" → "**Steps**")."""


@dataclass(frozen=True, slots=True)
class Written:
    """A written document as an ingest run reads it."""

    source: str
    title: str
    section: str
    text: str

    def markdown(self) -> str:
        """One section: headings inside the text become bold lines, so it stays one (a link
        names it)."""
        text = _HEADING.sub(_BOLD, self.text)
        return f"# {self.title}\n\n## {self.section}\n\n{text}\n"


@dataclass(frozen=True, slots=True)
class Link:
    """A phrasing linked to a section: `section` as the index names it (`ChunkRecord.section`)."""

    source: str
    section: str
    text: str


def heading(text: str) -> str:
    """`text` as a one-line heading, as the index names a section (no markdown emphasis)."""
    return _EMPHASIS.sub("", " ".join(text.split())).strip()[:500]


def put_document(session: Session, *, source: str, title: str, section: str, text: str) -> str:
    """Write (or rewrite) a document; the next ingest run indexes it. Returns the section's name
    in the index (`heading`), to link phrasings to."""
    row = session.get(WrittenDocument, source)
    if row is None:
        row = WrittenDocument(source=source)
        session.add(row)
    row.title, row.section, row.text, row.updated_at = heading(title), heading(section), text, utcnow()
    return row.section


def remove_document(session: Session, *, source: str) -> None:
    """Delete a written document; the next ingest run takes it out of the index."""
    session.execute(delete(WrittenDocument).where(WrittenDocument.source == source))


def link(session: Session, *, collection: str, links: Sequence[Link]) -> int:
    """Link each phrasing to its section (once: two people linking the same wording at once make
    one row), and give the collection a new index version if any link is new; how many were."""
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    added = 0
    for source, section, text in {(item.source, item.section, item.text[:MAX_PHRASING_CHARS]) for item in links}:
        statement = insert(LinkedPhrasing).values(source=source, section=section, text=text, created_at=utcnow())
        result = session.execute(statement.on_conflict_do_nothing(index_elements=["source", "section", "text"]))
        added += int(getattr(result, "rowcount", 0) or 0)
    if added:
        _changed(session, collection, {item.source for item in links})
    return added


def unlink(session: Session, *, collection: str, links: Sequence[Link]) -> int:
    """Remove these links (those that exist); how many were removed."""
    removed = 0
    for item in links:
        result = session.execute(
            delete(LinkedPhrasing).where(
                LinkedPhrasing.source == item.source,
                LinkedPhrasing.section == item.section,
                LinkedPhrasing.text == item.text[:MAX_PHRASING_CHARS],
            )
        )
        removed += int(getattr(result, "rowcount", 0) or 0)
    if removed:
        _changed(session, collection, {item.source for item in links})
    return removed


def move_links(session: Session, *, collection: str, source: str, section: str, to: str) -> None:
    """Point the phrasings linked to one section of a document at its section `to` (a written
    document whose heading changed)."""
    moved = session.execute(
        update(LinkedPhrasing)
        .where(LinkedPhrasing.source == source, LinkedPhrasing.section == section)
        .values(section=to)
        .execution_options(synchronize_session=False)
    )
    if getattr(moved, "rowcount", 0):
        _changed(session, collection, {source})


def unlink_source(session: Session, *, collection: str, source: str) -> int:
    """Remove every phrasing linked to a document (a written one withdrawn)."""
    result = session.execute(delete(LinkedPhrasing).where(LinkedPhrasing.source == source))
    removed = int(getattr(result, "rowcount", 0) or 0)
    if removed:
        _changed(session, collection, {source})
    return removed


def _changed(session: Session, collection: str, sources: set[str]) -> None:
    session.execute(
        update(KnowledgeDocument).where(KnowledgeDocument.source.in_(sorted(sources))).values(updated_at=utcnow())
    )
    bump_version_in(session, collection)


def linked_to(session: Session, *, source: str) -> bool:
    """Whether any phrasing is linked to the document."""
    session.flush()
    return session.scalar(select(LinkedPhrasing.id).where(LinkedPhrasing.source == source).limit(1)) is not None


async def written_documents(session: AsyncSession) -> list[Written]:
    rows = await session.scalars(select(WrittenDocument).order_by(WrittenDocument.source))
    return [Written(row.source, row.title, row.section, row.text) for row in rows]


async def links(session: AsyncSession) -> list[Link]:
    rows = await session.execute(
        select(LinkedPhrasing.source, LinkedPhrasing.section, LinkedPhrasing.text).order_by(LinkedPhrasing.id)
    )
    return [Link(source, section, text) for source, section, text in rows]
