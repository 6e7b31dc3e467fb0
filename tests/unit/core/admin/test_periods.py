"""The overview's period and channel from the query string, and the schedule's next runs."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from core.admin.queries.periods import BadFilter, chosen_period
from core.admin.queries.schedule import upcoming_runs
from core.settings import ScheduleJob

NOW = datetime(2026, 11, 23, 10, 7, tzinfo=UTC)


def test_seven_days_start_at_midnight_six_days_ago_and_end_now() -> None:
    chosen = chosen_period({"period": "7d", "channel": "web"}, channels=["web", "api"], now=NOW)
    assert (chosen.period.since, chosen.period.until, chosen.period.channel) == (
        datetime(2026, 11, 17, tzinfo=UTC),
        NOW,
        "web",
    )
    assert chosen.days == [date(2026, 11, d) for d in range(17, 24)]
    today = chosen_period({"period": "today"}, channels=["web"], now=NOW)
    assert (today.period.since, today.days, today.period.channel) == (
        datetime(2026, 11, 23, tzinfo=UTC),
        [date(2026, 11, 23)],
        None,
    )
    assert len(chosen_period({}, channels=[], now=NOW).days) == 7  # the default


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({"period": "90d"}, "period must be one of today, 7d, 30d, not '90d'"),
        ({"channel": "fax"}, "channel must be one of web, api (or empty for all), not 'fax'"),
    ],
)
def test_an_unknown_period_or_channel_is_named(query: dict[str, str], message: str) -> None:
    with pytest.raises(BadFilter) as refused:
        chosen_period(query, channels=["web", "api"], now=NOW)
    assert str(refused.value) == message


def test_a_crontab_job_shows_its_next_runs_and_an_interval_job_counts_from_its_last_run() -> None:
    nightly, hourly = ScheduleJob(name="nightly", cron="0 3 * * *"), ScheduleJob(name="hourly", interval_minutes=60)
    jobs = upcoming_runs([nightly, hourly], now=NOW, last_started={"hourly": datetime(2026, 11, 23, 9, 30, tzinfo=UTC)})
    assert [run.day for run in jobs[0].next_runs] == [24, 25, 26]
    assert {(run.hour, run.minute) for run in jobs[0].next_runs} == {(3, 0)}
    assert jobs[1].rule == "every 60 minutes"
    assert [run.strftime("%H:%M") for run in jobs[1].next_runs] == ["10:30", "11:30", "12:30"]
    never_ran = upcoming_runs([hourly], now=NOW, last_started={})
    assert never_ran[0].next_runs == []
