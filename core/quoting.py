"""Customer-supplied text the bot repeats in its own voice — a file's name, a remembered fact —
made literal: markdown in it is escaped with backslashes (CommonMark's rule, which every
channel's renderer honours), control characters become spaces and bidirectional overrides
are dropped. So a file named `[click me](https://evil.example/phish).txt` is read back as
that text, not as a link, and a right-to-left override cannot make `exe.pdf` look harmless.
"""

from __future__ import annotations

import re

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]+")
_BIDI = re.compile("[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_MARKDOWN = re.compile(r"([\\`*_\[\]()<>#!|~:])")
"""Markdown's punctuation, and the colon so that `https://…` in a file name is not linked."""
_ESCAPED = re.compile(r"\\([!-/:-@\[-`{-~])")
"""A backslash escape of an ASCII punctuation character, as CommonMark defines it."""


def literal(text: str) -> str:
    """`text` as literal words inside a markdown reply."""
    return _MARKDOWN.sub(r"\\\1", _BIDI.sub("", _CONTROL.sub(" ", text)).strip())


def unescaped(text: str) -> str:
    """Markdown with its backslash escapes resolved, for a renderer that has none (Slack)."""
    return _ESCAPED.sub(r"\1", text)
