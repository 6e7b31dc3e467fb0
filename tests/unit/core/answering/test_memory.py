"""Memory without a model: which facts a message states, which question asks one back, what
fits the token budget, and the extractive summary."""

from __future__ import annotations

import pytest

from core.answering.memory import (
    acknowledgement,
    estimated_tokens,
    extract_facts,
    extractive_summary,
    recall_key,
    recall_reply,
    within_budget,
)
from core.messages import Author
from core.turn_context import Fact, FactKey, PastMessage


@pytest.mark.parametrize(
    ("text", "facts"),
    [
        ("Hi, my name is Alice.", [("name", "Alice")]),
        ("my name is alice cooper", [("name", "Alice cooper")]),
        ("Hello, I'm Priya, from Acme", [("name", "Priya")]),
        ("hi, I'm Dana.", [("name", "Dana")]),
        ("I'm Furious. Nothing works", []),
        ("my name is Alice and my order is late", [("name", "Alice")]),
        ("call me Bob, but quickly please", [("name", "Bob")]),
        ("My name is Mary Ann or so", [("name", "Mary Ann")]),
        ("my name is Sam because nobody asked", [("name", "Sam")]),
        ("I'm having trouble logging in", []),
        ("I'm not sure what happened", []),
        ("This is ridiculous!", []),
        ("It's broken.", []),
        ("I am furious.", []),
        ("I'm done here", []),
        ("I'm on hold.", []),
        ("I have it.", []),
        ("our plan is Starter", [("plan", "Starter")]),
        ("reach me at alice@Example.com please", [("email", "alice@example.com")]),
        ("my phone number is +49 151 2345 6789", [("phone", "+4915123456789")]),
        ("We're on the Business plan", [("plan", "Business")]),
        ("I have a problem with export", []),
        ("order number BD-77123 never arrived", [("order_number", "BD-77123")]),
        ("the order is late", []),
        ("I'd prefer email over phone calls.", [("preference", "email over phone calls")]),
        ("how do I reset my password?", []),
    ],
)
def test_facts_need_the_customers_own_framing(text: str, facts: list[tuple[str, str]]) -> None:
    assert [(f.key, f.value) for f in extract_facts(text)] == facts


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("what's my name?", "name"),
        ("Who am I?", "name"),
        ("do you remember my e-mail address", "email"),
        ("which plan am I on?", "plan"),
        ("what are my order numbers", "order_number"),
        ("what is my phone number", "phone"),
        ("what's the name of the export button?", None),
        ("how do I change my plan?", None),
        ("what is my order status?", None),
        ("what's my plan limit on projects?", None),
        ("What is my email address used for?", None),
        ("what was my name again?", "name"),
    ],
)
def test_questions_that_ask_a_fact_back(text: str, key: str | None) -> None:
    assert recall_key(text) == key


def test_recall_uses_the_newest_single_value_and_every_order_number() -> None:
    facts = [
        Fact(FactKey.NAME, "Al"),
        Fact(FactKey.ORDER_NUMBER, "A-1001"),
        Fact(FactKey.NAME, "Alice"),
        Fact(FactKey.ORDER_NUMBER, "B-2002"),
    ]
    assert recall_reply(FactKey.NAME, facts).text == "Your name is Alice."
    assert recall_reply(FactKey.ORDER_NUMBER, facts).text == "Your order numbers: A-1001, B-2002."
    assert recall_reply(FactKey.PLAN, facts).text == "You haven't told me your plan yet."
    assert recall_reply(FactKey.ORDER_NUMBER, []).text == "You haven't told me your order number yet."


def test_acknowledgement_greets_by_name_and_lists_what_was_noted() -> None:
    reply = acknowledgement([Fact(FactKey.NAME, "Bo"), Fact(FactKey.ORDER_NUMBER, "X-1234"), Fact(FactKey.PLAN, "Pro")])
    assert reply.text == "Nice to meet you, Bo! Thanks, I've noted your order number and plan. How can I help?"


def test_the_newest_turns_that_fit_the_budget_are_kept() -> None:
    messages = [PastMessage(i, Author.CUSTOMER, "x" * 96) for i in range(1, 6)]  # 28 tokens each
    older, recent = within_budget(messages, 60)
    assert [m.id for m in recent] == [4, 5] and [m.id for m in older] == [1, 2, 3]
    assert within_budget(messages, 10) == (messages, [])
    assert estimated_tokens("x" * 96) == 28


def test_the_extractive_summary_rolls_and_stays_short() -> None:
    turns = [
        PastMessage(1, Author.CUSTOMER, "My export fails. It stops at 80 %."),
        PastMessage(2, Author.BOT, "> Exports over 1 GB run in the background. You get an email.", declined=False),
        PastMessage(3, Author.CUSTOMER, "what about wine?"),
        PastMessage(4, Author.BOT, "I couldn't find anything.", declined=True),
    ]
    summary = extractive_summary(None, turns)
    assert summary.splitlines() == [
        "Earlier in this conversation:",
        "- Customer: My export fails.",
        "- Bot: Exports over 1 GB run in the background.",
        "- Customer: what about wine?",
        "- Bot: could not answer from the help centre.",
    ]
    rolled = extractive_summary(summary, [PastMessage(5, Author.CUSTOMER, f"question {n}") for n in range(20)])
    lines = rolled.splitlines()
    assert len(lines) == 13 and lines[-1] == "- Customer: question 19"
