"""Word files: the Title style is the title, Heading 1 the sections under it, Subtitle a
paragraph, lists `- ` lists."""

from __future__ import annotations

from tests.unit.knowledge.conversion.files import by_section, convert_fixture


def test_the_title_paragraph_is_the_title_and_the_heading_1s_its_sections() -> None:
    chunks = convert_fixture("keyboard-manual.docx").chunks

    assert {c.title for c in chunks} == {"Brightdesk K2 keyboard"}
    assert list(by_section(chunks)) == ["Brightdesk K2 keyboard", "Pairing", "Pairing › On a Mac", "Warranty"]


def test_the_subtitle_is_a_paragraph_under_the_title_not_a_heading() -> None:
    sections = by_section(convert_fixture("keyboard-manual.docx").chunks)

    assert sections["Brightdesk K2 keyboard"] == "Owner's manual\n\nThank you for choosing the K2."
    assert sections["Pairing"] == "Hold Fn and 1 for three seconds."


def test_bullets_are_a_markdown_list() -> None:
    sections = by_section(convert_fixture("keyboard-manual.docx").chunks)

    assert sections["Warranty"] == "- Two years on manufacturing defects\n- Water damage is not covered"


def test_without_a_title_paragraph_the_first_heading_1_is_the_title() -> None:
    chunks = convert_fixture("setup-guide.docx").chunks

    assert {c.title for c in chunks} == {"Setup guide"}
    assert by_section(chunks) == {
        "Setup guide": "Set up your workspace in three steps.",
        "Invite your team": "Open Settings, then Members.",
        "Importing": "Import projects from Trello or Jira.",
    }
