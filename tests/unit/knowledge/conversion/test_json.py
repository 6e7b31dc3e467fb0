"""JSON files: a record per object, `key: value` lines, never raw JSON."""

from __future__ import annotations

import json

import pytest

from tests.unit.knowledge.conversion.files import by_section, convert_bytes, convert_fixture


def test_each_object_of_a_list_is_a_section_of_key_value_lines() -> None:
    chunks = convert_fixture("error-codes.json").chunks

    assert {c.title for c in chunks} == {"Error codes"}
    sections = by_section(chunks)
    assert list(sections) == ["Error codes", "Card declined", "Seat limit reached"]
    assert sections["Card declined"].split("\n") == [
        "code: E42",
        "http_status: 402",
        "retryable: yes",
        "fix.who: Owner or Billing manager",
        "fix.steps: Open Settings > Billing, Replace the card",
    ]
    assert "limits.free: 3" in sections["Seat limit reached"]
    assert sections["Error codes"] == "title: Brightdesk error codes\nlast_updated: 2024-10-01"


def test_no_json_syntax_reaches_a_chunk() -> None:
    chunks = convert_fixture("error-codes.json").chunks

    assert not any(mark in c.text for c in chunks for mark in ("{", "}", '"', "[", "]"))


@pytest.mark.parametrize(
    ("record", "section", "text"),
    [
        ({"code": "E42", "message": "Card declined"}, "E42", "message: Card declined"),
        ({"id": 7, "message": "Card declined"}, "7", "message: Card declined"),
        ({"status": 402, "message": "Card declined"}, "Card declined", "status: 402"),
        ({"Name": "Pro", "price": 19}, "Pro", "price: 19"),
        ({"status": 402, "retry": False}, "Codes 1", "status: 402\nretry: no"),
        ({"code": "E42"}, "E42", "code: E42"),
    ],
)
def test_a_record_is_named_by_its_naming_field(record: dict[str, object], section: str, text: str) -> None:
    [chunk] = convert_bytes(json.dumps([record]).encode(), "codes.json").chunks

    assert (chunk.section, chunk.text) == (section, text)


def test_an_faq_record_reads_like_an_faq_row() -> None:
    data = [{"question": "Can I pay by invoice?", "answer": "Yes, from ten seats.", "plan": "Business"}]
    [chunk] = convert_bytes(json.dumps(data).encode(), "faq.json").chunks

    assert (chunk.section, chunk.text) == ("Can I pay by invoice?", "Yes, from ten seats.\nplan: Business")


def test_an_object_of_objects_is_records_by_key() -> None:
    data = {"E42": {"message": "Card declined"}, "E43": {"message": "Seat limit reached"}}

    assert by_section(convert_bytes(json.dumps(data).encode(), "codes.json").chunks) == {
        "E42": "message: Card declined",
        "E43": "message: Seat limit reached",
    }


def test_other_json_is_key_value_lines_packed_into_chunks() -> None:
    data = {f"setting_{i}": {"enabled": True, "limit": i} for i in range(40)} | {"version": "4.2"}
    chunks = convert_bytes(json.dumps(data).encode(), "workspace-settings.json", max_chars=200).chunks

    assert len(chunks) > 1 and all(len(c.text) <= 200 for c in chunks)
    assert {(c.title, c.section) for c in chunks} == {("Workspace settings", "Workspace settings")}
    lines = [line for c in chunks for line in c.text.split("\n")]
    assert lines[:2] == ["setting_0.enabled: yes", "setting_0.limit: 0"] and lines[-1] == "version: 4.2"


def test_a_long_record_is_split_under_its_own_name() -> None:
    data = [{"title": "Card declined", **{f"step_{i}": f"Do thing number {i} now." for i in range(30)}}]
    chunks = convert_bytes(json.dumps(data).encode(), "codes.json", max_chars=150).chunks

    assert len(chunks) > 1 and {c.section for c in chunks} == {"Card declined"}


def test_invalid_json_raises() -> None:
    with pytest.raises(ValueError):
        convert_bytes(b'{"errors": [', "codes.json")


MISSED_BIN = {
    "title": "Report a missed bin collection",
    "summary": "Crews work until 4pm. Report a bin not emptied by the end of the next working day.",
    "steps": [
        "1. Check your collection day on the My bin day page.",
        "2. Report the missed bin online at wrenfield.gov.uk/missedbin, or call 01632 960 300.",
    ],
    "bring": ["Your address and which bin was missed", "Where you left the bin on the day"],
    "bins": ["blue", "black", "green"],
    "notes": "If your bin was not out by 6:30am, we will not come back.",
}


def test_a_list_of_sentences_is_one_line_each_under_its_key_and_stands_apart() -> None:
    """Steps joined with commas read "…the My bin day page., 2. Report…", and a quote cut at
    sentences took "steps: 1." for one. Each step now has its line (an unnumbered one a list
    item), the list a blank line before and after it so the next field is not its last item's
    tail; a list of short values stays one line."""
    [chunk] = convert_bytes(json.dumps([MISSED_BIN]).encode(), "report-a-problem.json").chunks

    assert chunk.text.split("\n\n") == [
        "Crews work until 4pm. Report a bin not emptied by the end of the next working day.",
        "steps:\n1. Check your collection day on the My bin day page.\n"
        "2. Report the missed bin online at wrenfield.gov.uk/missedbin, or call 01632 960 300.",
        "bring:\n- Your address and which bin was missed\n- Where you left the bin on the day",
        "bins: blue, black, green\nnotes: If your bin was not out by 6:30am, we will not come back.",
    ]


