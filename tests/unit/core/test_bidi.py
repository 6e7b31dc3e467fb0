"""A name a customer gave is shown as given: every explicit direction control, and only those,
written as its code point; the name isolated in plain text."""

from __future__ import annotations

import sys
import unicodedata

from core.bidi import CONTROLS, isolated, visible

EXPLICIT = {"LRE", "RLE", "PDF", "LRO", "RLO", "LRI", "RLI", "FSI", "PDI"}


def test_the_controls_are_every_character_of_an_explicit_direction_class() -> None:
    every = "".join(chr(c) for c in range(sys.maxunicode + 1))
    explicit = {c for c in every if unicodedata.bidirectional(c) in EXPLICIT}
    assert set(CONTROLS.findall(every)) == explicit and len(explicit) == 9


def test_an_override_is_shown_and_the_rest_kept() -> None:
    assert visible("Bob\u202eexe.fdp\u202c Admin") == "Bob[U+202E]exe.fdp[U+202C] Admin"
    hebrew = "\u05e9\u05dc\u05d5\u05dd \u200fDana"
    assert visible(hebrew) == hebrew  # a mark (RLM) moves no letter: kept
    assert isolated("Mallory\u2067") == "\u2068Mallory[U+2067]\u2069"
