"""Personal data in a learned answer: each shape, the known values, overlaps and the redaction."""

from __future__ import annotations

import pytest

from core.answering.personal_data import Found, Kind, find, redact
from tests.lookalike_spellings import EMAIL, IBAN, PHONE, PURCHASE, Spelling, leaks, spellings


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


@pytest.mark.parametrize(
    ("text", "kind", "value"),
    [
        ("Call +1\u00a0650\u00a0555\u00a01234 today", Kind.PHONE, "+1\u00a0650\u00a0555\u00a01234"),
        ("Call +44\u2009(0)20\u20097946\u20090958 today", Kind.PHONE, "+44\u2009(0)20\u20097946\u20090958"),
        ("Call ０２０ ７９４６ ０９５８ today", Kind.PHONE, "０２０ ７９４６ ０９５８"),
        ("Mail pri\u200bya.raman@acme.com today", Kind.EMAIL, "pri\u200bya.raman@acme.com"),
        ("Mail ｐｒｉｙａ@ａｃｍｅ.ｃｏｍ today", Kind.EMAIL, "ｐｒｉｙａ@ａｃｍｅ.ｃｏｍ"),
        ("Mail priуa@acme.com today", Kind.EMAIL, "priуa@acme.com"),  # a Cyrillic у
        ("Mail jоhn@acme.com today", Kind.EMAIL, "jоhn@acme.com"),  # a Cyrillic о
        ("Pay to DE89 3704 0044 0532 0130 00 today", Kind.BANK_ACCOUNT, "DE89 3704 0044 0532 0130 00"),
        ("Pay to GB29 NWBK 6016 1331 9268 19 today", Kind.BANK_ACCOUNT, "GB29 NWBK 6016 1331 9268 19"),
        (
            "Pay to FR76\u00a03000\u00a06000\u00a00112\u00a03456\u00a07890\u00a0189 today",
            Kind.BANK_ACCOUNT,
            "FR76\u00a03000\u00a06000\u00a00112\u00a03456\u00a07890\u00a0189",
        ),
        ("Her SSN 123-45-6789 is on file", Kind.ID_NUMBER, "123-45-6789"),
        ("NI number QQ 12 34 56 C is on file", Kind.ID_NUMBER, "QQ 12 34 56 C"),
        ("Codice fiscale RSSMRA85T10A562S is on file", Kind.ID_NUMBER, "RSSMRA85T10A562S"),
        ("National ID: 1 85 05 78 006 084 36, on file", Kind.ID_NUMBER, "1 85 05 78 006 084 36"),
        ("Passport no. C01X00T47 is on file", Kind.ID_NUMBER, "C01X00T47"),
        ("Your purchase 5821 ships today", Kind.ORDER, "5821"),
        ("Booking ref 7QX2 is confirmed", Kind.ORDER, "7QX2"),
        ("Transaction 88-1203 went through", Kind.ORDER, "88-1203"),
    ],
)
def test_look_alike_characters_iban_id_numbers_and_purchases_are_found(text: str, kind: Kind, value: str) -> None:
    assert spans(text) == [(kind, value)]


@pytest.mark.parametrize(
    "text",
    [
        "Our GDPR page covers it; the AB12 cable and the X1 Carbon are fine.",
        "Plans renewed in 2024 keep their price; the refund policy is 30 days.",
        "Your ID card and passport photo must be sharp; the national ID scheme is new.",
        "Purchases over 50 ship free; the transaction log keeps 90 days.",
        "Ｓｅｔｔｉｎｇｓ › Billing, then Download — in 2024\u00a0we added 600 requests per minute.",
    ],
)
def test_no_iban_id_or_purchase_in_ordinary_words(text: str) -> None:
    assert spans(text) == []


@pytest.mark.parametrize(
    ("known", "text", "value"),
    [
        ("+16505551234", "ring (650) 555-1234 now", "(650) 555-1234"),
        ("+16505551234", "ring [650] 555 1234 now", "[650] 555 1234"),
        ("+16505551234", "ring 001 650 555 1234 now", "001 650 555 1234"),
        ("+447700900123", "ring 07700 900123 now", "07700 900123"),
        ("+447700900123", "ring +44 (0)7700 900 123 now", "+44 (0)7700 900 123"),
        ("07700900123", "ring +44 7700 900123 now", "+44 7700 900123"),
        ("5821", "about 58-21 now", "58-21"),
        ("5821", "about 5 8 2 1 now", "5 8 2 1"),
        ("5821", "about ５８２１ now", "５８２１"),
        ("5821", "about 5\u200b8\u200b2\u200b1 now", "5\u200b8\u200b2\u200b1"),
        ("priya.raman@example.com", "mail PRIYA . RAMAN @ EXAMPLE . COM now", "PRIYA . RAMAN @ EXAMPLE . COM"),
        ("Priya Raman", "thanks Рriya Raman now", "Рriya Raman"),  # a Cyrillic Р
    ],
)
def test_a_known_identifier_is_found_by_its_digits_and_letters(known: str, text: str, value: str) -> None:
    assert [f.text for f in find(text, known=(known,))] == [value]


def test_a_known_number_written_out_in_words_is_not_found() -> None:
    assert find("about five eight two one now", known=("5821",)) == []  # docs/suggestions.md says so


def test_known_digits_are_not_found_inside_a_longer_number() -> None:
    assert find("ticket 1958214 and 58210", known=("5821",)) == [
        Found(Kind.ORDER, 7, 14, "1958214"),
        Found(Kind.ORDER, 19, 24, "58210"),
    ]  # by shape, each whole: not a known 5821 cut out of them


SPELLINGS = spellings(200, seed=56)


@pytest.mark.parametrize("spelling", SPELLINGS, ids=[ascii(s.text) for s in SPELLINGS])
def test_a_look_alike_spelling_of_a_known_identifier_is_redacted_whole(spelling: Spelling) -> None:
    before, after = "Write to ", " for that."
    text = f"{before}{spelling.text}{after}"
    redacted = redact(text, find(text, known=(PHONE, EMAIL, PURCHASE, IBAN)))
    assert redacted.startswith(before) and redacted.endswith(after)
    assert not leaks(redacted.removeprefix(before).removesuffix(after)), redacted
