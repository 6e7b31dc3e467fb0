"""PDFs: headings by size or by the outline, paragraphs joined, lists and tables kept."""

from __future__ import annotations

import pytest

from tests.fixtures.conversion.make_fixtures import line, paragraph, pdf
from tests.unit.knowledge.conversion.files import by_section, convert_bytes, convert_fixture


def test_larger_lines_are_the_title_and_the_sections_by_size() -> None:
    chunks = convert_fixture("keyboard-guide.pdf").chunks

    assert {c.title for c in chunks} == {"Brightdesk K2 keyboard guide"}  # not the metadata's title
    assert list(by_section(chunks)) == [
        "Brightdesk K2 keyboard guide",
        "Pairing a new device",
        "Pairing a new device › On a Mac",
        "Warranty",
    ]


def test_a_heading_is_not_body_text() -> None:
    chunks = convert_fixture("keyboard-guide.pdf").chunks

    assert not any(heading in c.text for c in chunks for heading in ("Pairing a new device", "On a Mac", "Warranty"))
    assert by_section(chunks)["Warranty"] == (
        "The warranty covers manufacturing defects for two years from the date of purchase."
    )


def test_wrapped_lines_are_one_paragraph_and_bullets_a_list() -> None:
    sections = by_section(convert_fixture("keyboard-guide.pdf").chunks)

    assert sections["Brightdesk K2 keyboard guide"] == (
        "Every K2 keyboard pairs with up to three devices. This guide explains how to pair it, how to switch"
        " between devices and what the two-year warranty covers."
    )
    assert sections["Pairing a new device"] == (
        "Turn the keyboard on with the switch on its back edge. Then follow the steps below.\n\n"
        "- Hold Fn and 1 for three seconds.\n- Choose K2 in the Bluetooth settings."
    )


def test_a_list_items_wrapped_lines_set_under_its_text_are_the_rest_of_the_item() -> None:
    sections = by_section(convert_fixture("wrapped-steps.pdf").chunks)

    assert sections["How to cancel"] == (
        "1. Call us on 0808 157 0192 or email us. We need 30 days' notice.\n"
        "2. We'll email you to confirm your end date.\n"
        "3. Send the Home Hub back within 30 days. If we don't receive it, we charge £60.\n\n"
        "Switching to another provider? You don't need to contact us."
    )


def test_text_of_one_size_is_one_section_titled_by_the_metadata_with_all_its_text() -> None:
    chunks = convert_fixture("release-notes.pdf").chunks

    assert by_section(chunks) == {
        "Brightdesk 4.2.1 release notes": (
            "Version 4.2.1 fixes the timer on the desktop app, which sometimes stopped when the laptop slept.\n\n"
            "Reports now export to XLSX as well as CSV and PDF.\n\n"
            "Firefox ESR is now officially supported."
        )
    }
    assert {c.title for c in chunks} == {"Brightdesk 4.2.1 release notes"}


def test_the_outline_names_headings_no_larger_than_the_text_on_the_pages_it_points_to() -> None:
    """The bookmarks point to page 2; the contents on page 1 repeat their words as text. The
    title, larger than any bookmarked line and above them, is the title."""
    chunks = convert_fixture("refund-rules.pdf").chunks

    assert {c.title for c in chunks} == {"Refund rules"}
    sections = by_section(chunks)
    assert list(sections) == ["Refund rules", "Monthly plans", "Annual plans"]
    assert sections["Monthly plans"] == "Monthly plans are refunded within 30 days of the first payment."
    assert "Annual plans" in sections["Refund rules"]  # the contents stay text


def test_a_borderless_table_is_a_markdown_table_where_it_stands() -> None:
    sections = by_section(convert_fixture("price-list.pdf").chunks)

    assert sections["Prices"] == (
        "What each plan costs per month, billed monthly.\n\n"
        "| Plan | Monthly price | Seats |\n| --- | --- | --- |\n| Starter | $9 | 1 |\n| Business | $49 | 10 |\n\n"
        "Prices exclude VAT."
    )
    assert sections["Limits"] == (
        "| Plan | Projects |\n| --- | --- |\n| Starter | 3 |\n| Business | Unlimited |\n\n"
        "1. Open Settings\n2. Click Billing\n3. Choose a plan"
    )


def test_a_page_in_two_columns_is_paragraphs_column_by_column_not_a_table() -> None:
    sections = by_section(convert_fixture("data-residency.pdf").chunks)

    assert sections == {
        "Data residency": (
            "Brightdesk keeps your data in the EU region unless you chose the US region when you created the"
            " workspace. Backups are kept for thirty days and are encrypted.\n\n"
            "You can move a workspace between regions once a year. The move takes about an hour and the workspace"
            " is read-only meanwhile. Contact support to schedule it."
        )
    }


def test_a_sentence_a_page_break_cuts_is_one_sentence() -> None:
    """A sentence the page ends in the middle of goes on at the top of the next page; the quote
    of it must not start at "means you cannot…"."""
    first = line(740, 18, "Classes", bold=True) + paragraph(
        700,
        ["Cancel a class up to two hours before it starts and you lose nothing. Three", "missed bookings in 30 days"],
    )
    second = paragraph(740, ["means you cannot book classes for 7 days."])

    assert by_section(convert_bytes(pdf([first, second]), "classes.pdf").chunks)["Classes"] == (
        "Cancel a class up to two hours before it starts and you lose nothing. Three missed bookings in 30 days"
        " means you cannot book classes for 7 days."
    )


def test_a_lower_case_paragraph_is_joined_only_across_a_page_and_not_to_a_footer() -> None:
    """On one page "iPhone users…" is a paragraph of its own; "Page 1 of 2" ends no sentence the
    next page goes on with."""
    first = (
        line(740, 18, "Devices", bold=True)
        + paragraph(700, ["Apple devices"])
        + paragraph(660, ["iPhone users can download the app from the App Store. Three"])
        + line(40, 9, "Page 1 of 2")
    )
    second = paragraph(740, ["more apps are coming."])

    assert by_section(convert_bytes(pdf([first, second]), "devices.pdf").chunks)["Devices"] == (
        "Apple devices\n\niPhone users can download the app from the App Store. Three\n\nPage 1 of 2\n\n"
        "more apps are coming."
    )


@pytest.mark.parametrize(
    "items",
    [
        ["Foot passengers who need help board first.", "Staff can carry your luggage."],
        ["your passport", "your boarding pass", "a printed ticket"],
    ],
)
def test_a_bullet_drawn_apart_from_its_text_is_a_list_item(items: list[str]) -> None:
    """Each bullet alone on its line starts the item of the line after it, lower case or not."""
    page = line(740, 18, "Getting on and off", bold=True) + paragraph(700, ["Before you board:"])
    for i, text in enumerate(items):
        page += line(686 - 20 * i, 11, "\u2022") + line(680 - 20 * i, 11, text, x=86)

    assert by_section(convert_bytes(pdf([page]), "boarding.pdf").chunks)["Getting on and off"] == (
        "Before you board:\n\n" + "\n".join(f"- {text}" for text in items)
    )


def test_a_dash_alone_on_its_line_starts_no_item() -> None:
    page = (
        line(740, 18, "Contact", bold=True)
        + paragraph(700, ["Opening hours are 9am to 5pm."])
        + line(680, 11, "-")
        + paragraph(660, ["Kestrel Customer Services"])
    )

    assert by_section(convert_bytes(pdf([page]), "contact.pdf").chunks)["Contact"] == (
        "Opening hours are 9am to 5pm.\n\nKestrel Customer Services"
    )
