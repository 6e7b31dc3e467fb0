"""Documents a help centre pushes rather than the hub fetches: a help-centre editor's webhook
sends a changed article (`POST /api/knowledge/documents`), and it is searchable after the next
ingest run, which the API starts at once.

A pushed document keeps its content as sent (markdown, HTML or text): every run converts it
like a file of that format, so a conversion change reaches it too. Its name in the index is
`api/<id>` (a push under the name of a file that is indexed, one under a folder named `api`,
is refused); it is removed from the index by the first run after its row is deleted
(`knowledge.ingest.origins`: `api`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from knowledge.ingest import origins
from knowledge.sql_types import utcnow
from knowledge.tables import KnowledgeDocument, PushedDocument

FORMATS = {"markdown": ".md", "html": ".html", "text": ".txt"}
"""A pushed document's format, and the file suffix it is converted as."""
ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,199}")
"""A pushed document's id: the help centre's own (an article number, a slug)."""
PREFIX = "api/"


@dataclass(frozen=True, slots=True)
class Pushed:
    """A pushed document as an ingest run reads it."""

    source: str
    title: str
    url: str
    format: str
    content: str


def source_of(document_id: str) -> str:
    """The name in the index of the document pushed as `document_id`."""
    return f"{PREFIX}{document_id}"


class NameTaken(Exception):
    """Another document (a file under a folder named `api`) is indexed under the name a pushed
    document would have."""


def put(session: Session, *, document_id: str, title: str, url: str, format: str, content: str) -> bool:
    """Write (or rewrite) a pushed document; True when it is new. Raises `NameTaken`."""
    taken = session.scalar(select(KnowledgeDocument.origin).where(KnowledgeDocument.source == source_of(document_id)))
    if taken is not None and taken != origins.API:
        raise NameTaken(f"{source_of(document_id)} is the name of a document that was not pushed; use another id")
    row = session.get(PushedDocument, source_of(document_id))
    new = row is None
    if row is None:
        row = PushedDocument(source=source_of(document_id))
        session.add(row)
    row.title, row.url, row.format, row.content, row.updated_at = title, url, format, content, utcnow()
    return new


def remove(session: Session, *, document_id: str) -> bool:
    """Delete a pushed document; False when there was none."""
    result = session.execute(delete(PushedDocument).where(PushedDocument.source == source_of(document_id)))
    return bool(getattr(result, "rowcount", 0))


async def pushed_documents(session: AsyncSession) -> list[Pushed]:
    rows = await session.scalars(select(PushedDocument).order_by(PushedDocument.source))
    return [Pushed(row.source, row.title, row.url, row.format, row.content) for row in rows]
