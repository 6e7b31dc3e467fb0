"""How people name a case: `#3F2A9C1E`, the first eight hex digits of its id, upper-cased. The
customer reads it when the bot tells them about their case (`core.handoff.customer_cases`), and
staff see it in the inbox's queue; either may quote it back, or paste the whole id from a
case's address, so both are read back as a case."""

from __future__ import annotations

import re

REFERENCE_DIGITS = 8
_QUOTED = re.compile(rf"#?([0-9a-fA-F]{{{REFERENCE_DIGITS},32}})")


def reference(case_id: str) -> str:
    return f"#{case_id[:REFERENCE_DIGITS].upper()}"


def id_prefix(word: str) -> str | None:
    """The start of the case id that `word` quotes ("#3F2A9C1E", "3f2a9c1e", a whole id), in the
    ids' own lower case; None when `word` is no reference. Fewer than eight digits are no
    reference: "cafe" or "bed" are words a customer writes."""
    quoted = _QUOTED.fullmatch(word)
    return quoted.group(1).lower() if quoted else None
