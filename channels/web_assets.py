"""The web channel's files — the demo page and the widget script — read once, off the event loop.

A request never touches the disk: the first caller (the channel's start, or a request that
came before it) reads the files in a worker thread, and every later one gets the same bytes.
So editing a file under static/ takes a restart, as editing the Python does.
"""

from __future__ import annotations

import asyncio
import hashlib
from dataclasses import dataclass
from pathlib import Path

STATIC_DIR = Path(__file__).parent / "static"


@dataclass(frozen=True, slots=True)
class Script:
    """The widget script and its ETag (quoted, as the header carries it)."""

    body: bytes
    etag: str


@dataclass(frozen=True, slots=True)
class _Files:
    index: bytes
    script: Script


class WidgetAssets:
    """The demo page and the widget script from `static_dir`, read once and kept in memory."""

    def __init__(self, static_dir: Path = STATIC_DIR) -> None:
        self._dir = static_dir
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

    async def _loaded(self) -> _Files:
        if self._files is None:
            async with self._lock:
                if self._files is None:
                    self._files = await asyncio.to_thread(self._read)
        return self._files

    def _read(self) -> _Files:
        script = (self._dir / "widget.js").read_bytes()
        return _Files(
            index=(self._dir / "index.html").read_bytes(),
            script=Script(body=script, etag=f'"{hashlib.sha256(script).hexdigest()[:32]}"'),
        )
