"""The `{placeholders}` of a catalog sentence: which a sentence has, whether a translation may be
said for its English, and the sentence filled in.

A placeholder is a name between braces (`{name}`; dotted, `{shipment.eta}`, for the path into an
action's answer that `result.template` reads). Nothing else: no format spec (`{reference:>300000000}`
pads to 300 MB), no conversion (`{name!r}`), no index (`{name[0]}`), no part starting with an
underscore (`{name.__class__.__mro__}` walks Python's objects), no positional `{}` or `{0}`. A
sentence is filled by looking each name up, never with `str.format`, so even a sentence that
slipped past the check cannot reach an attribute. `supporthub languages check` and the catalogs the
hub speaks from (`core.languages`) hold translations to the same rule, through `unfit`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from string import Formatter

NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*(?:\.[A-Za-z][A-Za-z0-9_]*)*")
"""A placeholder's name: a word, or dotted words (`shipment.eta`), none starting with `_`."""
ONLY_A_NAME = "write only a name between braces"


class BadPlaceholder(ValueError):
    """A sentence whose braces hold something other than a name; the message says which and why."""


def placeholders(text: str) -> frozenset[str]:
    """The names `text` is filled with; raises BadPlaceholder for anything but plain names."""
    return frozenset(name for _, name in _parts(text) if name is not None)


def unfit(translation: str, english: str) -> str | None:
    """Why `translation` cannot be said for `english` (None when it can): a placeholder that is no
    plain name, or other placeholders than the English's (a dropped `{name}` loses the value, an
    added `{nmae}` cannot be filled)."""
    try:
        theirs = placeholders(translation)
    except BadPlaceholder as error:
        return str(error)
    try:
        ours = placeholders(english)
    except BadPlaceholder:  # an operator's own text with braces of its own: said as written
        return None if not theirs else "placeholders differ"
    return None if theirs == ours else "placeholders differ"


def fill(text: str, values: Mapping[str, object]) -> str:
    """`text` with each `{name}` replaced by `str(values[name])`; KeyError for a name without a
    value, BadPlaceholder for a placeholder that is no plain name."""
    return "".join(literal + ("" if name is None else str(values[name])) for literal, name in _parts(text))


def _parts(text: str) -> list[tuple[str, str | None]]:
    try:
        parsed = list(Formatter().parse(text))
    except ValueError as error:  # an unbalanced brace
        raise BadPlaceholder(f"{error}: write a literal brace twice ({{{{ or }}}})") from None
    parts: list[tuple[str, str | None]] = []
    for literal, name, spec, conversion in parsed:
        if name is not None:
            written = "{" + name + (f"!{conversion}" if conversion else "") + (f":{spec}" if spec else "") + "}"
            if conversion or spec or not NAME.fullmatch(name):
                raise BadPlaceholder(f"placeholder {written}: {ONLY_A_NAME}")
        parts.append((literal, name))
    return parts
