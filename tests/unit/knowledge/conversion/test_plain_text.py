"""Plain-text articles: the lines their writer set apart as headings are the title and sections."""

from __future__ import annotations

from tests.unit.knowledge.conversion.files import by_section, convert_bytes

BIKES = """Damage, accidents and stolen bikes

Our mechanics check every bike once a fortnight. This page says what to do when a bike is faulty.

A FAULTY BIKE

If the brakes are loose, do not ride it. Press the spanner button on the dock.

OPENING HOURS

Summer (1 April to 30 September)

Monday to Friday, 8:00am to 6:00pm.

We take:
  - cash
  - cards

IMPROVED
  - The app starts faster.

Thanks for riding with us
"""


def test_capital_lines_are_sections_and_the_first_line_the_title() -> None:
    chunks = convert_bytes(BIKES.encode(), "damage.txt").chunks

    assert {c.title for c in chunks} == {"Damage, accidents and stolen bikes"}
    assert by_section(chunks)["A FAULTY BIKE"] == (
        "If the brakes are loose, do not ride it. Press the spanner button on the dock."
    )
    # an ordinary line under a capitals heading is a section inside it
    assert "OPENING HOURS › Summer (1 April to 30 September)" in by_section(chunks)
    # a capitals line heads the lines under it in its own paragraph ("IMPROVED" over its list)
    assert by_section(chunks)["IMPROVED"] == "  - The app starts faster.\n\nThanks for riding with us"


def test_a_lead_in_and_the_last_line_are_text() -> None:
    sections = by_section(convert_bytes(BIKES.encode(), "damage.txt").chunks)

    assert "We take:\n  - cash\n  - cards" in sections["OPENING HOURS › Summer (1 April to 30 September)"]
    assert not any(heading in ("We take:", "Thanks for riding with us") for heading in sections)


def test_underlined_lines_are_the_title_and_sections() -> None:
    text = (
        "Cancellations and refunds\n=========================\n\nEvery pupil follows these rules.\n\n"
        "Missed lessons\n--------------\n\nYour instructor waits 20 minutes at the pick-up point.\n\n"
        "Refunds\n-------\n\nUnused hours are refunded at £20 an hour.\n"
    )
    chunks = convert_bytes(text.encode(), "cancellations.txt").chunks

    assert {c.title for c in chunks} == {"Cancellations and refunds"}
    assert by_section(chunks) == {
        "Cancellations and refunds": "Every pupil follows these rules.",
        "Missed lessons": "Your instructor waits 20 minutes at the pick-up point.",
        "Refunds": "Unused hours are refunded at £20 an hour.",
    }


def test_a_file_without_headings_is_one_section_named_by_the_file() -> None:
    text = "You can pay by card or by bank transfer.\nWe do not take cheques.\n\nRefunds take five days.\n"
    chunks = convert_bytes(text.encode(), "payments.txt").chunks

    assert [(c.title, c.section) for c in chunks] == [("Payments", "Payments")]


def test_a_text_file_written_in_markdown_is_read_as_markdown() -> None:
    text = "# Payments\n\n## Cards\n\nWe take cards.\n\nCASH\n\nWe do not take cash.\n"
    chunks = convert_bytes(text.encode(), "payments.txt").chunks

    assert by_section(chunks) == {"Cards": "We take cards.\n\nCASH\n\nWe do not take cash."}


def test_lines_of_contact_details_are_text_not_headings() -> None:
    """An ordinary line is a heading only over text: "Phone …" over "Email …" is neither, and
    nothing of it is left out of the chunks."""
    text = "Contact us\n\nPhone 01234 567890\n\nEmail help@example.com\n\nWe answer within a day.\n"
    chunks = convert_bytes(text.encode(), "contact.txt").chunks

    assert "Phone 01234 567890" in "\n".join(c.text for c in chunks)
    assert "Phone 01234 567890" not in by_section(chunks)


def test_an_underline_with_text_right_under_it_and_a_byte_order_mark() -> None:
    text = "\ufeffOpening hours\n=============\nWe open at 9am.\n\nHolidays\n--------\nClosed on bank holidays.\n"
    chunks = convert_bytes(text.encode(), "hours.txt").chunks

    assert {c.title for c in chunks} == {"Opening hours"}
    assert by_section(chunks) == {"Opening hours": "We open at 9am.", "Holidays": "Closed on bank holidays."}


def test_one_line_starting_with_a_hash_does_not_make_a_file_markdown() -> None:
    text = "BOOKING A TABLE\n\n# of guests: up to 12 at one table.\n\nLARGER GROUPS\n\nCall us first.\n"
    chunks = convert_bytes(text.encode(), "booking.txt").chunks

    assert {c.title for c in chunks} == {"BOOKING A TABLE"}
    assert by_section(chunks)["LARGER GROUPS"] == "Call us first."


REFUNDS = """REFUNDS

Tell us in writing when you cancel.

  When you cancel                        What you get back
  More than 42 days before arrival       Everything except the deposit
  Between 42 and 14 days before arrival  50% of the total cost
  Fewer than 14 days before arrival      Nothing

Insurance is up to you.
"""


def test_columns_set_out_with_spaces_are_a_table() -> None:
    """Read as text, the cells ran together into one sentence: "When you cancel What you get
    back More than 42 days before arrival Everything except the deposit Between…"."""
    sections = by_section(convert_bytes(REFUNDS.encode(), "refunds.txt").chunks)

    assert sections["REFUNDS"].split("\n\n") == [
        "Tell us in writing when you cancel.",
        "| When you cancel | What you get back |\n"
        "| --- | --- |\n"
        "| More than 42 days before arrival | Everything except the deposit |\n"
        "| Between 42 and 14 days before arrival | 50% of the total cost |\n"
        "| Fewer than 14 days before arrival | Nothing |",
        "Insurance is up to you.",
    ]


def test_columns_set_out_with_tabs_are_a_table() -> None:
    text = "Prices\n\nPaper\tBlack and white\tColour\nA4\t15p\t60p\nA3\t30p\t£1.20\n\nPay at the desk.\n"
    sections = by_section(convert_bytes(text.encode(), "printing.txt").chunks)

    assert "| Paper | Black and white | Colour |\n| --- | --- | --- |\n| A4 | 15p | 60p |" in sections["Prices"]


def test_lines_whose_gaps_do_not_line_up_stay_text() -> None:
    """Two spaces after a full stop, as some writers type, are no column."""
    text = (
        "Hours\n\nWe open at 9.  We close at 5.\nOn Sundays we open at 10.  We close at 4.\nBank holidays:  closed.\n"
    )
    sections = by_section(convert_bytes(text.encode(), "hours.txt").chunks)

    assert "|" not in sections["Hours"]


def test_a_list_labelled_lines_and_prose_set_out_in_columns_stay_text() -> None:
    steps = "1.  Open the app\n2.  Tap Settings, then Account\n3.  Tap Reset password"
    bullets = "*   Your licence\n*   Your booking number\n*   A pen"
    contact = "Phone:   01632 960 418\nEmail:   help@example.com\nPost:    1 High Street"
    prose = (
        "We open the pool early on weekdays for lane   and the learner pool is kept warm for the classes\n"
        "swimming only, so please bring your own float   that run every afternoon until the end of term\n"
        "or borrow one from the basket beside the steps   and on Saturday mornings for the little ones"
    )
    for block in (steps, bullets, contact, prose):
        text = f"Help\n\n{block}\n\nAsk us anything.\n"
        assert "|" not in by_section(convert_bytes(text.encode(), "help.txt").chunks)["Help"], block
