"""Business hours on fixed moments (no clock is read): weekends, holidays, a DST change, split
days, and a case opened Friday 17:25 that is due Monday morning."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.handoff.hours import ALWAYS_OPEN, BusinessHours, Sla
from core.settings import HoursSettings

BERLIN = ZoneInfo("Europe/Berlin")
WEEKDAYS = dict.fromkeys(("monday", "tuesday", "wednesday", "thursday", "friday"), "09:00-17:30")
HOURS = BusinessHours.of(HoursSettings(timezone="Europe/Berlin", **WEEKDAYS, holidays=["2025-12-25", "2025-12-26"]))
"""Monday to Friday 09:00-17:30 in Berlin; closed on Christmas Day and Boxing Day."""
HALF_HOUR = timedelta(minutes=30)


def berlin(month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2025, month, day, hour, minute, tzinfo=BERLIN)


@pytest.mark.parametrize(
    ("at", "open_"),
    [
        (berlin(10, 22, 9), True),  # Wednesday, at opening
        (berlin(10, 22, 17, 29), True),
        (berlin(10, 22, 17, 30), False),  # a range's end is closed
        (berlin(10, 22, 8, 59), False),
        (berlin(10, 25, 12), False),  # Saturday
        (berlin(12, 25, 12), False),  # a holiday on a Thursday
        (berlin(12, 24, 12), True),
    ],
)
def test_open_within_the_days_ranges_outside_weekends_and_holidays(at: datetime, open_: bool) -> None:
    assert HOURS.is_open(at) is open_
    assert HOURS.is_open(at.astimezone(UTC)) is open_  # the same moment in any zone


@pytest.mark.parametrize(
    ("after", "opening"),
    [
        (berlin(10, 22, 10), berlin(10, 22, 10)),  # open now
        (berlin(10, 22, 7), berlin(10, 22, 9)),
        (berlin(10, 24, 17, 30), berlin(10, 27, 9)),  # Friday evening → Monday
        (berlin(12, 24, 18), berlin(12, 29, 9)),  # over Christmas and the weekend
    ],
)
def test_the_next_opening(after: datetime, opening: datetime) -> None:
    assert HOURS.next_opening(after) == opening


def test_a_case_opened_friday_1725_with_30_minutes_is_due_monday_0925() -> None:
    opened = berlin(10, 24, 17, 25)
    assert HOURS.due_at(opened, HALF_HOUR) == berlin(10, 27, 9, 25)  # not Friday 17:55
    assert HOURS.business_time_between(opened, berlin(10, 27, 9, 25)) == HALF_HOUR
    assert HOURS.start_due_by(berlin(10, 27, 9, 25), HALF_HOUR) == opened


def test_a_case_opened_out_of_hours_starts_its_clock_at_the_opening() -> None:
    assert HOURS.due_at(berlin(10, 25, 11), HALF_HOUR) == berlin(10, 27, 9, 30)  # Saturday
    assert HOURS.due_at(berlin(12, 24, 20), HALF_HOUR) == berlin(12, 29, 9, 30)  # Christmas Eve, evening


def test_business_time_skips_nights_weekends_and_holidays() -> None:
    assert HOURS.business_time_between(berlin(10, 20, 9), berlin(10, 27, 9)) == timedelta(hours=42, minutes=30)
    assert HOURS.business_time_between(berlin(12, 22, 9), berlin(12, 29, 9)) == timedelta(hours=25, minutes=30)
    assert HOURS.business_time_between(berlin(10, 25, 0), berlin(10, 26, 23)) == timedelta(0)
    assert HOURS.business_time_between(berlin(10, 27, 10), berlin(10, 27, 9)) == timedelta(0)  # backwards


def test_the_dst_change_keeps_the_wall_clock_hours() -> None:
    """Berlin leaves summer time in the night of 25-26 October 2025: Friday 17:30 is 15:30 UTC,
    Monday 09:00 is 08:00 UTC; the hours stay 09:00-17:30 on the wall clock."""
    friday_close, monday_open = berlin(10, 24, 17, 30), berlin(10, 27, 9)
    assert (friday_close.astimezone(UTC).hour, monday_open.astimezone(UTC).hour) == (15, 8)
    assert HOURS.next_opening(friday_close) == monday_open
    assert HOURS.due_at(berlin(10, 24, 17), timedelta(hours=1)) == berlin(10, 27, 9, 30)
    assert HOURS.is_open(datetime(2025, 10, 24, 7, 0, tzinfo=UTC))  # 09:00 CEST
    assert not HOURS.is_open(datetime(2025, 10, 27, 7, 0, tzinfo=UTC))  # 08:00 CET


def test_a_range_a_dst_change_skips_or_doubles_counts_the_hours_that_happened() -> None:
    """A Sunday night shift 00:00-06:00: the night summer time starts has 5 hours, the night
    it ends 7."""
    nights = BusinessHours.of(HoursSettings(timezone="Europe/Berlin", sunday="00:00-06:00"))
    spring, autumn = berlin(3, 30, 0), berlin(10, 26, 0)  # both Sundays
    assert nights.business_time_between(spring, spring + timedelta(hours=12)) == timedelta(hours=5)
    assert nights.business_time_between(autumn, autumn + timedelta(hours=12)) == timedelta(hours=7)


def test_split_days_and_hours_through_midnight() -> None:
    split = BusinessHours.of(HoursSettings(timezone="UTC", monday="09:00-12:00, 13:00-17:00"))
    monday = datetime(2025, 10, 20, tzinfo=UTC)
    assert not split.is_open(monday + timedelta(hours=12, minutes=30))
    assert split.due_at(monday + timedelta(hours=11, minutes=45), HALF_HOUR) == monday + timedelta(hours=13, minutes=15)
    late = BusinessHours.of(HoursSettings(timezone="UTC", friday="18:00-24:00", saturday="00:00-02:00"))
    friday = datetime(2025, 10, 24, tzinfo=UTC)
    assert late.is_open(friday + timedelta(hours=24))  # Saturday 00:00
    assert late.due_at(friday + timedelta(hours=23, minutes=45), HALF_HOUR) == friday + timedelta(hours=24, minutes=15)


@pytest.mark.parametrize(
    ("now", "back"),
    [
        (berlin(10, 22, 7), "today at 09:00 CEST"),
        (berlin(10, 22, 18), "tomorrow at 09:00 CEST"),
        (berlin(10, 24, 17, 45), "Monday at 09:00 CET"),  # after the change to winter time
        (berlin(12, 24, 18), "Monday at 09:00 CET"),
        (berlin(10, 22, 12), None),  # open: no "back at"
    ],
)
def test_when_the_team_is_back_as_a_customer_reads_it(now: datetime, back: str | None) -> None:
    assert HOURS.when_back(now) == back


def test_a_week_or_more_away_names_the_date_and_a_zone_without_letters_its_name() -> None:
    mondays = BusinessHours.of(HoursSettings(timezone="Asia/Dubai", monday="08:00-16:00", holidays=["2025-10-27"]))
    after_closing = datetime(2025, 10, 20, 17, tzinfo=ZoneInfo("Asia/Dubai"))
    assert mondays.when_back(after_closing) == "on Monday 3 November at 08:00 (Asia/Dubai time)"


def test_without_hours_every_moment_is_business_time() -> None:
    moment = datetime(2025, 10, 25, 3, tzinfo=UTC)  # a Saturday night
    assert ALWAYS_OPEN.is_open(moment) and ALWAYS_OPEN.when_back(moment) is None
    assert ALWAYS_OPEN.due_at(moment, HALF_HOUR) == moment + HALF_HOUR
    assert ALWAYS_OPEN.start_due_by(moment, HALF_HOUR) == moment - HALF_HOUR
    assert ALWAYS_OPEN.business_time_between(moment, moment + HALF_HOUR) == HALF_HOUR
    assert not BusinessHours.of(HoursSettings()).enabled


def test_the_sla_names_its_clock() -> None:
    assert Sla(HALF_HOUR).wording == "30 minutes"
    assert Sla(HALF_HOUR, HOURS).wording == "30 minutes of business hours"
    assert Sla(HALF_HOUR, HOURS).opened_before(berlin(10, 27, 9, 25)) == berlin(10, 24, 17, 25)


MOMENTS = st.datetimes(
    min_value=datetime(2025, 3, 20), max_value=datetime(2026, 1, 10), timezones=st.just(UTC)
)  # both DST changes and the holidays


@given(start=MOMENTS, now=MOMENTS, minutes=st.integers(min_value=1, max_value=3000))
def test_past_the_sla_is_one_comparison_of_the_opening_time(start: datetime, now: datetime, minutes: int) -> None:
    """What lets SQL find cases past the SLA with `opened_at <= cut-off`: due by `now` exactly
    when opened by the cut-off."""
    sla = timedelta(minutes=minutes)
    assert (HOURS.due_at(start, sla) <= now) is (start <= HOURS.start_due_by(now, sla))
    assert HOURS.business_time_between(start, HOURS.due_at(start, sla)) == sla
