"""HTML files: the `<h1>` (else `<title>`) is the title, lists and tables kept."""

from __future__ import annotations

from tests.unit.knowledge.conversion.files import by_section, convert_bytes, convert_fixture


def test_the_h1_is_the_title_even_after_a_navigation_bar() -> None:
    chunks = convert_fixture("exporting-data.html").chunks

    assert {c.title for c in chunks} == {"Exporting your data"}
    assert list(by_section(chunks)) == ["Exporting your data", "What you can export", "Steps", "Limits"]


def test_without_an_h1_the_page_title_is_the_title() -> None:
    page = b"<html><head><title>Shipping</title></head><body><p>Parcels arrive in three days.</p></body></html>"

    assert [(c.title, c.text) for c in convert_bytes(page, "shipping.html").chunks] == [
        ("Shipping", "Parcels arrive in three days.")
    ]


def test_lists_are_markdown_lists_and_tables_markdown_tables() -> None:
    sections = by_section(convert_fixture("exporting-data.html").chunks)

    assert sections["What you can export"].split("\n") == [
        "- Projects and tasks",
        "  - with their comments",
        "  - with their attachments",
        "- Time entries",
    ]
    assert sections["Steps"] == "1. Open **Settings › Data**.\n2. Click *Export*."
    assert sections["Limits"] == "| Plan | Exports per day |\n| --- | --- |\n| Free | 1 |\n| Business | 10 |"
    assert not any("document.title" in text for text in sections.values())
