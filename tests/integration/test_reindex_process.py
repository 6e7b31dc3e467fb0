"""The server's re-index runs in a child process: at a lower priority, its failures reported
with their reason, stopped with the server, one at a time, and what it publishes searched at once."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import partial
from pathlib import Path

import psutil
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.cli.reindex_child import NICENESS
from core.ops.reindex_process import ReindexFailed, ReindexRunner, settings_json
from core.ops.runtime import open_database
from core.settings import Settings
from knowledge.base import KnowledgeBase
from knowledge.ingest.ingestor import STOPPED
from knowledge.settings import KnowledgeSettings
from knowledge.tables import IndexRun

pytestmark = pytest.mark.slow("re-index child processes")


async def runs(sessionmaker: async_sessionmaker[AsyncSession]) -> list[IndexRun]:
    async with sessionmaker() as session:
        return list((await session.execute(select(IndexRun).order_by(IndexRun.id))).scalars())


def reindex_children() -> list[psutil.Process]:
    return [child for child in psutil.Process().children() if "core.cli.reindex_child" in " ".join(child.cmdline())]


@pytest.fixture
def docs(tmp_path: Path) -> Path:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "refunds.md").write_text("# Refunds\n\nRefunds are possible within 30 days of purchase.\n")
    return docs


@asynccontextmanager
async def open_runner(
    settings: Settings,
) -> AsyncIterator[tuple[ReindexRunner, KnowledgeBase, async_sessionmaker[AsyncSession]]]:
    """A runner as the server holds one, beside the knowledge base it loads each run into."""
    async with open_database(settings) as (_, sessionmaker):
        knowledge = await asyncio.to_thread(
            partial(KnowledgeBase.open, settings.knowledge, data_dir=settings.data_dir, sessionmaker=sessionmaker)
        )
        runner = ReindexRunner(settings, knowledge)
        try:
            yield runner, knowledge, sessionmaker
        finally:
            await runner.aclose()
            await knowledge.aclose()


async def test_runs_asked_for_together_take_turns_and_this_process_searches_them_at_once(
    docs: Path,
    tmp_path: Path,
) -> None:
    settings = Settings(data_dir=tmp_path / "data", knowledge=KnowledgeSettings(paths=[docs]))
    async with open_runner(settings) as (runner, knowledge, sessionmaker):
        first, second = await asyncio.gather(runner.run("admin:first"), runner.run("schedule:second"))
        assert (first.trigger, first.added, first.chunks_embedded) == ("admin:first", 1, 1)
        assert (second.trigger, second.added, second.unchanged) == ("schedule:second", 0, 1)
        earlier, later = await runs(sessionmaker)
        assert (earlier.trigger, earlier.added, earlier.error) == ("admin:first", 1, None)
        assert earlier.finished_at is not None and later.started_at >= earlier.finished_at
        assert [hit.title for hit in knowledge.search_sync("can I get my money back?", 1)] == ["Refunds"]


async def test_a_failed_run_says_why(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data", knowledge=KnowledgeSettings(paths=[tmp_path / "unmounted"]))
    async with open_runner(settings) as (runner, _, sessionmaker):
        with pytest.raises(ReindexFailed, match="knowledge path not found, nothing removed"):
            await runner.run("schedule:test")
        [run] = await runs(sessionmaker)
        assert run.error is not None and "knowledge path not found" in run.error


async def test_the_child_runs_at_a_lower_priority_and_stops_with_the_server(docs: Path, tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data", knowledge=KnowledgeSettings(paths=[docs]))
    async with open_runner(settings) as (runner, _, sessionmaker):
        run = asyncio.create_task(runner.run("schedule:test"))
        async with asyncio.timeout(60):
            while not await runs(sessionmaker):  # the run started (its model loads next)
                await asyncio.sleep(0.02)
        [child] = reindex_children()
        assert child.nice() == os.nice(0) + NICENESS
        run.cancel()
        with pytest.raises(asyncio.CancelledError):
            await run
        assert not child.is_running()
        assert reindex_children() == []
        [stopped] = await runs(sessionmaker)
        assert (stopped.error, stopped.finished_at is not None) == (STOPPED, True)


async def test_past_brute_force_this_process_searches_what_each_run_wrote_to_chroma(docs: Path, tmp_path: Path) -> None:
    """Chroma's HNSW index in this process does not see another process's writes; each run
    published reopens it."""
    (docs / "refunds.md").rename(docs / "later.md.off")
    (docs / "hours.md").write_text("# Support hours\n\nWe answer Monday to Friday, 07:00-19:00 UTC.\n")
    settings = Settings(data_dir=tmp_path / "data", knowledge=KnowledgeSettings(paths=[docs], brute_force_max_chunks=0))
    async with open_runner(settings) as (runner, knowledge, _):
        await runner.run("schedule:first")
        assert not knowledge.local.snapshot.has_vectors
        assert [hit.title for hit in knowledge.search_sync("when are you open?", 1)] == ["Support hours"]
        (docs / "later.md.off").rename(docs / "refunds.md")
        assert (await runner.run("schedule:second")).added == 1
        assert [hit.title for hit in knowledge.search_sync("can I get my money back?", 1)] == ["Refunds"]


def test_the_child_rebuilds_the_servers_settings_whole(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Checks across sections (Slack's socket mode needs its app token from the environment)
    must pass in the child as they did in the server, secrets included."""
    monkeypatch.setenv("SUPPORTHUB_SLACK__BOT_TOKEN", "xoxb-1")
    monkeypatch.setenv("SUPPORTHUB_SLACK__APP_TOKEN", "xapp-1")
    server = Settings(
        data_dir=tmp_path, slack={"socket_mode": True}, llm={"base_url": "http://llm.example", "api_key": "sk-secret"}
    )
    assert Settings(**settings_json(server)) == server
