"""The language a document is written in: an ISO 639-1 code, from the document itself (markdown
front matter's `language:`), its folder source's `language`, or a folder of its path named
like a language (`help/de/billing.md`), in that order; None when nothing says.

A folder name is a guess, so anything said explicitly wins over it; only a name that is a
whole language code or locale (`de`, `pt-BR`, `es_419`) counts. Beware a folder that merely
looks like one (`it/` for the IT team's articles): set its folder source's `language`, or the
documents' front matter.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from babel import localedata

_CODE = re.compile(r"^(?P<language>[A-Za-z]{2})(?:[-_][A-Za-z0-9]{2,8})*$")


def language_code(value: str) -> str | None:
    """The ISO 639-1 code `value` names ("de", "DE", "pt-BR", "es_419" → "de", "pt", "es"),
    or None when it is not the code of a known language."""
    match = _CODE.match(value.strip())
    if match is None:
        return None
    code = match.group("language").lower()
    return code if localedata.exists(code) else None


def folder_language(folders: Sequence[str]) -> str | None:
    """The language the nearest folder named like one says (`folders` from the outermost to
    the file's own), or None."""
    for name in reversed(folders):
        if (code := language_code(name)) is not None:
            return code
    return None
