"""The words a customer opts out and back in with, by text: the carriers' keywords SMS
honours, honoured on WhatsApp too (where no carrier does it for us)."""

from __future__ import annotations

import re

OPT_OUT_WORDS = frozenset({"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT"})
OPT_IN_WORDS = frozenset({"START", "UNSTOP", "YES"})
HELP_WORDS = frozenset({"HELP", "INFO"})


def keyword(body: str) -> str | None:
    """The keyword a text consists of ("stop", " Stop! "), or None."""
    word = re.sub(r"[^A-Za-z]", "", body).upper() if len(body) <= 20 else ""
    return word if word in OPT_OUT_WORDS | OPT_IN_WORDS | HELP_WORDS else None
