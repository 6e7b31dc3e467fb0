"""The server's scheduled jobs: re-indexing (one per `[[schedule]]` entry), retention of idle
conversations, and the case SLA reminder. Only the leader among the hub processes runs them
(core.ops.leadership): `LeaderJobs` starts a scheduler when this process becomes leader and
stops it — cancelling running jobs — when it stops leading. A job's failure is logged,
never raised, and its next run tries again; every job is safe to run twice (re-index skips
unchanged files, retention deletes what is still there, a case is reminded once: the
reminder claims it with a skip-locked row lock).

Re-index runs mirror `knowledge.paths` and `knowledge.sources` (new and changed documents
indexed, gone ones dropped, as `knowledge.ingest.origins` says).
Each run is a child process (`core.ops.reindex_process`), so the event loop keeps answering.
Runs of a job never overlap (`max_instances=1`) and missed runs collapse into one
(`coalesce`); the runner also serialises a scheduled run with the dashboard's.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from functools import partial

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from core.handoff.waiting import WaitingMail
from core.invariants import InvariantError
from core.metrics import LEADER
from core.ops.privacy import RETENTION_BATCH, expire_conversations
from core.ops.reindex_process import ReindexFailed, ReindexRunner
from core.ops.runtime import Runtime
from core.pipeline.hub import Hub
from core.settings import ScheduleJob, Settings
from core.store.transactions import Transactions

log = logging.getLogger(__name__)


def build_scheduler(settings: Settings, runtime: Runtime) -> AsyncIOScheduler:
    """A scheduler holding every job of the server (not started)."""
    scheduler = AsyncIOScheduler()
    add_reindex_jobs(scheduler, settings, runtime.reindexer)
    if settings.memory.retention_days:
        scheduler.add_job(
            expire_idle_conversations,
            trigger=IntervalTrigger(hours=1),
            args=(runtime.transactions, settings.memory.retention_days),
            id="retention",
            name="expire idle conversations",
            max_instances=1,
            coalesce=True,
            next_run_time=datetime.now(UTC),
        )
    case_checks: list[tuple[str, str, Callable[..., Awaitable[None]], object]] = [
        ("case-sla", "remind overdue cases", remind_overdue_cases, runtime.hub)
    ]
    if runtime.waiting_mail is not None:
        case_checks.append(
            ("case-waiting-mail", "mail the staff about waiting cases", mail_waiting_cases, runtime.waiting_mail)
        )
    for job_id, name, check, subject in case_checks:
        scheduler.add_job(
            check,
            trigger=IntervalTrigger(seconds=settings.handoff.sla_check_s),
            args=(subject,),
            id=job_id,
            name=name,
            max_instances=1,
            coalesce=True,
            next_run_time=datetime.now(UTC),  # a new leader checks at once
        )
    return scheduler


class LeaderJobs:
    """What only the leader runs: the scheduled jobs."""

    def __init__(self, settings: Settings, runtime: Runtime) -> None:
        self._settings = settings
        self._runtime = runtime
        self._scheduler: AsyncIOScheduler | None = None

    async def start(self) -> None:
        self._scheduler = build_scheduler(self._settings, self._runtime)
        self._scheduler.start()
        LEADER.set(1)

    async def stop(self) -> None:
        LEADER.set(0)
        if self._scheduler is not None:
            self._scheduler.shutdown(wait=False)  # cancels the jobs running now
            self._scheduler = None


def add_reindex_jobs(scheduler: AsyncIOScheduler, settings: Settings, reindexer: ReindexRunner) -> None:
    """One re-index job per configured schedule entry."""
    for job in settings.schedule:
        scheduler.add_job(
            reindex_knowledge,
            trigger=trigger_for(job),
            args=(reindexer, job.name),
            id=f"reindex:{job.name}",
            name=f"re-index {job.name}",
            max_instances=1,
            coalesce=True,
            misfire_grace_time=300,
            replace_existing=True,
        )


def trigger_for(job: ScheduleJob) -> BaseTrigger:
    """A crontab line (validated with the settings) or an interval."""
    if job.cron is not None:
        return CronTrigger.from_crontab(job.cron)
    if job.interval_minutes is None:
        raise InvariantError(
            f"schedule job {job.name!r} has neither cron nor interval_minutes (the settings validator guarantees one)"
        )
    return IntervalTrigger(minutes=job.interval_minutes)


async def reindex_knowledge(reindexer: ReindexRunner, name: str) -> None:
    """One scheduled re-index run (recorded in index_runs, failed or not)."""
    log.info("scheduled re-index %r starting", name)
    try:
        summary = await reindexer.run(f"schedule:{name}")
    except ReindexFailed as exc:  # the child logged its traceback
        log.error("scheduled re-index %r failed: %s", name, exc)
        return
    except Exception:
        log.exception("scheduled re-index %r failed", name)
        return
    log.info("scheduled re-index %r: %s", name, summary.line)


async def expire_idle_conversations(transactions: Transactions, days: int, *, batch: int = RETENTION_BATCH) -> None:
    """The retention job (hourly, and once at start-up), `batch` conversations a transaction."""
    idle_since = datetime.now(UTC) - timedelta(days=days)
    expired = 0
    try:
        while deleted := await transactions.run(partial(expire_conversations, idle_since=idle_since, limit=batch)):
            expired += deleted
    except Exception:
        log.exception("retention: expiring conversations failed after deleting %d", expired)
        return
    if expired:
        log.info("retention: deleted %d conversations idle for more than %d days", expired, days)


async def mail_waiting_cases(waiting: WaitingMail) -> None:
    """Mail the staff about cases waiting with nobody signed in (every `handoff.sla_check_s`)."""
    try:
        mailed = await waiting.tell()
    except Exception:
        log.exception("desk: mailing the staff about waiting cases failed")
        return
    if mailed:
        log.info("desk: mailed the staff about %d waiting cases, nobody being signed in", mailed)


async def remind_overdue_cases(hub: Hub) -> None:
    """The SLA job (every `handoff.sla_check_s`)."""
    try:
        reminded = await hub.remind_overdue_cases()
    except Exception:
        log.exception("desk: checking overdue cases failed")
        return
    if reminded:
        log.info("desk: reminded staff of %d unanswered cases", reminded)
