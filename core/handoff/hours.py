"""Business hours (`[handoff.hours]`) as arithmetic on moments: whether a person is in, when
the team is next in, how much business time lies between two moments, and when a case's SLA
runs out. Pure: every function takes the moment it is asked about, so nothing here reads a clock.

Hours are wall-clock times in the team's time zone, and each day's ranges are turned into
moments through zoneinfo, so a DST change is counted as it happens (a 09:00-17:00 day is 8
hours either side of it, and the night it falls in is an hour shorter or longer). A time a DST
change skips is read as the offset before it; a repeated one as its first occurrence.

Without any opening hours, it is always open: business time is plain elapsed time.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from zoneinfo import ZoneInfo

from babel import UnknownLocaleError
from babel.dates import format_date

from core.languages import SOURCE, _, said_in
from core.settings import HandoffSettings, HoursSettings

Interval = tuple[datetime, datetime]


@dataclass(frozen=True, slots=True)
class BusinessHours:
    zone: tzinfo
    week: tuple[tuple[tuple[int, int], ...], ...]
    """Each weekday's opening ranges, Monday first, in minutes after local midnight (end ≤ 1440)."""
    holidays: frozenset[date] = frozenset()

    @classmethod
    def of(cls, settings: HoursSettings) -> BusinessHours:
        return cls(ZoneInfo(settings.timezone), settings.week(), frozenset(settings.holidays))

    @property
    def enabled(self) -> bool:
        """Some day has opening hours; else it is always open."""
        return any(self.week)

    def is_open(self, at: datetime) -> bool:
        if not self.enabled:
            return True
        return next(self._open_from(at))[0] == at

    def next_opening(self, after: datetime) -> datetime:
        """The first moment at or after `after` when the team is in (`after` itself when open)."""
        if not self.enabled:
            return after
        return next(self._open_from(after))[0]

    def business_time_between(self, start: datetime, end: datetime) -> timedelta:
        """The open time in [start, end); zero when `end` is not after `start`."""
        if not self.enabled:
            return max(end - start, timedelta(0))
        total = timedelta(0)
        for opens, closes in self._open_from(start):
            if opens >= end:
                break
            total += min(closes, end) - opens
        return total

    def due_at(self, start: datetime, sla: timedelta) -> datetime:
        """The moment `sla` of business time after `start` has passed: opened Friday 17:25 with
        30 minutes and Friday's hours ending at 17:30, due Monday 09:25."""
        if not self.enabled:
            return start + sla
        left = sla
        for opens, closes in self._open_from(start):
            if closes - opens >= left:
                return opens + left
            left -= closes - opens
        raise AssertionError("unreachable: the open intervals never end")

    def start_due_by(self, end: datetime, sla: timedelta) -> datetime:
        """The latest start whose SLA has run out by `end`: `due_at(start, sla) <= end` exactly
        when `start <= start_due_by(end, sla)` (`sla` > 0). So "past the SLA" stays one
        comparison of a case's opening time, which SQL can make."""
        if not self.enabled:
            return end - sla
        left = sla
        for opens, closes in self._open_before(end):
            if closes - opens >= left:
                return closes - left
            left -= closes - opens
        raise AssertionError("unreachable: the open intervals never end")

    def _open_from(self, moment: datetime) -> Iterator[Interval]:
        """The open intervals that end after `moment`, in order, the first cut to start no
        earlier than `moment`. Endless: some weekday has hours, and holidays are finitely many."""
        day = moment.astimezone(self.zone).date() - timedelta(days=1)
        while True:
            for opens, closes in self._intervals(day):
                if closes > moment:
                    yield max(opens, moment), closes
            day += timedelta(days=1)

    def _open_before(self, moment: datetime) -> Iterator[Interval]:
        """The open intervals that start before `moment`, latest first, the first cut to end
        no later than `moment`."""
        day = moment.astimezone(self.zone).date() + timedelta(days=1)
        while True:
            for opens, closes in reversed(self._intervals(day)):
                if opens < moment:
                    yield opens, min(closes, moment)
            day -= timedelta(days=1)

    def _intervals(self, day: date) -> list[Interval]:
        """The day's open intervals as UTC moments (a range a DST change leaves empty drops out)."""
        if day in self.holidays:
            return []
        midnight = datetime.combine(day, time())
        moments = [
            (self._moment(midnight + timedelta(minutes=start)), self._moment(midnight + timedelta(minutes=end)))
            for start, end in self.week[day.weekday()]
        ]
        return [(opens, closes) for opens, closes in moments if opens < closes]

    def _moment(self, wall_clock: datetime) -> datetime:
        return wall_clock.replace(tzinfo=self.zone).astimezone(UTC)

    def when_back(self, now: datetime) -> str | None:
        """When the team is next in, as a customer reads it: "today at 14:00 CET", "tomorrow
        at 09:00 CET", "Monday at 09:00 CET", "on Friday 2 January at 09:00 CET"; None while open."""
        if self.is_open(now):
            return None
        back = self.next_opening(now).astimezone(self.zone)
        days = (back.date() - now.astimezone(self.zone).date()).days
        clock = f"{back:%H:%M} {_zone_name(back)}"
        if days == 0:
            return _("today at {time}", time=clock)
        if days == 1:
            return _("tomorrow at {time}", time=clock)
        weekday = _date_part(back.date(), "EEEE")
        if days < 7:
            return _("{weekday} at {time}", weekday=weekday, time=clock)
        return _(
            "on {weekday} {day} {month} at {time}",
            weekday=weekday,
            day=back.day,
            month=_date_part(back.date(), "MMMM"),
            time=clock,
        )


def _date_part(day: date, pattern: str) -> str:
    """A weekday's or month's name in the language sentences are said in now (Babel's CLDR
    names: "Monday", "Montag", "lunes"; English where Babel knows no such language)."""
    try:
        return format_date(day, pattern, locale=said_in())
    except (ValueError, UnknownLocaleError):
        return format_date(day, pattern, locale=SOURCE)


ALWAYS_OPEN = BusinessHours(UTC, ((),) * 7)
"""No opening hours set: every moment is business time."""


def _zone_name(local: datetime) -> str:
    """The zone's abbreviation at that moment (CET, CEST, EST), or its name where the zone has
    only an offset for one ("+04" is no name a customer knows)."""
    abbreviation = local.strftime("%Z")
    key = getattr(local.tzinfo, "key", abbreviation)
    return abbreviation if abbreviation.isalpha() else f"({key} time)"


@dataclass(frozen=True, slots=True)
class Sla:
    """What staff promise: a first reply within `length` of business time from a case's opening."""

    length: timedelta
    hours: BusinessHours = ALWAYS_OPEN

    @classmethod
    def of(cls, settings: HandoffSettings) -> Sla:
        return cls(timedelta(minutes=settings.sla_minutes), BusinessHours.of(settings.hours))

    def due_at(self, opened_at: datetime) -> datetime:
        return self.hours.due_at(opened_at, self.length)

    def opened_before(self, now: datetime) -> datetime:
        """Cases opened at or before this are past the SLA at `now` (`core.handoff.desk_store.past_sla`)."""
        return self.hours.start_due_by(now, self.length)

    @property
    def wording(self) -> str:
        """The SLA as the dashboard names it: "30 minutes", "30 minutes of business hours"."""
        minutes = int(self.length.total_seconds() // 60)
        unit = "minute" if minutes == 1 else "minutes"
        return f"{minutes} {unit} of business hours" if self.hours.enabled else f"{minutes} {unit}"
