"""Markdown front matter: `title:` names a document without a `# ` heading, `url:` is where
customers read it, and the block itself is never indexed."""

from __future__ import annotations

import logging

import pytest

from knowledge.ingest.chunking import chunk_markdown
from tests.unit.knowledge.conversion.files import convert_bytes

ARTICLE = b"""---
title: Refunds
url: https://help.brightdesk.example/refunds
tags: [billing, refunds]
---
You can ask for a refund within 30 days.

## Annual plans

Annual plans are refunded pro rata.
"""


def test_front_matter_gives_the_title_and_the_url_and_is_not_text() -> None:
    converted = convert_bytes(ARTICLE, "refund-policy.md")

    assert converted.url == "https://help.brightdesk.example/refunds"
    assert [(c.title, c.section) for c in converted.chunks] == [("Refunds", "Refunds"), ("Refunds", "Annual plans")]
    assert converted.chunks[0].text == "You can ask for a refund within 30 days."
    assert not any("tags" in c.text or "---" in c.text or "url" in c.text for c in converted.chunks)


def test_a_heading_in_the_text_is_the_title_before_the_front_matter_one() -> None:
    converted = convert_bytes(b"---\ntitle: Old name\n---\n# Refund policy\n\nText.\n", "refunds.md")

    assert [(c.title, c.text) for c in converted.chunks] == [("Refund policy", "Text.")]
    assert converted.url is None


@pytest.mark.parametrize(
    "url",
    ["javascript:alert(1)", "ftp://files.example/refunds", "/refunds", "https://", "[1, 2]", "http://[::1"],
)
def test_a_url_that_is_not_http_is_ignored_with_a_warning_naming_the_key(
    url: str, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="knowledge.conversion"):
        converted = convert_bytes(f"---\ntitle: Refunds\nurl: {url}\n---\nText.\n".encode(), "refunds.md")

    assert converted.url is None
    assert [(c.title, c.text) for c in converted.chunks] == [("Refunds", "Text.")]
    assert "`url` ignored" in caplog.text and "refunds" in caplog.text


@pytest.mark.parametrize(
    "document",
    [
        pytest.param("---\ntitle: [unclosed\n---\nText.\n", id="not-yaml"),
        pytest.param("---\n" + "[" * 3000 + "\n---\nText.\n", id="nested-past-the-recursion-limit"),
    ],
)
def test_a_malformed_block_is_kept_as_text(document: str) -> None:
    converted = convert_bytes(document.encode(), "refunds.md")

    assert converted.url is None
    assert converted.chunks[0].title == "Refunds"
    assert "Text." in converted.chunks[-1].text


@pytest.mark.parametrize(
    "document",
    [
        pytest.param("---\n# Refund policy\n\nText.\n\n---\n\nMore text.\n", id="a-rule-then-a-heading"),
        pytest.param("---\nJust a paragraph between two rules.\n---\n", id="a-paragraph-between-rules"),
        pytest.param("----\ntitle: Not front matter\n---\nText.\n", id="four-dashes"),
        pytest.param("---\ntitle: Unclosed\n\nText.\n", id="no-closing-line"),
    ],
)
def test_a_document_that_starts_with_a_rule_but_no_front_matter_is_unchanged(document: str) -> None:
    converted = convert_bytes(document.encode(), "refunds.md")

    assert converted.chunks == chunk_markdown(document, stem="refunds", max_chars=1200)
    assert converted.url is None


def test_a_byte_order_mark_does_not_hide_the_front_matter() -> None:
    converted = convert_bytes("\ufeff".encode() + ARTICLE, "refund-policy.md")

    assert converted.chunks[0].title == "Refunds"
