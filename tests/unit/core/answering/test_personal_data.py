"""Personal data in a learned answer: each shape, the known values, overlaps and the redaction."""

from __future__ import annotations

import pytest

from core.answering.personal_data import Found, Kind, find, redact


def spans(text: str, known: tuple[str, ...] = ()) -> list[tuple[Kind, str]]:
    return [(f.kind, f.text) for f in find(text, known=known)]


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("Write to priya.raman@acme.co.uk and we'll check.", "priya.raman@acme.co.uk"),
        ("Email: J_Doe+support@mail.example.com", "J_Doe+support@mail.example.com"),
    ],
)
def test_an_email(text: str, value: str) -> None:
    assert spans(text) == [(Kind.EMAIL, value)]


@pytest.mark.parametrize(
    "phone",
    [
        "+44 20 7946 0958",
        "+44 (0)20 7946 0958",
        "+1-415-555-0134",
        "+4915123456789",
        "020 7946 0958",
        "(415) 555-0134",
        "415-555-0134",
        "415.555.0134",
        "07700 900123",
        "1-800-555-0199",
    ],
)
def test_a_phone_number(phone: str) -> None:
    assert spans(f"Call me on {phone}, after 5.") == [(Kind.PHONE, phone)]


def test_a_phone_number_in_parentheses() -> None:
    assert spans("Our line (020 7946 0958) is open") == [(Kind.PHONE, "020 7946 0958")]


@pytest.mark.parametrize(
    "text",
    [
        "The export ran on 2024-03-01 at 10:30 and on 01/03/2024 10:45.",
        "It costs $1,299.00 a year, or €1 299 000 for the lot.",
        "Update to v2.3.1 or 10.2.33 first.",
        "Times: 09:30-17:30, Monday to Friday.",
        "Scores were 10 20 30 40 50 60 in the test.",
        "Steps 1 2 3 4 5 6 7 8 9 are the same.",
    ],
)
def test_no_phone_number_in_dates_times_prices_versions_or_lists(text: str) -> None:
    assert spans(text) == []


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("My order 113542617735902 never came", "113542617735902"),
        ("It is 00123842.", "00123842"),
        ("See INV-2024-00731 attached", "INV-2024-00731"),
        ("About #4821 again", "#4821"),
        ("Paid #334455, not a colour", "334455"),
        ("The desk BD-4012 is broken", "BD-4012"),
        ("Order number: A77", "A77"),
        ("my invoice no. 7Q1 is wrong", "7Q1"),
        ("ticket #48 is still open", "#48"),
        ("Case ID is x-9", "x-9"),
        ("case #7 and", "#7"),
        ("Your reference number 2024-113 is saved", "2024-113"),
        ("Error ERR-5021 appeared", "ERR-5021"),
    ],
)
def test_an_order_number(text: str, value: str) -> None:
    assert spans(text) == [(Kind.ORDER, value)]


@pytest.mark.parametrize(
    "text",
    [
        "We changed the plans in 2024.",
        "The invoice 2024 layout is new.",
        "In case 2FA is on, enter the code.",
        "Set the colour to #1A2B3C; C# and &#8212; are fine.",
        "Our top-100 customers, COVID-19 rules and UTF-8 files.",
        "It costs $12500 or 3.14159 of something.",
        "Check your order status under Orders.",
    ],
)
def test_no_order_number_in_years_words_colours_or_amounts(text: str) -> None:
    assert spans(text) == []


def test_an_ordinary_help_article_paragraph_has_nothing() -> None:
    article = (
        "Go to Settings › Billing and choose Download invoice. Refunds take 5-10 business days. "
        "The API allows 600 requests per minute on Business. Plans renewed in 2024 keep their price; "
        "version 2.3.1 added exports at 09:30 UTC, and the Pro plan costs $1,299.00 a year."
    )
    assert find(article, known=("Priya Raman", "priya@acme.com", "+44 20 7946 0958")) == []


