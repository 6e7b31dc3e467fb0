"""What people write for the index (`knowledge.ingest.written`): a written document is indexed by any
ingest run, cited like a file, kept by a re-index of the files and gone once removed; a phrasing
linked to a section makes that section the first hit for those words, here and on a host that
follows the index version."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.orm import Session

from core.store.db import make_sessionmaker
from knowledge.base import KnowledgeBase
from knowledge.embedding.embedder import Embedder
from knowledge.ingest import written
from tests.unit.knowledge.test_index_versions import other_host

ARTICLES = {
    "inviting-people.md": """# Inviting people

## Add a teammate to your workspace

Open Settings › Members and choose Invite. Each teammate gets an email with a link to join.
""",
    "billing.md": """# Billing

## Download an invoice for your accountant

Invoices are under Settings › Billing › Invoices. Choose Download to get a PDF for your accountant.
""",
    "exports.md": """# Exporting your data

## CSV export

Choose Export › CSV in any board to download its cards as a spreadsheet.
""",
}
WORDING = "can our accountant have a login"
"""A customer's words for inviting someone, which the bi-encoder reads as billing."""


def write_articles(root: Path) -> Path:
    docs = root / "docs"
    docs.mkdir()
    for name, text in ARTICLES.items():
        (docs / name).write_text(text, encoding="utf-8")
    return docs


async def write(engine: AsyncEngine, change: Callable[[Session], Any]) -> Any:
    async with make_sessionmaker(engine)() as session, session.begin():
        return await session.run_sync(change)


async def test_a_written_document_is_indexed_cited_kept_by_a_reindex_and_gone_once_removed(
    kb: KnowledgeBase, kb_engine: AsyncEngine, tmp_path: Path
) -> None:
    docs = write_articles(tmp_path)
    await kb.reindex([docs], trigger="test")
    question = "Can I pay by bank transfer instead of card?"
    assert all(hit.source != "team/1" for hit in await kb.search(question))

    await write(
        kb_engine,
        lambda s: written.put_document(
            s,
            source="team/1",
            title="Support team answers",
            section=question,
            text="Yes: on the Business plan, ask us for an invoice and pay it by bank transfer within 30 days.",
        ),
    )
    summary = await kb.ingest([], trigger="test")
    assert summary.added == 1
    [best, *_] = await kb.search("pay with a bank transfer rather than a credit card")
    assert (best.source, best.title, best.section) == ("team/1", "Support team answers", question)
    assert "bank transfer within 30 days" in best.text

    pruned = await kb.reindex([docs], trigger="test")  # a re-index of the files alone
    assert (pruned.removed, pruned.unchanged) == (0, 4)
    assert (await kb.search("pay with a bank transfer rather than a credit card"))[0].source == "team/1"

    await write(kb_engine, lambda s: written.remove_document(s, source="team/1"))
    gone = await kb.ingest([], trigger="test")
    assert gone.removed == 1
    assert all(hit.source != "team/1" for hit in await kb.search("pay with a bank transfer rather than a credit card"))


async def test_a_linked_phrasing_makes_its_section_the_first_hit_until_unlinked(
    kb: KnowledgeBase, kb_engine: AsyncEngine, tmp_path: Path, embedder: Embedder
) -> None:
    docs = write_articles(tmp_path)
    await kb.reindex([docs], trigger="test")
    before = await kb.search(WORDING)
    assert before[0].source != "docs/inviting-people.md", "the wording must not find the article on its own"
    link = written.Link("docs/inviting-people.md", "Add a teammate to your workspace", WORDING)
    follower = other_host(embedder, kb_engine, tmp_path)
    await follower.catch_up()

    assert await write(kb_engine, lambda s: written.link(s, collection="knowledge", links=[link])) == 1
    await kb.ingest([], trigger="test")  # no chunk changed: the new version rebuilds the local index
    [best, *_] = await kb.search(WORDING)
    assert (best.source, best.section) == (link.source, link.section)
    assert best.relevance > 0.99 and best.phrasing_relevance is not None and best.phrasing_relevance > 0.99
    [near, *_] = await kb.search("could our accountant get a login too?")
    assert near.source == "docs/inviting-people.md"
    assert await follower.catch_up()
    assert (await follower.search(WORDING))[0].source == "docs/inviting-people.md"

    assert await write(kb_engine, lambda s: written.unlink(s, collection="knowledge", links=[link])) == 1
    await kb.ingest([], trigger="test")
    assert [hit.source for hit in await kb.search(WORDING)] == [hit.source for hit in before]
    await follower.aclose()
