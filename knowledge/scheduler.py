"""Scheduled re-indexing: one APScheduler job per `[[schedule]]` entry of the settings.

Each run re-ingests `knowledge.paths` with pruning, so the index mirrors the folders. Runs of a
job never overlap (`max_instances=1`) and missed runs collapse into one (`coalesce`); the
ingestor's own lock also serialises a scheduled run with a CLI-triggered one in this process.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from core.settings import ScheduleJob, Settings

if TYPE_CHECKING:
    from knowledge.base import KnowledgeBase

log = logging.getLogger(__name__)


def trigger_for(job: ScheduleJob) -> BaseTrigger:
    """A crontab line (validated with the settings) or an interval."""
    if job.cron is not None:
        return CronTrigger.from_crontab(job.cron)
    assert job.interval_minutes is not None  # the settings validator guarantees one of the two
    return IntervalTrigger(minutes=job.interval_minutes)


async def reindex(settings: Settings, kb: KnowledgeBase, name: str) -> None:
    """One scheduled run; failures are logged (and recorded in index_runs), never raised."""
    trigger = f"schedule:{name}"
    log.info("scheduled re-index %r starting", name)
    try:
        summary = await kb.reindex(settings.knowledge.paths, trigger=trigger)
    except Exception:
        log.exception("scheduled re-index %r failed", name)
        return
    log.info("scheduled re-index %r: %s", name, summary.line)


def build_scheduler(settings: Settings, kb: KnowledgeBase) -> AsyncIOScheduler:
    """A scheduler holding one job per configured schedule entry (not started)."""
    scheduler = AsyncIOScheduler()
    for job in settings.schedule:
        scheduler.add_job(
            reindex,
            trigger=trigger_for(job),
            args=(settings, kb, job.name),
            id=f"reindex:{job.name}",
            name=f"re-index {job.name}",
            max_instances=1,
            coalesce=True,
            misfire_grace_time=300,
            replace_existing=True,
        )
    return scheduler
