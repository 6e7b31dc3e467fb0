"""A file's bytes → its chunks (placeholder for the per-format package; replaced on merge)."""

from __future__ import annotations

import io
import threading
from dataclasses import dataclass
from typing import Any

from knowledge.archive_limits import check_unpacked_size
from knowledge.chunking import Chunk, chunk_csv, chunk_markdown
from knowledge.file_signatures import check_signature

TEXT_FORMATS = frozenset({".md", ".markdown", ".txt"})
CONVERTED_FORMATS = frozenset({".html", ".htm", ".pdf", ".docx", ".xlsx", ".pptx", ".csv", ".json"})
SUPPORTED_FORMATS = TEXT_FORMATS | CONVERTED_FORMATS
CONVERSION = b"2:"
_local = threading.local()


@dataclass(frozen=True, slots=True)
class Converted:
    chunks: list[Chunk]
    url: str | None = None


def _converter() -> Any:
    from markitdown import MarkItDown

    if not hasattr(_local, "converter"):
        _local.converter = MarkItDown(enable_plugins=False)
    return _local.converter


def convert(data: bytes, *, suffix: str, stem: str, max_chars: int, max_unpacked_bytes: int) -> Converted:
    check_signature(suffix, data)
    check_unpacked_size(suffix, data, max_unpacked_bytes=max_unpacked_bytes)
    if suffix in TEXT_FORMATS:
        return Converted(chunk_markdown(data.decode("utf-8", errors="replace"), stem=stem, max_chars=max_chars))
    if suffix == ".csv":
        faq = chunk_csv(data.decode("utf-8-sig", errors="replace"), stem=stem, max_chars=max_chars)
        if faq is not None:
            return Converted(faq)
    from markitdown import StreamInfo

    result = _converter().convert_stream(
        io.BytesIO(data), stream_info=StreamInfo(extension=suffix), table_infer_header=True
    )
    markdown = result.markdown or ""
    chunks = chunk_markdown(markdown, stem=stem, max_chars=max_chars)
    if result.title and not markdown.lstrip().startswith("# "):
        chunks = [
            Chunk(
                title=result.title.strip(),
                section=c.section if c.section != c.title else result.title.strip(),
                text=c.text,
            )
            for c in chunks
        ]
    return Converted(chunks)