def test_every_occurrence_of_a_known_value_in_any_case_as_a_whole_word() -> None:
    text = "Priya Raman asked; PRIYA RAMAN again, and priya\nraman split, not PriyaRaman."
    assert spans(text, ("Priya Raman",)) == [
        (Kind.NAME, "Priya Raman"),
        (Kind.NAME, "PRIYA RAMAN"),
        (Kind.NAME, "priya\nraman"),
    ]


def test_a_known_names_first_and_last_word_when_capitalised() -> None:
    text = "Thanks Priya! Ms Raman wrote; priya and raman in lowercase are not her."
    assert spans(text, ("Priya Raman",)) == [(Kind.NAME, "Priya"), (Kind.NAME, "Raman")]


def test_a_known_names_short_words_are_not_found_alone() -> None:
    assert spans("Al said Li, Dr. and Al Li", ("Dr. Al Li",)) == []
    assert spans("Al Li wrote", ("Al Li",)) == [(Kind.NAME, "Al Li")]


def test_a_single_word_known_name_in_any_case() -> None:
    assert spans("jordan wrote to Jordan", ("Jordan",)) == [(Kind.NAME, "jordan"), (Kind.NAME, "Jordan")]


@pytest.mark.parametrize(
    ("known", "text", "kind"),
    [
        ("jo@acme.io", "from Jo@Acme.io today", Kind.EMAIL),
        ("+44 20 7946 0958", "ring +44 20 7946 0958", Kind.PHONE),
        ("4821", "about 4821 again", Kind.ORDER),
        ("BD-4012", "about bd-4012 again", Kind.ORDER),
        ("gamer42", "thanks Gamer42", Kind.NAME),
    ],
)
def test_a_known_values_kind_is_its_shape(known: str, text: str, kind: Kind) -> None:
    assert [f.kind for f in find(text, known=(known,))] == [kind]


def test_known_values_shorter_than_two_characters_are_ignored() -> None:
    assert find("J said x and 7", known=("J", " x ", "7", "")) == []


def test_no_known_values_finds_only_shapes() -> None:
    assert spans("Priya paid order 12345") == [(Kind.ORDER, "12345")]


def test_on_overlap_the_longest_wins() -> None:
    text = "Mail priya.raman@acme.com or ring 07700 900123."
    assert spans(text, ("Priya", "Raman", "acme", "900123")) == [
        (Kind.EMAIL, "priya.raman@acme.com"),
        (Kind.PHONE, "07700 900123"),
    ]


def test_on_a_tie_the_earlier_wins() -> None:
    found = find("Ann Lee Bo", known=("Ann Lee", "Lee Bo"))
    assert [(f.start, f.end, f.text) for f in found] == [(0, 7, "Ann Lee")]


def test_findings_are_sorted_by_start_and_located_in_the_text() -> None:
    text = "#4821 for Priya at priya@acme.com"
    found = find(text, known=("Priya",))
    assert [f.start for f in found] == sorted(f.start for f in found)
    assert all(text[f.start : f.end] == f.text for f in found)
    assert [f.kind for f in found] == [Kind.ORDER, Kind.NAME, Kind.EMAIL]


def test_redact_replaces_each_finding_with_its_kind() -> None:
    text = "Hi Priya, your order #4821 ships to 020 7946 0958; write to priya@acme.com."
    assert redact(text, find(text, known=("Priya Raman",))) == (
        "Hi [name], your order [order number] ships to [phone]; write to [email]."
    )


def test_redact_keeps_what_a_reviewer_unflagged() -> None:
    text = "Thanks Priya, order 55512 is on its way."
    found = find(text, known=("Priya Raman",))
    assert (
        redact(text, [f for f in found if f.kind is not Kind.NAME])
        == "Thanks Priya, order [order number] is on its way."
    )
    assert redact(text, []) == text


@pytest.mark.parametrize(
    "found",
    [
        [Found(Kind.NAME, 0, 5, "Priya"), Found(Kind.NAME, 3, 8, "ya Ra")],
        [Found(Kind.NAME, 0, 5, "Jorda")],
    ],
)
def test_redact_refuses_findings_that_overlap_or_are_not_in_the_text(found: list[Found]) -> None:
    with pytest.raises(ValueError, match="overlaps another finding or is not in the text"):
        redact("Priya Raman", found)
