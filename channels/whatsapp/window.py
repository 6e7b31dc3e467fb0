"""WhatsApp's 24-hour rule: a business may write free-form to a customer only within 24 hours
of the customer's last message; after that, only an approved template.

The channel keeps when each customer last wrote in its own values (`core.channel.ChannelValues`,
key `last_in:<a keyed hash of the number>`), written before the message is handed to the hub, so a reply held for
a closed window finds it open when the customer's message puts it back in line. The time kept
is the platform's own for the message when it says (the Cloud API does), our clock otherwise;
the window is taken to close `MARGIN` early, so a reply in the outbox at the last moment is not
sent against the rule.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

WINDOW = timedelta(hours=24)
MARGIN = timedelta(minutes=2)


def last_in_key(number: str) -> str:
    """Where the channel keeps when `number` (hashed) last wrote."""
    return f"last_in:{number}"


def stamp(at: datetime) -> str:
    return at.astimezone(UTC).isoformat(timespec="seconds")


def template_key(number: str) -> str:
    """Where the channel keeps when the last template went to `number` (one until they answer)."""
    return f"template:{number}"


def is_later_than(kept: str | None, other: str | None) -> bool:
    """Whether the `stamp` `kept` is later than the stamp `other` (None: never / long ago)."""
    first, second = _moment(kept), _moment(other)
    return first is not None and (second is None or first > second)


def is_open(last_in: str | None, *, now: datetime) -> bool:
    """Whether a free-form message may go now to a customer who last wrote at `last_in` (a
    `stamp`; None: never, as far as we know)."""
    written = _moment(last_in)
    return written is not None and now - written < WINDOW - MARGIN


def _moment(value: str | None) -> datetime | None:
    try:
        written = datetime.fromisoformat(value) if value is not None else None
    except ValueError:
        return None
    return written.replace(tzinfo=UTC) if written is not None and written.tzinfo is None else written
