"""A platform's messaging window: a business may write to a customer freely only for a while
after the customer's last message (WhatsApp, Messenger and Instagram: 24 hours), later only in
the ways the platform's rule allows.

A channel keeps when each customer last wrote in its own values (`core.channel.ChannelValues`)
as a `stamp`, written before the message is handed to the hub, so a reply held for a closed
window finds it open when the customer's message puts it back in line. The time kept is the
platform's own for the message when it says, our clock otherwise; a window is taken to close
`MARGIN` early, so a reply in the outbox at the last moment is not sent against the rule.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

MARGIN = timedelta(minutes=2)


def stamp(at: datetime) -> str:
    return at.astimezone(UTC).isoformat(timespec="seconds")


def is_later_than(kept: str | None, other: str | None) -> bool:
    """Whether the `stamp` `kept` is later than the stamp `other` (None: never / long ago)."""
    first, second = moment(kept), moment(other)
    return first is not None and (second is None or first > second)


def is_open(last_in: str | None, *, now: datetime, window: timedelta) -> bool:
    """Whether `window` after `last_in` (a `stamp`; None: never, as far as we know) is still open
    `MARGIN` before its end."""
    written = moment(last_in)
    return written is not None and now - written < window - MARGIN


def moment(value: str | None) -> datetime | None:
    """A `stamp` read back (None when it is not one)."""
    try:
        written = datetime.fromisoformat(value) if value is not None else None
    except ValueError:
        return None
    return written.replace(tzinfo=UTC) if written is not None and written.tzinfo is None else written
