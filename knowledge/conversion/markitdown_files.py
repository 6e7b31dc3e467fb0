"""Formats markitdown converts faithfully as they are — html, xlsx, a csv that is not an FAQ —
and Word files, with the style map `docx_styles` gives it.

Tables become markdown tables whose first row is the header when none is marked (a Word or
HTML table without `<th>`: markdownify would otherwise put an empty header above it, and a
quoted table would lose its column names), lists `- ` lists as every other format writes them.
A page's first `# ` heading is its title, else its HTML `<title>` (which often carries the
site's name too).
"""

from __future__ import annotations

import io
import threading
from typing import TYPE_CHECKING, Any

from knowledge.ingest.chunking import Chunk, chunk_markdown

if TYPE_CHECKING:
    from markitdown import MarkItDown

_lock = threading.Lock()
_converter: MarkItDown | None = None


def shared_converter() -> MarkItDown:
    """The process's one MarkItDown, built on first use (≈ 30 ms and its converters' state each
    time otherwise); it keeps no state between conversions, so threads share it."""
    global _converter
    with _lock:
        if _converter is None:
            from markitdown import MarkItDown

            _converter = MarkItDown(enable_plugins=False)
        return _converter


def markitdown_chunks(
    data: bytes, *, suffix: str, stem: str, max_chars: int, style_map: str | None = None
) -> list[Chunk]:
    """The chunks of a file markitdown reads (`suffix` lower case, with the dot); `style_map`
    is mammoth's, for a .docx."""
    from markitdown import StreamInfo

    options: dict[str, Any] = {"table_infer_header": True, "bullets": "-"}
    if style_map:
        options["style_map"] = style_map
    result = shared_converter().convert_stream(io.BytesIO(data), stream_info=StreamInfo(extension=suffix), **options)
    title = result.title.strip() if result.title and result.title.strip() else None
    return chunk_markdown(result.markdown or "", stem=stem, max_chars=max_chars, title=title)
