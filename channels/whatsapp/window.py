"""WhatsApp's 24-hour rule: a business may write free-form to a customer only within 24 hours
of the customer's last message; after that, only an approved template
(`channels.common.reply_window` keeps the time and reads the window).

The channel keeps when each customer last wrote under `last_in:<a keyed hash of the number>`, and
when the last template went under `template:<the hash>` (one until they answer).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from channels.common import reply_window

WINDOW = timedelta(hours=24)


def last_in_key(number: str) -> str:
    """Where the channel keeps when `number` (hashed) last wrote."""
    return f"last_in:{number}"


def template_key(number: str) -> str:
    """Where the channel keeps when the last template went to `number` (one until they answer)."""
    return f"template:{number}"


def is_open(last_in: str | None, *, now: datetime) -> bool:
    """Whether a free-form message may go now to a customer who last wrote at `last_in`."""
    return reply_window.is_open(last_in, now=now, window=WINDOW)
