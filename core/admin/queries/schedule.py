"""The re-index schedule as the Knowledge page shows it: each job's rule and its next runs.

A crontab job's next runs follow from its line alone (the same `CronTrigger` the leader runs,
`core.ops.scheduler.trigger_for`). An interval job's do not: the leader starts counting when it
starts, which another process cannot see — so its next run is the last scheduled run's start
(the index run recorded with the trigger `schedule:<name>`) plus the interval, and unknown
until that job has run once.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from core.invariants import InvariantError
from core.ops.scheduler import trigger_for
from core.settings import ScheduleJob

NEXT_RUNS = 3


@dataclass(frozen=True, slots=True)
class ScheduledJob:
    name: str
    rule: str
    """The crontab line, or "every N minutes"."""
    next_runs: list[datetime]
    """Empty for an interval job that has not run yet."""


def upcoming_runs(
    jobs: Sequence[ScheduleJob], *, now: datetime, last_started: Mapping[str, datetime], count: int = NEXT_RUNS
) -> list[ScheduledJob]:
    """Each job's next `count` run times after `now`; `last_started` maps a job's name to its
    last scheduled run's start."""
    return [_upcoming(job, now=now, last=last_started.get(job.name), count=count) for job in jobs]


def _upcoming(job: ScheduleJob, *, now: datetime, last: datetime | None, count: int) -> ScheduledJob:
    if job.cron is None:
        if job.interval_minutes is None:
            raise InvariantError(
                f"schedule job {job.name!r} has neither cron nor interval_minutes (the settings validator guarantees one)"
            )
        every = timedelta(minutes=job.interval_minutes)
        first = max(last + every, now) if last is not None else None
        times = [first + every * n for n in range(count)] if first is not None else []
        return ScheduledJob(job.name, f"every {job.interval_minutes:g} minutes", times)
    trigger = trigger_for(job)
    times = []
    previous: datetime | None = None
    moment = now
    for _ in range(count):
        fire = trigger.get_next_fire_time(previous, moment)
        if fire is None:
            break
        times.append(fire)
        previous = moment = fire
    return ScheduledJob(job.name, job.cron, times)
