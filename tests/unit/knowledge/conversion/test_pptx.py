"""PowerPoint decks: a section per slide named by its title, bullets a `- ` list."""

from __future__ import annotations

from tests.unit.knowledge.conversion.files import by_section, convert_fixture


def test_each_slide_is_a_section_named_by_its_title_and_the_first_names_the_deck() -> None:
    chunks = convert_fixture("whats-new.pptx").chunks

    assert {c.title for c in chunks} == {"What's new in 4.2"}
    assert list(by_section(chunks)) == ["What's new in 4.2", "Workload report", "Seat prices", "Slide 4"]


def test_bullets_are_separate_list_items_indented_by_level() -> None:
    sections = by_section(convert_fixture("whats-new.pptx").chunks)

    assert sections["Workload report"].split("\n\n")[0].split("\n") == [
        "- Planned hours against available hours",
        "  - Week by week",
        "  - For each person",
        "- Available on Business and Enterprise",
    ]


def test_speaker_notes_follow_the_slide_text() -> None:
    sections = by_section(convert_fixture("whats-new.pptx").chunks)

    assert sections["Workload report"].endswith("\n\nNotes: Time off reduces the available hours automatically.")


def test_a_subtitle_and_a_text_box_are_paragraphs_and_a_table_a_markdown_table() -> None:
    sections = by_section(convert_fixture("whats-new.pptx").chunks)

    assert sections["What's new in 4.2"] == "Release overview, September 2024"
    assert sections["Seat prices"] == (
        "Per seat and month:\n\n| Plan | Price |\n| --- | --- |\n| Starter | $9 |\n| Business | $19 |"
    )
    assert sections["Slide 4"] == "Questions? Write to support@brightdesk.example."
