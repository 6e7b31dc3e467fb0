"""Which run manages a document, as people meet it: a file ingested by hand inside a configured
folder is that folder's (named and linked as a re-index names it); website pages stay when a
re-index is not told about websites; documents people deleted on purpose do not trip the
removal guard; a pushed article may not take a file's name."""

from __future__ import annotations

from functools import partial
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from core.store.db import make_sessionmaker
from knowledge.base import KnowledgeBase
from knowledge.ingest import pushed, written
from knowledge.settings import FolderSource
from knowledge.tables import KnowledgeDocument
from tests.unit.knowledge.test_written import write


async def origins_by_source(engine: AsyncEngine) -> dict[str, tuple[str, str | None]]:
    async with make_sessionmaker(engine)() as session:
        rows = await session.execute(select(KnowledgeDocument.source, KnowledgeDocument.origin, KnowledgeDocument.url))
        return {source: (origin, url) for source, origin, url in rows}


async def test_a_file_ingested_by_hand_inside_a_configured_folder_is_that_folders(
    kb: KnowledgeBase, kb_engine: AsyncEngine, tmp_path: Path
) -> None:
    help_folder = tmp_path / "help"
    help_folder.mkdir()
    (help_folder / "hours.md").write_text("# Support hours\n\nMonday to Friday, 07:00-19:00 UTC.\n")
    configured = FolderSource(path=help_folder, base_url="https://help.example.com/a")
    await kb.ingest([help_folder / "hours.md"], trigger="by hand", managed=[configured])
    assert await origins_by_source(kb_engine) == {"help/hours.md": ("files", "https://help.example.com/a/hours")}
    again = await kb.reindex([configured], trigger="reindex")
    assert (again.added, again.changed, again.unchanged) == (0, 0, 1)  # the same document, not a second one


async def test_documents_deleted_on_purpose_do_not_count_against_the_removal_guard(
    guarded: KnowledgeBase, kb_engine: AsyncEngine, tmp_path: Path
) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "hours.md").write_text("# Support hours\n\nMonday to Friday, 07:00-19:00 UTC.\n")
    for name in ("invoices", "refunds", "vat"):
        answer = partial(
            written.put_document, source=f"answers/{name}", title="Support team answers", section=name, text=name
        )
        await write(kb_engine, answer)
    await guarded.reindex([docs], trigger="first")
    for name in ("invoices", "refunds", "vat"):
        await write(kb_engine, partial(written.remove_document, source=f"answers/{name}"))
    withdrawn = await guarded.reindex([docs], trigger="withdrawn")  # 3 of 4, but each was asked for
    assert withdrawn.removed == 3
    assert list(await origins_by_source(kb_engine)) == ["docs/hours.md"]


async def test_a_pushed_article_may_not_take_the_name_of_an_indexed_file(
    kb: KnowledgeBase, kb_engine: AsyncEngine, tmp_path: Path
) -> None:
    folder = tmp_path / "api"
    folder.mkdir()
    (folder / "faq.md").write_text("# FAQ\n\nAsk us anything.\n")
    await kb.reindex([folder], trigger="first")
    with pytest.raises(pushed.NameTaken, match=r"api/faq\.md is the name of a document that was not pushed"):
        await write(
            kb_engine,
            lambda session: pushed.put(
                session, document_id="faq.md", title="", url="", format="markdown", content="# Mine\n\nNot yours."
            ),
        )
