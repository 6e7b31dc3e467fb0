"""The server's scheduler: a scheduled re-index runs the configured job (in a child process) and
every run is recorded with its counts; retention and the case SLA run beside it.

The re-index child runs at nice +10, so on a busy machine a run takes as long as the load
makes it: the test waits for each run the scheduler reports done, never for a wall-clock
budget, and stops at the first run recorded as failed. Only a generous outer bound (far beyond
the 401 s measured with two busy loops beside it) turns a hang into a failure: if the two file
changes land in different runs, no single run ever shows both."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path

import pytest
from apscheduler.events import EVENT_JOB_ERROR, EVENT_JOB_EXECUTED, JobExecutionEvent
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.ops.reindex_process import ReindexRunner
from core.ops.runtime import open_database, open_runtime
from core.ops.scheduler import add_reindex_jobs, build_scheduler, expire_idle_conversations
from core.settings import MemorySettings, ScheduleJob, Settings
from core.store.db import Contact, Conversation
from core.store.transactions import Transactions
from knowledge.base import KnowledgeBase
from knowledge.settings import KnowledgeSettings
from knowledge.tables import IndexRun


async def finished_runs(sessionmaker: object) -> list[IndexRun]:
    async with sessionmaker() as session:  # type: ignore[operator]
        rows = await session.execute(select(IndexRun).where(IndexRun.finished_at.is_not(None)).order_by(IndexRun.id))
        return list(rows.scalars())


def runs_reported(scheduler: AsyncIOScheduler) -> asyncio.Queue[JobExecutionEvent]:
    """Each run of a job, as the scheduler reports it done (or raising)."""
    reported: asyncio.Queue[JobExecutionEvent] = asyncio.Queue()
    loop = asyncio.get_running_loop()
    scheduler.add_listener(
        lambda event: loop.call_soon_threadsafe(reported.put_nowait, event), EVENT_JOB_EXECUTED | EVENT_JOB_ERROR
    )
    return reported


async def next_finished_run(ran: asyncio.Queue[JobExecutionEvent], sessionmaker: object) -> list[IndexRun]:
    """The runs recorded once the scheduler reports the next run done; a failed run fails the test."""
    event = await ran.get()
    assert event.exception is None, f"the job raised {event.exception!r}"
    runs = await finished_runs(sessionmaker)
    assert runs and runs[-1].error is None, f"the re-index failed: {runs[-1].error if runs else 'no run recorded'}"
    return runs


@pytest.mark.slow("re-index child processes, one each interval")
async def test_an_interval_job_reindexes_and_records_each_run(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "hours.md").write_text("# Support hours\n\nWe answer Monday to Friday, 07:00-19:00 UTC.\n")
    settings = Settings(
        data_dir=tmp_path / "data",
        knowledge=KnowledgeSettings(paths=[docs], max_removed_share=1),  # its one file goes: not a mistake here
        schedule=[ScheduleJob(name="often", interval_minutes=0.01)],
    )
    async with open_database(settings) as (_, sessionmaker):
        knowledge = await asyncio.to_thread(
            partial(KnowledgeBase.open, settings.knowledge, data_dir=settings.data_dir, sessionmaker=sessionmaker)
        )
        scheduler = AsyncIOScheduler()
        add_reindex_jobs(scheduler, settings, ReindexRunner(settings, knowledge))
        assert [job.id for job in scheduler.get_jobs()] == ["reindex:often"]
        ran = runs_reported(scheduler)
        scheduler.start()
        try:
            runs = await next_finished_run(ran, sessionmaker)
            assert (runs[0].trigger, runs[0].added) == ("schedule:often", 1)
            (docs / "refunds.md").write_text("# Refunds\n\nRefunds are possible within 30 days.\n")
            (docs / "hours.md").unlink()
            try:
                async with asyncio.timeout(900):  # a safety net against a hang, not a budget
                    while not any(r.added == 1 and r.removed == 1 for r in runs):
                        runs = await next_finished_run(ran, sessionmaker)
            except TimeoutError:
                raise AssertionError(
                    "no run within 900 s both added refunds.md and removed hours.md; "
                    f"runs (added, removed): {[(r.added, r.removed) for r in runs]}"
                ) from None
        finally:
            scheduler.shutdown(wait=False)
        hits = await knowledge.search("can I get my money back?", 3)
        await knowledge.aclose()
    assert [h.title for h in hits] == ["Refunds"]


async def test_the_server_schedules_reindexing_retention_and_the_case_sla(
    make_settings: Callable[..., Settings],
) -> None:
    settings = make_settings(
        memory=MemorySettings(retention_days=30), schedule=[ScheduleJob(name="nightly", cron="0 3 * * *")]
    )
    async with open_runtime(settings, {}) as runtime:
        jobs = {job.id: job for job in build_scheduler(settings, runtime).get_jobs()}
        assert set(jobs) == {"reindex:nightly", "retention", "case-sla"}
        assert "hour='3', minute='0'" in str(jobs["reindex:nightly"].trigger)
        assert jobs["reindex:nightly"].args == (runtime.reindexer, "nightly")
        assert (jobs["retention"].trigger.interval, jobs["retention"].args) == (
            timedelta(hours=1),
            (runtime.transactions, 30),
        )
        assert (jobs["case-sla"].trigger.interval, jobs["case-sla"].args) == (timedelta(minutes=1), (runtime.hub,))


def _conversations(session: Session, *, count: int, idle_since: datetime) -> None:
    for _ in range(count):
        contact = Contact()
        session.add(contact)
        session.flush()
        session.add(Conversation(contact_id=contact.id, channel="api", chat_id=contact.id, updated_at=idle_since))


def _conversation_count(session: Session) -> int:
    return int(session.scalar(select(func.count()).select_from(Conversation)) or 0)


@pytest.mark.postgres
async def test_retention_expires_a_backlog_larger_than_one_transaction_takes(
    transactions: Transactions, caplog: pytest.LogCaptureFixture
) -> None:
    """Retention turned on over a long history deletes it all, a batch per transaction, so no
    statement runs into PostgreSQL's statement timeout (`core.ops.privacy.RETENTION_BATCH`)."""
    caplog.set_level("INFO", logger="core.ops.scheduler")
    await transactions.run(partial(_conversations, count=5, idle_since=datetime.now(UTC) - timedelta(days=40)))
    await transactions.run(partial(_conversations, count=1, idle_since=datetime.now(UTC)))
    await expire_idle_conversations(transactions, 30, batch=2)
    assert await transactions.run(_conversation_count) == 1
    assert "retention: deleted 5 conversations idle for more than 30 days" in caplog.messages
