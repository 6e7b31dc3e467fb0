"""A name a customer gave (a channel's profile name, a file's name) shown to staff as given.

A right-to-left override in a WhatsApp profile name, "Bob\\u202eexe.fdp\\u202c Admin", is shown by
every browser and Slack client as "Bobpdf.exe Admin"; an override left open reverses the text
after the name too, and a name in Arabic or Hebrew pulls the punctuation beside it ("· whatsapp")
into its own direction. So where such a name is shown, each explicit direction control — the
embeddings, overrides and isolates and what ends them (Unicode's bidi classes LRE, RLE, LRO,
RLO, PDF, LRI, RLI, FSI, PDI: U+202A-U+202E and U+2066-U+2069) — is shown as its code point,
"[U+202E]", for staff to see that it was there, and the name is isolated from the text around
it: in HTML by `<bdi>` (the dashboard's `given` filter, `core.admin.views.render`), in plain text
between FSI and PDI (`isolated`). The marks (LRM, RLM, ALM) stay: they move no letters, only
the punctuation beside them, inside the isolate.
"""

from __future__ import annotations

import re

CONTROLS = re.compile("[\u202a-\u202e\u2066-\u2069]")
"""The explicit direction controls: every character of bidi class LRE, RLE, PDF, LRO, RLO, LRI,
RLI, FSI or PDI (`tests/unit/core/test_bidi.py` holds the list to `unicodedata`)."""
FSI = "\u2068"
PDI = "\u2069"


def visible(text: str) -> str:
    """`text` with each direction control written as its code point ("[U+202E]")."""
    return CONTROLS.sub(lambda found: f"[U+{ord(found[0]):04X}]", text)


def isolated(text: str) -> str:
    """`visible(text)` between FSI and PDI: for plain text (a Slack message, a page's title)."""
    return f"{FSI}{visible(text)}{PDI}"
