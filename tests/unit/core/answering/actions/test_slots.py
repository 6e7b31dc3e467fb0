"""An action's parameters without an LLM: from what was gathered, the message and memory; the
question for a missing one; the reply to it; yes or no."""

from __future__ import annotations

from typing import Any

import pytest

from core.action_settings import ActionDeclaration
from core.answering.actions.slots import answer_for, fill, missing, question_for, unfit, yes_or_no
from core.turn_context import Fact, FactKey

ORDER = {"type": "string", "pattern": "^[0-9]{4,10}$", "title": "Order number"}


def declaration(
    properties: dict[str, Any], required: list[str] | None = None, *, defs: dict[str, Any] | None = None, **more: Any
) -> ActionDeclaration:
    parameters = {"type": "object", "properties": properties, "required": required or [], "$defs": defs or {}}
    return ActionDeclaration(description="an action", url="https://shop.example.com/api", parameters=parameters, **more)


ORDER_STATUS = declaration({"order_number": ORDER}, ["order_number"])
DELIVERY = declaration(
    {
        "order_number": ORDER,
        "speed": {"type": "string", "enum": ["standard", "next_day"]},
        "quantity": {"type": "integer", "minimum": 1},
        "note": {"type": "string", "maxLength": 40},
        "email": {"type": "string", "format": "email"},
        "gift": {"type": "boolean"},
        "reference": {"$ref": "#/$defs/reference"},
    },
    ["order_number", "speed", "note"],
    defs={"reference": {"type": "string", "pattern": "^REF-[0-9]{3}$"}},
    ask={"note": "Anything the courier should know?"},
)


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("Hi! Where is my order 12345?", "12345"),
        ("where's #55102", "55102"),
        ("ORD1234 hasn't arrived", "1234"),  # the letters stop the run: 1234 stands apart
        ("my order number is 12345, call me on 0161 496 0000", "12345"),  # the framed one wins
        ("where is my parcel", None),
        ("is it 12345 or 67890?", None),  # two candidates: asked, not picked
        ("call me on 07700900123", None),  # eleven digits hold no 4-10 digit number
        ("order BD-77123", "77123"),  # framed as BD-77123, which the schema refuses: its digits stand apart
    ],
)
def test_a_pattern_is_found_in_the_message(text: str, found: str | None) -> None:
    assert fill(ORDER_STATUS, text, [], {}).get("order_number") == found


def test_an_enum_value_said_as_a_word_any_case() -> None:
    assert fill(DELIVERY, "please send it Next Day", [], {})["speed"] == "next_day"
    assert "speed" not in fill(DELIVERY, "standard or next-day?", [], {})
    assert "speed" not in fill(DELIVERY, "is it standardised?", [], {})


def test_memory_fills_what_the_message_does_not_say_newest_first() -> None:
    facts = [
        Fact(FactKey.ORDER_NUMBER, "11111"),
        Fact(FactKey.ORDER_NUMBER, "22222"),
        Fact(FactKey.ORDER_NUMBER, "BD-9"),  # newest, but not a valid order number here
        Fact(FactKey.EMAIL, "anna@example.com"),
    ]
    assert fill(DELIVERY, "where is my parcel?", facts, {}) == {"order_number": "22222", "email": "anna@example.com"}
    assert fill(DELIVERY, "where is order 33333?", facts, {})["order_number"] == "33333"


@pytest.mark.parametrize(
    ("schema", "found"),
    [
        (ORDER, None),  # "123" is no order number here: asked for, not replaced by the one remembered
        ({"type": "string"}, "123"),  # any text is one: the customer's own
    ],
)
def test_a_value_said_now_wins_over_memory_even_when_it_does_not_fit(schema: dict[str, Any], found: Any) -> None:
    order_status = declaration({"order_number": schema}, ["order_number"])
    remembered = [Fact(FactKey.ORDER_NUMBER, "12345")]
    assert fill(order_status, "where is my order 123?", remembered, {}).get("order_number") == found
    assert fill(order_status, "where is my order?", remembered, {})["order_number"] == "12345"


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ("where is my order 123?", {"order_number": "123"}),
        ("order number: BD-9 please", {"order_number": "BD-9"}),
        ("where is my order 12345?", {}),  # it fits: filled, nothing to say
        ("is it order 12345 or 67890?", {}),  # both fit: asked which, not told either is wrong
        ("where is my order?", {}),
        ("I reordered 2 mugs", {}),
    ],
)
def test_what_the_message_gives_a_parameter_that_does_not_fit(text: str, said: dict[str, str]) -> None:
    assert unfit(ORDER_STATUS, text, fill(ORDER_STATUS, text, [], {})) == said


