"""The questions in a customer's message: what is searched and quoted, and what is left out."""

from __future__ import annotations

import pytest

from core.answering.questions import MAX_QUESTIONS, questions, readings


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        ("my name is Dana and I'm on the Pro plan. Can I export my data as CSV?", ["Can I export my data as CSV?"]),
        (
            (
                "Hi! I'm Omar, the office manager at a 40-person agency, we moved from Asana last month. "
                "How can I get all our projects out as a spreadsheet?"
            ),
            ["How can I get all our projects out as a spreadsheet?"],
        ),
        ("My name is Dana. I need to reset my password.", ["I need to reset my password."]),
    ],
)
def test_the_facts_before_a_question_are_not_searched(message: str, expected: list[str]) -> None:
    assert questions(message) == expected


def test_two_questions_joined_by_and_how_do_i_are_two() -> None:
    assert questions("How do I export my data and how do I delete my account?") == [
        "How do I export my data",
        "how do I delete my account?",
    ]


def test_thanks_and_connectors_are_dropped_from_the_questions() -> None:
    assert questions("Thanks! Also, where do I find invoices? And can I pay by PayPal?") == [
        "where do I find invoices?",
        "can I pay by PayPal?",
    ]


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        ("Hi there, quick question: the link in the email says it expired", "the link in the email says it expired"),
        ("I have a quick question - how do I reset my password?", "how do I reset my password?"),
        ("Question: can I pay by PayPal?", "can I pay by PayPal?"),
        ("One more question for you, where do I find invoices?", "where do I find invoices?"),
        ("Question about invoices: where are they?", "Question about invoices: where are they?"),
        ("My question is simple.", "My question is simple."),
    ],
)
def test_announcing_a_question_is_not_searched_with_it(message: str, expected: str) -> None:
    assert questions(message) == [expected]


@pytest.mark.parametrize(
    ("before", "question"),
    [
        ("I'm on the Pro plan.", "How much does it cost?"),
        ("We use Slack.", "Can it post to a channel?"),
        ("He wants to know whether you keep backups of our data.", "Can you tell me?"),
        ("We are on the Starter plan.", "How many users are included?"),
        ("One of our developers keeps leaving his timer running.", "What does he type in Slack to stop it?"),
    ],
)
def test_a_short_question_is_read_alone_and_with_the_sentence_before(before: str, question: str) -> None:
    assert readings(f"{before} {question}") == [(question, f"{before} {question}")]
    assert questions(f"{before} {question}") == [question]


def test_a_question_leans_on_a_question_before_it_only_when_it_points_back() -> None:
    assert readings("is our data encrypted? and can i pay by paypal") == [
        ("is our data encrypted?",),
        ("can i pay by paypal",),
    ]
    assert readings("Do you have a Slack integration? Can it post to a channel?") == [
        ("Do you have a Slack integration?",),
        ("Can it post to a channel?", "Do you have a Slack integration? Can it post to a channel?"),
    ]


def test_a_short_question_after_a_story_is_read_with_the_story_too() -> None:
    story = [
        "my mum is 82 and lives on her own, her pendant alarm goes through the phone line.",
        "the line has been dead since yesterday.",
        "she has no mobile.",
    ]
    question = "who do I call??"
    assert readings(" ".join([*story, question])) == [
        (question, f"{story[-1]} {question}", " ".join([*story, question]))
    ]


def test_a_story_stops_at_the_question_before_and_leaves_introductions_out() -> None:
    message = "Is the gym open late? I'm Dana. We moved house. the car broke down. how do I get there now?"
    assert readings(message)[-1] == (
        "how do I get there now?",
        "the car broke down. how do I get there now?",
        "We moved house. the car broke down. how do I get there now?",
    )


def test_a_story_leaves_small_talk_out() -> None:
    message = "Thanks! My pendant alarm is beeping. the line is dead. who do I call??"
    assert readings(message)[-1][-1] == "My pendant alarm is beeping. the line is dead. who do I call??"


def test_a_question_never_leans_on_an_introduction() -> None:
    assert readings("hi, I'm Dana. is our data encrypted?") == [("is our data encrypted?",)]


def test_a_question_of_a_few_words_that_names_no_subject_leans_on_the_story_before_it() -> None:
    """At three content words or fewer only: "Can I cancel and get my money back?" (four) was
    searched alone, and answered from the garden waste subscription's refunds."""
    story = "I booked a bulky collection for tomorrow but my brother is now taking the wardrobe."
    question = "Can I cancel and get my money back?"
    assert readings(f"{story} {question}") == [(question, f"{story} {question}")]


def test_a_long_question_stands_alone() -> None:
    question = "How do I move the old projects, their files and comments to another workspace with the same members?"
    assert readings(f"I'm on the Pro plan. {question}") == [(question,)]


def test_a_short_question_that_opens_the_message_stands_alone() -> None:
    assert readings("How much does it cost?") == [("How much does it cost?",)]


def test_a_comma_does_not_part_a_question_from_its_context() -> None:
    assert questions("In Gmail, how do I archive?") == ["In Gmail, how do I archive?"]


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        ("refund", ["refund"]),
        ("password reset", ["password reset"]),
        ("My invoice is wrong.", ["My invoice is wrong."]),
        ("Hi team. My invoice is wrong.", ["My invoice is wrong."]),
        ("Hello! refund", ["refund"]),
    ],
)
def test_a_message_asking_nothing_recognisable_is_searched_whole(message: str, expected: list[str]) -> None:
    assert questions(message) == expected


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        ("hello", ["hello"]),
        ("  Hi there!  ", ["Hi there!"]),
        ("Hi! Thanks!", ["Hi! Thanks!"]),
        ("Hello, how are you?", ["Hello, how are you?"]),
        ("Olá, tudo bem com vocês?", ["Olá, tudo bem com vocês?"]),
    ],
)
def test_greetings_only_are_returned_whole(message: str, expected: list[str]) -> None:
    assert questions(message) == expected


def test_a_greetings_courtesy_leaves_no_question_behind() -> None:
    assert questions("Hi, how are you? How do I reset my password?") == ["How do I reset my password?"]


def test_a_long_list_of_questions_costs_at_most_max_questions_searches() -> None:
    message = " ".join(f"How do I export report number {n}?" for n in range(12))
    found = questions(message)
    assert len(found) == MAX_QUESTIONS
    assert found[:4] == [f"How do I export report number {n}?" for n in range(4)]
    assert found[-1] == " ".join(f"How do I export report number {n}?" for n in range(4, 12))  # nothing dropped
