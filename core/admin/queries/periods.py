"""The overview's period and channel, read from the query string: `?period=today|7d|30d`
and `?channel=<name>` (empty: every channel). Days are UTC days, as the charts show them."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from core.admin.queries.overview import Period

PERIODS: dict[str, tuple[str, int]] = {"today": ("Today", 1), "7d": ("7 days", 7), "30d": ("30 days", 30)}
DEFAULT_PERIOD = "7d"


class BadFilter(ValueError):
    """A query-string value the dashboard does not know; the message says which and what it takes."""


@dataclass(frozen=True, slots=True)
class Chosen:
    key: str
    """"today", "7d" or "30d"."""
    period: Period

    @property
    def days(self) -> list[date]:
        """Every UTC day the period touches, the first to today, empty days included."""
        first, last = self.period.since.date(), self.period.until.astimezone(UTC).date()
        return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def chosen_period(query: Mapping[str, str], *, channels: Sequence[str], now: datetime) -> Chosen:
    """The period ending now and starting at UTC midnight `n - 1` days ago."""
    key = query.get("period") or DEFAULT_PERIOD
    if key not in PERIODS:
        raise BadFilter(f"period must be one of {', '.join(PERIODS)}, not {key!r}")
    channel = query.get("channel") or None
    if channel is not None and channel not in channels:
        raise BadFilter(f"channel must be one of {', '.join(channels)} (or empty for all), not {channel!r}")
    midnight = now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    since = midnight - timedelta(days=PERIODS[key][1] - 1)
    return Chosen(key, Period(since=since, until=now, channel=channel))