def test_the_messages_own_framing_for_a_memory_key() -> None:
    found = fill(DELIVERY, "reach me at Anna@Example.com", [Fact(FactKey.EMAIL, "old@example.com")], {})
    assert found == {"email": "anna@example.com"}


def test_gathered_values_come_first_and_must_still_validate() -> None:
    known = {"order_number": "44444", "note": "leave it with the neighbour", "quantity": 0, "gift": True}
    found = fill(DELIVERY, "order 55555 please", [], known)
    assert found == {"order_number": "44444", "note": "leave it with the neighbour", "gift": True}


def test_free_text_is_never_guessed_from_a_message() -> None:
    found = fill(DELIVERY, "leave it at the door, 2 of them, as a gift", [], {})
    assert set(found) == set()


def test_a_ref_to_the_parameters_defs_validates() -> None:
    assert fill(DELIVERY, "", [], {"reference": "REF-123"}) == {"reference": "REF-123"}
    assert fill(DELIVERY, "", [], {"reference": "REF-1234"}) == {}


def test_asked_in_order_until_nothing_is_missing() -> None:
    arguments: dict[str, Any] = fill(DELIVERY, "Hi! I need to change order 12345", [], {})
    assert arguments == {"order_number": "12345"}
    assert missing(DELIVERY, arguments) == "speed"
    assert question_for(DELIVERY, "speed") == "What is your speed? (standard, next day)"
    arguments["speed"] = answer_for(DELIVERY, "speed", "next day please")
    assert missing(DELIVERY, arguments) == "note"
    assert question_for(DELIVERY, "note") == "Anything the courier should know?"
    arguments["note"] = answer_for(DELIVERY, "note", "  Ring twice.  ")
    assert arguments == {"order_number": "12345", "speed": "next_day", "note": "Ring twice"}
    assert missing(DELIVERY, arguments) is None


@pytest.mark.parametrize(
    ("name", "reply", "value"),
    [
        ("order_number", "12345", "12345"),
        ("order_number", "it's 12345 I think", "12345"),
        ("order_number", "I don't know", None),
        ("order_number", "123", None),
        ("speed", "Standard.", "standard"),
        ("speed", "whatever is cheapest", None),
        ("quantity", "3 please", 3),
        ("quantity", "0", None),
        ("quantity", "3 or 4", None),
        ("note", "x" * 41, None),
        ("email", "anna@example.com", "anna@example.com"),
        ("email", "no idea", None),
        ("gift", "yes please", True),
        ("gift", "what does that mean?", None),
        ("unknown", "anything", None),
    ],
)
def test_a_reply_to_the_question(name: str, reply: str, value: Any) -> None:
    assert answer_for(DELIVERY, name, reply) == value


@pytest.mark.parametrize(
    ("name", "schema", "question"),
    [
        ("order_number", {"type": "string"}, "What is your order number?"),
        ("order_number", {"type": "string", "title": "Order number"}, "What is your order number?"),
        ("iban", {"type": "string", "title": "IBAN"}, "What is your IBAN?"),
        ("postcode", {"type": "string", "description": "as on your bill."}, "What is your postcode? (as on your bill)"),
    ],
)
def test_a_default_question(name: str, schema: dict[str, Any], question: str) -> None:
    assert question_for(declaration({name: schema}), name) == question


@pytest.mark.parametrize(
    "text",
    [
        "yes",
        "Yes please!",
        "y",
        "sure",
        "ok",
        "OK, go ahead",
        "confirm",
        "do it",
        "👍",
        "👍🏻",
        "Yes, please go ahead, thank you so much!",
    ],
)
def test_yes(text: str) -> None:
    assert yes_or_no(text) is True


@pytest.mark.parametrize(
    "text", ["no", "nope", "cancel", "don't", "Don\u2019t!", "stop", "no thanks", "No, thank you."]
)
def test_no(text: str) -> None:
    assert yes_or_no(text) is False


@pytest.mark.parametrize(
    "text",
    ["yes but where is my other order?", "where is my order?", "thanks", "", "yes no", "maybe later", "yes 12345"],
)
def test_anything_else_is_neither(text: str) -> None:
    assert yes_or_no(text) is None
