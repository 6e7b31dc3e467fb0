"""The web channel's files — the demo page and the widget script — read once, off the event loop.

A request never touches the disk: the first caller (the channel's start, or a request that
came before it) reads the files in a worker thread, and every later one gets the same bytes.
So editing a file under static/ takes a restart, as editing the Python does.

The widget is written as a few files under static/widget/, one job each, and served as one
script with no build step: `assemble_widget` pastes them, in the order of `WIDGET_PARTS`,
into one function, with the stylesheet as a string:

    (function () {
    "use strict";
    var CSS = "<widget.css>";
    var BRANDING = {"color": "#3157d5", …};   the [web] branding settings (brand.js reads them)
    var LANGUAGES = {"default": "en", "known": ["de", "en", …]};   the languages with texts (texts.js)
    /* boot.js */ … /* texts.js */ … /* dom.js */ … /* markdown.js */ … /* view.js */ … /* connection.js */ … /* start.js */ …
    })();

Why pieces of one function rather than modules or a namespace object: it is the scope the
widget always had, so the split moved lines and renamed nothing; function declarations are
hoisted across the parts, so the view and the connection call each other without caring
which comes first; and the page still gets one script that adds no global. The price: a
part is not a script on its own (boot.js may `return`, view.js uses dom.js's `el`) — read
them as one file in that order; the tests parse the assembled script with node.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from channels.web.texts import known_languages, normal_tag, widget_messages
from core.languages import SOURCE, catalogs

STATIC_DIR = Path(__file__).parent / "static"
WIDGET_DIR = "widget"
WIDGET_CSS = "widget.css"
WIDGET_PARTS = ("boot.js", "texts.js", "brand.js", "dom.js", "markdown.js", "view.js", "connection.js", "start.js")
"""The order matters only for statements run at load: boot.js's guard first, start.js's
mount last, and each `var` set before the load-time code that reads it."""


def css_literal(css: str) -> str:
    """`css` (or any string) as a JavaScript string literal.

    A JSON string is a JavaScript string: json.dumps escapes quotes, backslashes, control
    characters and (its output is ASCII) everything else, U+2028 and U+2029 included. "<"
    becomes \\u003c too, so a "</script>" in the stylesheet could not end an inline script.
    """
    return json.dumps(css).replace("<", "\\u003c")


def assemble_widget(
    *,
    css: str,
    parts: Sequence[tuple[str, str]],
    branding: Mapping[str, str] | None = None,
    languages: Sequence[str] = (SOURCE,),
    default_language: str = SOURCE,
) -> str:
    """One script: `var CSS`, `var BRANDING`, `var LANGUAGES` (the languages with texts, and
    the one for a visitor whose languages have none) and each (name, source) part, in order,
    inside one function."""
    brand = json.dumps(dict(branding or {}), sort_keys=True).replace("<", "\\u003c")  # as css_literal
    spoken = json.dumps({"default": default_language, "known": list(languages)}).replace("<", "\\u003c")
    pieces = [
        "(function () {\n",
        '"use strict";\n',
        f"var CSS = {css_literal(css)};\n",
        f"var BRANDING = {brand};\n",
        f"var LANGUAGES = {spoken};\n",
    ]
    for name, source in parts:
        # A part's last line may be a // comment: always end it before the next one.
        pieces.append(f"\n/* {name} */\n{source.rstrip()}\n")
    pieces.append("})();\n")
    return "".join(pieces)


@dataclass(frozen=True, slots=True)
class Script:
    """The widget script and its ETag (quoted, as the header carries it)."""

    body: bytes
    etag: str


@dataclass(frozen=True, slots=True)
class _Files:
    index: bytes
    script: Script
    messages: frozenset[str]


class WidgetAssets:
    """The demo page and the widget script from `static_dir`, read once and kept in memory."""

    def __init__(self, static_dir: Path = STATIC_DIR, *, branding: Mapping[str, str] | None = None) -> None:
        """`branding`: the [web] settings the script starts with (`WebSettings.branding`)."""
        self._dir = static_dir
        self._branding = dict(branding or {})
        self._files: _Files | None = None
        self._lock = asyncio.Lock()

    async def load(self) -> None:
        """Read the files now; the channel calls it at start so a broken install fails there,
        not at a visitor's first request."""
        await self._loaded()

    async def index(self) -> bytes:
        """The demo page, UTF-8."""
        return (await self._loaded()).index

    async def script(self) -> Script:
        """The widget script, UTF-8, with its ETag."""
        return (await self._loaded()).script

    async def messages(self) -> frozenset[str]:
        """The texts the script marks for translation (`channels.web.texts`)."""
        return (await self._loaded()).messages

    async def _loaded(self) -> _Files:
        if self._files is None:
            async with self._lock:
                if self._files is None:
                    self._files = await asyncio.to_thread(self._read)
        return self._files

    def _read(self) -> _Files:
        widget = self._dir / WIDGET_DIR
        parts = [(name, (widget / name).read_text(encoding="utf-8")) for name in WIDGET_PARTS]
        spoken = catalogs()
        script = assemble_widget(
            css=(widget / WIDGET_CSS).read_text(encoding="utf-8"),
            parts=parts,
            branding=self._branding,
            languages=known_languages(spoken),
            default_language=normal_tag(spoken.default),
        ).encode()
        return _Files(
            index=(self._dir / "index.html").read_bytes(),
            script=Script(body=script, etag=f'"{hashlib.sha256(script).hexdigest()[:32]}"'),
            messages=widget_messages(source for _, source in parts),
        )