def test_a_field_that_is_the_record_s_prose_has_no_label() -> None:
    data = [{"topic": "Booking your test", "answer": "You book and pay for the test yourself.", "fee": "£62"}]
    [chunk] = convert_bytes(json.dumps(data).encode(), "the-driving-test.json").chunks

    assert chunk.text == "You book and pay for the test yourself.\nfee: £62"


def test_a_list_with_empty_items_is_still_one_list() -> None:
    data = [
        {"title": "Bins", "bins": ["blue", "", None, "green"], "steps": ["", "Put the bin out by 6:30am on the day."]}
    ]
    [chunk] = convert_bytes(json.dumps(data).encode(), "bins.json").chunks

    assert chunk.text == "bins: blue, green\n\nsteps:\n- Put the bin out by 6:30am on the day."


def test_an_item_that_has_its_number_or_bullet_keeps_it() -> None:
    steps = [
        "- Bring your licence to the test centre.",
        "10) Wait in the room by the door.",
        "100. Tell us how it went.",
    ]
    [chunk] = convert_bytes(json.dumps([{"title": "Test day", "steps": steps}]).encode(), "tests.json").chunks

    assert chunk.text.split("\n")[1:] == steps


def test_a_long_list_of_steps_is_packed_a_step_a_line() -> None:
    """Steps that do not fit one chunk are cut between steps, never run together with a
    dangling number ("…Then do that. 2. Step number 2")."""
    steps = [f"{n}. Step number {n}: do this first, then do that." for n in range(1, 9)]
    data = [{"title": "Setting up", "steps": steps, "fee": "£5"}]
    chunks = convert_bytes(json.dumps(data).encode(), "setup.json", max_chars=150).chunks

    lines = [line for chunk in chunks for line in chunk.text.split("\n") if line]
    assert lines == ["steps:", *steps, "fee: £5"] and all(len(c.text) <= 150 for c in chunks)


@pytest.mark.parametrize(
    ("fields", "text"),
    [
        ({"refund": {"details": "Refunds take five working days to reach your card."}}, "refund.details: Refunds"),
        ({"description": "Blue"}, "description: Blue"),
    ],
)
def test_a_nested_or_short_prose_field_keeps_its_label(fields: dict[str, object], text: str) -> None:
    [chunk] = convert_bytes(json.dumps([{"title": "Plan", **fields}]).encode(), "plans.json").chunks

    assert chunk.text.startswith(text)


OVERDUE = {
    "title": "Overdue charges",
    "summary": "Charges are for each item, for each day the library is open after the due date.",
    "charges": [
        {"item": "Books and magazines", "adult": "25p a day", "concession": "12p a day", "child": "No charge"},
        {"item": "Video games", "adult": "£1.00 a day", "concession": "50p a day", "child": "20p a day"},
        {"item": "Reading group sets", "adult": "£2.00 a week", "child": None},
    ],
    "maximum": "£6.00 an item",
}


def test_a_list_of_objects_of_plain_values_is_a_table_under_its_key() -> None:
    """Its rows were numbered lines ("charges.1.item: Books and magazines charges.1.adult: 25p a
    day …"), which a quote ran together; as a table, a quote takes the row and the columns a
    question names, as from a markdown or CSV table."""
    [chunk] = convert_bytes(json.dumps([OVERDUE]).encode(), "fees.json").chunks

    assert chunk.text.split("\n\n") == [
        "Charges are for each item, for each day the library is open after the due date.",
        "charges:",
        "| item | adult | concession | child |\n"
        "| --- | --- | --- | --- |\n"
        "| Books and magazines | 25p a day | 12p a day | No charge |\n"
        "| Video games | £1.00 a day | 50p a day | 20p a day |\n"
        "| Reading group sets | £2.00 a week |  |  |",
        "maximum: £6.00 an item",
    ]


def test_a_long_table_of_objects_is_split_by_rows_each_under_its_header() -> None:
    rows = [{"plan": f"Plan {i}", "price": f"£{i}.00 a month"} for i in range(40)]
    data = [{"title": "Plans", "plans": rows}]
    chunks = convert_bytes(json.dumps(data).encode(), "plans.json", max_chars=200).chunks

    tables = [c.text[c.text.index("| plan") :] for c in chunks if "| plan" in c.text]
    assert len(tables) > 1 and all(len(c.text) <= 200 for c in chunks)
    assert all(c.text.startswith("plans:\n\n| plan | price |") for c in chunks if "| plan" in c.text)
    assert all(t.startswith("| plan | price |\n| --- | --- |\n| Plan ") for t in tables)
    assert [line for t in tables for line in t.split("\n")[2:]] == [
        f"| Plan {i} | £{i}.00 a month |" for i in range(40)
    ]


def test_a_list_of_objects_with_nested_values_stays_numbered_lines() -> None:
    levels = [{"name": "Light", "blocks": ["adult content"]}, {"name": "Strict", "blocks": ["games"]}]
    data = [{"title": "Filters", "levels": levels}]
    [chunk] = convert_bytes(json.dumps(data).encode(), "filters.json").chunks

    assert "levels.1.name: Light" in chunk.text and "|" not in chunk.text


def test_questions_with_their_answers_and_paragraphs_in_a_list_are_no_table() -> None:
    faqs = [{"question": "Can I return it?", "answer": "Yes."}, {"question": "Is it free?", "answer": "No."}]
    long = [{"name": "Light", "about": "word " * 25}, {"name": "Strict", "about": "short"}]
    for key, items in (("faqs", faqs), ("levels", long)):
        [chunk] = convert_bytes(json.dumps([{"title": "Help", key: items}]).encode(), "help.json").chunks
        assert "|" not in chunk.text and f"{key}.1." in chunk.text
