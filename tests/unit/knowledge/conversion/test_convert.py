"""The entry point: the checks it makes first, the formats it refuses, and threads."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from knowledge.archive_limits import ArchiveTooLarge
from knowledge.conversion import SUPPORTED_FORMATS, convert
from tests.unit.knowledge.conversion.files import FIXTURES, convert_fixture


def test_a_file_that_is_not_its_format_is_refused_before_converting() -> None:
    with pytest.raises(ValueError, match="not a valid PDF file"):
        convert(b"plain text", suffix=".pdf", stem="manual", max_chars=1200, max_unpacked_bytes=1 << 20)


def test_an_office_file_past_the_unpacked_limit_is_refused() -> None:
    data = (FIXTURES / "whats-new.pptx").read_bytes()
    with pytest.raises(ArchiveTooLarge):
        convert(data, suffix=".pptx", stem="whats-new", max_chars=1200, max_unpacked_bytes=1000)


def test_a_format_it_does_not_support_is_refused() -> None:
    assert ".rtf" not in SUPPORTED_FORMATS
    with pytest.raises(ValueError, match="not a supported format"):
        convert(b"{\\rtf1 notes}", suffix=".rtf", stem="notes", max_chars=1200, max_unpacked_bytes=1 << 20)


def test_threads_convert_at_once_as_one_does_alone() -> None:
    names = sorted(path.name for path in FIXTURES.iterdir() if path.suffix.lower() in SUPPORTED_FORMATS) * 3
    alone = [convert_fixture(name) for name in names]
    with ThreadPoolExecutor(max_workers=6) as pool:
        together = list(pool.map(convert_fixture, names))

    assert together == alone
    assert {".pdf", ".docx", ".pptx", ".json", ".html"} <= {name[name.rindex(".") :] for name in names}
