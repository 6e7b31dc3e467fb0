"""A help centre's website as the index keeps it, run after run of `reindex` against a local
site: its pages crawled without their chrome and cited by their URL; crawled again with 304s; a
changed page re-indexed; a page that failed or went missing kept, and removed only once it has
been gone for the grace period; the disallowed path never fetched; a source taken out of the
settings takes its pages with it."""

from __future__ import annotations

import asyncio
import contextlib
import re
from datetime import timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from core.store.db import make_sessionmaker
from knowledge.base import KnowledgeBase
from knowledge.search.index import ChunkRecord
from knowledge.tables import IndexRun, KnowledgeDocument
from tests.fakes.help_site import CHROME_PHRASES, FakeHelpSite, article
from tests.settle import until
from tests.unit.knowledge.web.conftest import source_for


async def documents(engine: AsyncEngine) -> dict[str, KnowledgeDocument]:
    async with make_sessionmaker(engine)() as session:
        return {row.source: row for row in await session.scalars(select(KnowledgeDocument))}


async def first_hit(kb: KnowledgeBase, query: str) -> Any:
    [hit, *_] = await kb.search(query, 3)
    return hit


async def test_a_website_is_indexed_without_its_chrome_cited_by_url_and_crawled_again_with_304s(
    kb: KnowledgeBase, kb_engine: AsyncEngine, help_site: FakeHelpSite
) -> None:
    source = source_for(help_site)
    first = await kb.reindex([], sites=[source], trigger="first")
    getting_started = help_site.url_of("/help/getting-started")
    whats_new = help_site.url_of("/help/whats-new")
    assert first.added == 4, first  # the home page, getting started, billing, refunds
    assert sorted((s.source, s.reason) for s in first.skipped_files) == [
        (help_site.url_of("/help/whats-new"), "listed or linked, but gone (404 or 410)"),
        (help_site.url_of("/private/staff-notes"), "disallowed by robots.txt: never fetched"),
    ]
    hit = await first_hit(kb, "how do I create a workspace?")
    assert (hit.source, hit.url, hit.section) == (getting_started, getting_started, "Create your workspace")
    stored = await documents(kb_engine)
    assert {row.origin for row in stored.values()} == {"site:help"}
    for row in stored.values():
        for chunk in await kb.search(row.title, 10):
            assert not any(phrase in chunk.text for phrase in CHROME_PHRASES), chunk.text
    assert help_site.requests_to("/private/") == []

    before = len(help_site.requests)
    second = await kb.reindex([], sites=[source], trigger="again")
    assert (second.added, second.changed, second.removed, second.unchanged) == (1, 0, 0, 4)  # what's new is back
    pages = [r for r in help_site.requests[before:] if r.path.startswith("/help/") and r.path != "/help/whats-new"]
    assert pages and all(r.status == 304 and r.headers.get("If-None-Match") for r in pages)
    assert (await first_hit(kb, "when did dark mode arrive?")).source == whats_new

    help_site.change("/help/billing", article("Billing and invoices", "<p>Invoices now arrive on the 5th.</p>"))
    changed = await kb.reindex([], sites=[source], trigger="changed")
    assert (changed.added, changed.changed, changed.unchanged) == (0, 1, 4)
    assert "5th" in (await first_hit(kb, "when do invoices arrive?")).text
    assert help_site.requests_to("/private/") == []


async def test_a_page_that_fails_is_kept_and_one_gone_is_removed_only_after_the_grace_period(
    kb: KnowledgeBase, kb_engine: AsyncEngine, help_site: FakeHelpSite
) -> None:
    source = source_for(help_site, grace_hours=72)
    await kb.reindex([], sites=[source], trigger="first")
    refunds = help_site.url_of("/help/billing/refunds")
    billing = help_site.url_of("/help/billing")

    help_site.fail("/help/billing", status=503)
    failed = await kb.reindex([], sites=[source], trigger="server error")
    assert failed.removed == 0
    assert any(s.source == billing and "503" in s.reason for s in failed.skipped_files), failed.skipped_files
    assert (await first_hit(kb, "when are invoices issued?")).source == billing

    help_site.remove("/help/billing/refunds")
    missing = await kb.reindex([], sites=[source], trigger="gone once")
    assert missing.removed == 0
    since = (await documents(kb_engine))[refunds].missing_since
    assert since is not None
    assert (await first_hit(kb, "are yearly plans refunded?")).source == refunds
    still = await kb.reindex([], sites=[source], trigger="gone twice")
    assert still.removed == 0 and (await documents(kb_engine))[refunds].missing_since == since

    async with make_sessionmaker(kb_engine)() as session, session.begin():  # three days pass
        await session.execute(
            update(KnowledgeDocument)
            .where(KnowledgeDocument.source == refunds)
            .values(missing_since=since - timedelta(hours=73))
        )
    removed = await kb.reindex([], sites=[source], trigger="gone for good")
    assert removed.removed == 1
    assert refunds not in await documents(kb_engine)
    assert all(hit.source != refunds for hit in await kb.search("are yearly plans refunded?", 5))


