from __future__ import annotations

import pytest

from knowledge.ingest.chunking import (
    chunk_csv,
    chunk_markdown,
    embedding_text,
    humanize_stem,
    split_text,
)

ARTICLE = """# Billing and refunds

Everything about paying for Acme Cloud.

## Refunds

You can ask for a refund within 30 days of purchase. Refunds go back to the original card.

### Annual plans

Annual plans are refunded pro rata after the first 30 days.

```bash
# this is a comment in code, not a heading
acme billing refund --invoice INV-2024-00731
```

## Payment errors

| code | meaning |
| --- | --- |
| BD-4012 | the card was declined |
| BD-4013 | the card has expired |
"""


def test_sections_keep_title_and_heading_path() -> None:
    chunks = chunk_markdown(ARTICLE, stem="billing", max_chars=1200)
    assert {c.title for c in chunks} == {"Billing and refunds"}
    sections = [c.section for c in chunks]
    assert sections == ["Billing and refunds", "Refunds", "Refunds › Annual plans", "Payment errors"]
    annual = chunks[2]
    assert "# this is a comment in code" in annual.text  # a heading inside a code fence is code
    assert embedding_text(annual).startswith("Billing and refunds › Refunds › Annual plans\n")


def test_title_falls_back_to_humanized_file_stem() -> None:
    chunks = chunk_markdown("## Setup\nInstall it.", stem="getting-started_guide", max_chars=500)
    assert chunks[0].title == "Getting started guide" == humanize_stem("getting-started_guide")


@pytest.mark.parametrize("max_chars", [200, 350, 1000])
def test_long_sections_split_within_bound_and_never_empty(max_chars: int) -> None:
    paragraph = "This sentence explains one small thing about the product. " * 12
    body = "\n\n".join([paragraph] * 4) + "\n\n" + "x" * (max_chars + 50)
    pieces = split_text(body, max_chars=max_chars)
    assert pieces and all(0 < len(p) <= max_chars for p in pieces)
    assert all(p.strip() for p in pieces)
    # sentence boundaries are respected where possible
    assert pieces[0].endswith(".")


def test_long_table_is_split_by_rows_with_the_header_repeated() -> None:
    rows = "\n".join(f"| Plan {i} | {i * 10} USD per month |" for i in range(60))
    markdown = f"# Prices\n\n| plan | price |\n| --- | --- |\n{rows}\n"
    chunks = chunk_markdown(markdown, stem="prices", max_chars=300)
    assert len(chunks) > 1
    for chunk in chunks:
        assert chunk.text.startswith("| plan | price |\n| --- | --- |\n| Plan")
        assert len(chunk.text) <= 300


def test_empty_and_heading_only_documents_give_no_empty_chunks() -> None:
    assert chunk_markdown("", stem="x", max_chars=500) == []
    assert chunk_markdown("# Title\n\n## Empty\n\n## Also empty\n", stem="x", max_chars=500) == []


def test_faq_csv_gives_one_chunk_per_row_with_the_question_as_section() -> None:
    csv_text = (
        "Question,Answer,Category\n"
        'How do I reset my password?,"Use the ""Forgot password"" link, then check your email.",Account\n'
        "Can I pay by invoice?,Yes on the Business plan.,Billing\n"
    )
    chunks = chunk_csv(csv_text, stem="faq", max_chars=500)
    assert chunks is not None
    assert [c.section for c in chunks] == ["How do I reset my password?", "Can I pay by invoice?"]
    assert chunks[0].text == 'Use the "Forgot password" link, then check your email.\nCategory: Account'
    assert chunks[1].title == "Faq"


def test_csv_without_question_and_answer_columns_is_not_an_faq() -> None:
    assert chunk_csv("sku,price\nA1,10\nB2,20\n", stem="prices", max_chars=500) is None


def test_a_rule_line_between_sections_is_not_a_chunk() -> None:
    chunks = chunk_markdown(
        "# Guide\n\n## One\n\nFirst part.\n\n---\n\n## Two\n\nSecond part.\n", stem="guide", max_chars=500
    )
    assert [c.text for c in chunks] == ["First part.", "Second part."]
