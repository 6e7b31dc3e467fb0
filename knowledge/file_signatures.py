"""Does a binary file start like its format? The one check shared by knowledge ingest and
customers' attachments; a leaf module (standard library only), so either side can use it
without loading the other.

Why: given bytes that are not the format their name says, markitdown falls back to reading
them as text, and the result is garbage (an indexed chunk, or text handed to the agent).
"""

from __future__ import annotations

_MAGIC = {".pdf": (b"%PDF",), ".docx": (b"PK\x03\x04",), ".xlsx": (b"PK\x03\x04",), ".pptx": (b"PK\x03\x04",)}


def check_signature(suffix: str, data: bytes) -> None:
    """Raise ValueError ("not a valid PDF file") when `suffix` (".pdf", lower case) names a
    binary format whose signature is not within the first KiB of `data`; formats without a
    signature (text, HTML, CSV, JSON) always pass."""
    magic = _MAGIC.get(suffix)
    if magic and not any(sig in data[:1024] for sig in magic):
        raise ValueError(f"not a valid {suffix[1:].upper()} file")