async def test_a_page_back_within_the_grace_period_is_no_longer_marked_gone(
    kb: KnowledgeBase, kb_engine: AsyncEngine, help_site: FakeHelpSite
) -> None:
    source = source_for(help_site)
    await kb.reindex([], sites=[source], trigger="first")
    refunds = help_site.url_of("/help/billing/refunds")
    help_site.flaky("/help/billing/refunds", failures=1, status=404)
    await kb.reindex([], sites=[source], trigger="a 404")
    assert (await documents(kb_engine))[refunds].missing_since is not None
    back = await kb.reindex([], sites=[source], trigger="back")
    assert back.removed == 0
    assert (await documents(kb_engine))[refunds].missing_since is None


async def test_a_crawl_that_cannot_read_the_sitemap_removes_nothing(
    kb: KnowledgeBase, kb_engine: AsyncEngine, help_site: FakeHelpSite
) -> None:
    source = source_for(help_site, grace_hours=0)
    await kb.reindex([], sites=[source], trigger="first")
    help_site.serve("/sitemap.xml", "down for maintenance", content_type="text/plain", status=503)
    incomplete = await kb.reindex([], sites=[source], trigger="sitemap down")
    assert incomplete.removed == 0 and len(await documents(kb_engine)) == 4
    assert any("the crawl is incomplete" in s.reason for s in incomplete.skipped_files), incomplete.skipped_files


async def test_a_website_source_taken_out_of_the_settings_takes_its_pages_with_it(
    kb: KnowledgeBase, kb_engine: AsyncEngine, help_site: FakeHelpSite
) -> None:
    source = source_for(help_site, kind="site")
    first = await kb.reindex([], sites=[source], trigger="first")
    assert help_site.url_of("/help/billing/refunds") in await documents(kb_engine)  # linked only from billing
    assert first.added == 4
    not_crawled = await kb.reindex([], sites=[source], crawl=False, trigger="approved answer")
    assert (not_crawled.removed, len(await documents(kb_engine))) == (0, 4)
    dropped = await kb.reindex([], sites=[], trigger="source removed")
    assert dropped.removed == 4 and await documents(kb_engine) == {}


async def test_a_store_that_disagrees_with_the_table_loses_no_page_a_run_did_not_crawl(
    kb: KnowledgeBase, kb_engine: AsyncEngine, help_site: FakeHelpSite
) -> None:
    """When the vector store and the table disagree (here: a chunk of no document), a run
    rewrites what it converts and drops the stray chunks, but a page it did not crawl (an
    approved answer's run) keeps its chunks rather than vanishing from search."""
    source = source_for(help_site)
    await kb.reindex([], sites=[source], trigger="first")
    stray = ChunkRecord("stray-0", "deleted-long-ago.md", "Old", "Old", "an orphan chunk about tax forms")
    kb.dense.add([stray], kb.embedder.encode([stray.text]))
    quiet = await kb.reindex([], sites=[source], crawl=False, trigger="approved answer")
    assert quiet.removed == 0
    hit = await first_hit(kb, "how do I create a workspace?")
    assert hit.source == help_site.url_of("/help/getting-started")
    assert all(hit.source != "deleted-long-ago.md" for hit in await kb.search("tax forms", 5))


async def test_a_crawl_under_way_shows_its_progress_on_its_run_until_it_ends(
    kb: KnowledgeBase, kb_engine: AsyncEngine, help_site: FakeHelpSite
) -> None:
    help_site.stall("/help/billing/refunds")  # answers only when the site closes: the crawl waits on it
    source = source_for(help_site, timeout_s=600)
    run = asyncio.create_task(kb.reindex([], sites=[source], trigger="slow site"))

    async def progress() -> str | None:
        async with make_sessionmaker(kb_engine)() as session:
            row = await session.scalar(select(IndexRun).order_by(IndexRun.id.desc()).limit(1))
            return row.progress if row is not None and row.progress and " of " in row.progress else None

    shown = await until(progress, timeout=60, what="the crawl's progress on its run")
    assert re.fullmatch(r"crawling help: \d+ of \d+ pages", shown), shown
    run.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await run
    async with make_sessionmaker(kb_engine)() as session:
        ended = await session.scalar(select(IndexRun).order_by(IndexRun.id.desc()).limit(1))
    assert ended is not None and ended.finished_at is not None and ended.progress is None
    assert ended.error == "stopped before it finished"


async def test_a_reindex_not_told_about_websites_leaves_their_pages_as_they_are(
    kb: KnowledgeBase, kb_engine: AsyncEngine, help_site: FakeHelpSite
) -> None:
    await kb.reindex([], sites=[source_for(help_site)], trigger="first")
    before = len(help_site.requests)
    untold = await kb.reindex([], trigger="folders only")
    assert (untold.removed, len(await documents(kb_engine))) == (0, 4)
    assert len(help_site.requests) == before  # nothing crawled either
