"""The conversion fixtures (`tests/fixtures/conversion`, binary ones made by its
`make_fixtures.py`) converted as ingest converts them, and read back by section."""

from __future__ import annotations

from pathlib import Path

from knowledge.archive_limits import DEFAULT_MAX_UNPACKED_BYTES
from knowledge.conversion import Converted, convert
from knowledge.ingest.chunking import Chunk

FIXTURES = Path(__file__).resolve().parents[3] / "fixtures" / "conversion"


def convert_bytes(data: bytes, name: str, *, max_chars: int = 1200) -> Converted:
    path = Path(name)
    return convert(
        data,
        suffix=path.suffix.lower(),
        stem=path.stem,
        max_chars=max_chars,
        max_unpacked_bytes=DEFAULT_MAX_UNPACKED_BYTES,
    )


def convert_fixture(name: str, *, max_chars: int = 1200) -> Converted:
    return convert_bytes((FIXTURES / name).read_bytes(), name, max_chars=max_chars)


def by_section(chunks: list[Chunk]) -> dict[str, str]:
    """Each section's text (its chunks joined), in document order."""
    sections: dict[str, list[str]] = {}
    for chunk in chunks:
        sections.setdefault(chunk.section, []).append(chunk.text)
    return {section: "\n\n".join(texts) for section, texts in sections.items()}
