"""A file's size in words, the one way every channel tells a customer about it.

A megabyte here is 1,048,576 bytes, the way `attachments.max_bytes` (10 × 1024 × 1024) and the
widget count it, so a file is "over the 10 MB limit" exactly when it is larger than the limit.
"""

from __future__ import annotations

import math


def size_text(size: int, *, round_up: bool = False) -> str:
    """ "14.2 MB", "10 MB", "3.5 KB", "900 bytes". Rounding a file's size up keeps "over the
    limit" true when the size is a hair above it."""
    for unit, scale in (("MB", 1024 * 1024), ("KB", 1024)):
        if size >= scale:
            value = math.ceil(size * 10 / scale) / 10 if round_up else round(size / scale, 1)
            return f"{value:,.1f}".removesuffix(".0") + f" {unit}"
    return f"{size:,} bytes"
