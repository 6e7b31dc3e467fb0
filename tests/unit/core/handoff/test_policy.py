"""The escalation policy: which rule fires on a conversation, and the sentence staff read."""

from __future__ import annotations

import pytest

from core.handoff.policy import Escalation, Rule, decide
from core.messages import Author
from core.settings import HandoffSettings
from core.turn_context import Intent, PastMessage, Signals

SETTINGS = HandoffSettings()  # threshold 0.7, level 0.4, 3 frustrated or 2 unanswered in a row


def customer(text: str, frustration: float = 0.0, intent: Intent = Intent.QUESTION) -> PastMessage:
    return PastMessage(id=0, author=Author.CUSTOMER, text=text, signals=Signals(-frustration, frustration, intent))


def bot(text: str = "Here is how to do that: …", *, declined: bool = False) -> PastMessage:
    return PastMessage(id=0, author=Author.BOT, text=text, declined=declined)


def staff(text: str = "Hi, this is Sam from support, let me look into it.") -> PastMessage:
    return PastMessage(id=0, author=Author.STAFF, text=text)


def declined() -> PastMessage:
    return bot("Sorry, I couldn't find anything about that.", declined=True)


def conversation(*messages: PastMessage) -> list[PastMessage]:
    """Numbered oldest first, as the store hands them over."""
    return [
        PastMessage(number, message.author, message.text, message.signals, message.declined)
        for number, message in enumerate(messages, start=1)
    ]


def test_a_calm_question_does_not_escalate() -> None:
    assert decide(conversation(customer("How do I reset my password?")), settings=SETTINGS) is None


def test_an_empty_conversation_does_not_escalate() -> None:
    assert decide([], settings=SETTINGS) is None


def test_a_request_for_a_person() -> None:
    history = conversation(customer("Can I talk to a real person?", intent=Intent.HUMAN_REQUEST))
    assert decide(history, settings=SETTINGS) == Escalation(Rule.HUMAN_REQUEST, "The customer asked for a person.")


def test_only_the_newest_customer_message_counts_as_a_request_for_a_person() -> None:
    history = conversation(
        customer("Can I talk to a person?", intent=Intent.HUMAN_REQUEST),
        staff(),
        customer("Thanks, that sorted it.", intent=Intent.OTHER),
    )
    assert decide(history, settings=SETTINGS) is None


@pytest.mark.parametrize(
    ("text", "keyword"),
    [
        ("I'll file a chargeback with my bank", "chargeback"),
        ("My LAWYER will hear about this", "lawyer"),
        ("Is this a GDPR issue?", "gdpr"),
        ("Was there a data  breach?", "data breach"),
        ("I'm forwarding this to our legal team.", "legal"),
        ("legal-wise, is this allowed?", "legal"),
    ],
)
def test_a_keyword_escalates_and_is_named(text: str, keyword: str) -> None:
    escalation = decide(conversation(customer(text)), settings=SETTINGS)
    assert escalation == Escalation(Rule.KEYWORD, f"The message mentions '{keyword}'.")


@pytest.mark.parametrize(
    "text",
    [
        "Someone is using my account illegally",
        "Our paralegal needs an invoice copy",
        "Are the lawyers' seats billed separately?",
        "Is there a data breaching test suite?",
    ],
)
def test_keywords_match_whole_words_only(text: str) -> None:
    assert decide(conversation(customer(text)), settings=SETTINGS) is None


def test_keywords_come_from_the_settings() -> None:
    settings = HandoffSettings(keywords=["ombudsman"])
    history = conversation(customer("I'll go to the Ombudsman."))
    assert decide(history, settings=settings) == Escalation(Rule.KEYWORD, "The message mentions 'ombudsman'.")
    assert decide(conversation(customer("Is this legal?")), settings=settings) is None


def test_a_request_for_a_person_comes_before_a_keyword() -> None:
    history = conversation(customer("Let me talk to a person about the chargeback", intent=Intent.HUMAN_REQUEST))
    assert decide(history, settings=SETTINGS) == Escalation(Rule.HUMAN_REQUEST, "The customer asked for a person.")


@pytest.mark.parametrize(("frustration", "shown"), [(0.82, "0.82"), (0.7, "0.70"), (1.0, "1.00")])
def test_one_very_frustrated_message(frustration: float, shown: str) -> None:
    history = conversation(customer("This is ridiculous, STILL not working!!!", frustration, Intent.COMPLAINT))
    assert decide(history, settings=SETTINGS) == Escalation(
        Rule.FRUSTRATION, f"Frustration {shown} is over the 0.70 threshold."
    )


def test_one_message_just_under_the_threshold_does_not_escalate() -> None:
    assert decide(conversation(customer("This is annoying.", 0.69)), settings=SETTINGS) is None


def test_frustrated_messages_in_a_row_escalate_across_bot_replies() -> None:
    history = conversation(
        customer("Where is my order?", 0.45),
        bot(),
        customer("It still hasn't arrived.", 0.5),
        bot(),
        customer("Still nothing, this is annoying.", 0.6),
    )
    assert decide(history, settings=SETTINGS) == Escalation(Rule.FRUSTRATED_STREAK, "3 frustrated messages in a row.")


def test_the_streak_reports_its_full_length() -> None:
    history = conversation(*(customer("Still broken.", 0.5) for _ in range(4)))
    assert decide(history, settings=SETTINGS) == Escalation(Rule.FRUSTRATED_STREAK, "4 frustrated messages in a row.")


@pytest.mark.parametrize(
    "history",
    [
        pytest.param(
            conversation(customer("Still broken.", 0.5), customer("Still broken.", 0.5)),
            id="two are not enough",
        ),
        pytest.param(
            conversation(
                customer("Still broken.", 0.5),
                customer("OK, trying again.", 0.1),
                customer("Still broken.", 0.5),
                customer("Still broken.", 0.5),
            ),
            id="a calm message in between",
        ),
        pytest.param(
            conversation(
                customer("Still broken.", 0.5),
                staff(),
                customer("Still broken.", 0.5),
                customer("Still broken.", 0.5),
            ),
            id="a staff message in between",
        ),
        pytest.param(
            conversation(
                customer("Still broken.", 0.5),
                PastMessage(id=0, author=Author.CUSTOMER, text="Still broken."),
                customer("Still broken.", 0.5),
            ),
            id="a message without signals",
        ),
    ],
)
def test_frustrated_streak_broken_or_short(history: list[PastMessage]) -> None:
    assert decide(history, settings=SETTINGS) is None


def test_the_frustrated_level_is_inclusive() -> None:
    history = conversation(*(customer("Hmm, that did not work.", 0.4) for _ in range(3)))
    assert decide(history, settings=SETTINGS) is not None


def test_two_declined_replies_in_a_row_escalate_after_answering() -> None:
    history = conversation(
        customer("Do you ship to Mars?"),
        declined(),
        customer("What about the Moon?"),
        declined(),
    )
    assert decide(history, settings=SETTINGS) == Escalation(
        Rule.UNANSWERED, "2 questions in a row the help centre could not answer."
    )


def test_declined_replies_escalate_before_answering_the_next_question() -> None:
    history = conversation(
        customer("Do you ship to Mars?"),
        declined(),
        customer("What about the Moon?"),
        declined(),
        customer("And Venus?"),
    )
    assert decide(history, settings=SETTINGS) == Escalation(
        Rule.UNANSWERED, "2 questions in a row the help centre could not answer."
    )


@pytest.mark.parametrize(
    "history",
    [
        pytest.param(conversation(customer("Do you ship to Mars?"), declined()), id="a single declined reply"),
        pytest.param(
            conversation(
                customer("Do you ship to Mars?"),
                declined(),
                customer("How do I reset my password?"),
                bot(),
                customer("What about the Moon?"),
                declined(),
            ),
            id="an answered reply in between",
        ),
        pytest.param(
            conversation(
                customer("Do you ship to Mars?"),
                declined(),
                customer("thanks anyway", intent=Intent.OTHER),
                bot("You're welcome!"),
                customer("What about the Moon?"),
                declined(),
            ),
            id="a thanks reply in between",
        ),
        pytest.param(
            conversation(
                customer("Do you ship to Mars?"),
                declined(),
                staff("We don't, sorry."),
                customer("What about the Moon?"),
                declined(),
            ),
            id="a staff message in between",
        ),
    ],
)
def test_unanswered_streak_broken_or_short(history: list[PastMessage]) -> None:
    assert decide(history, settings=SETTINGS) is None


def test_the_assistant_asking_for_a_person() -> None:
    history = conversation(customer("I was charged twice this month."), bot("Let me get someone for you."))
    escalation = decide(history, settings=SETTINGS, agent_request="A billing dispute needs a person.")
    assert escalation == Escalation(Rule.AGENT, "The assistant asked for a person: A billing dispute needs a person.")


def test_an_empty_reason_from_the_assistant_still_escalates() -> None:
    escalation = decide(conversation(customer("Hello?")), settings=SETTINGS, agent_request="  ")
    assert escalation == Escalation(Rule.AGENT, "The assistant asked for a person: no reason given.")


def test_rules_about_the_customer_come_before_the_assistants_request() -> None:
    history = conversation(customer("I'll do a chargeback."), bot("I understand."))
    escalation = decide(history, settings=SETTINGS, agent_request="Payment dispute.")
    assert escalation == Escalation(Rule.KEYWORD, "The message mentions 'chargeback'.")


def test_streak_lengths_come_from_the_settings() -> None:
    settings = HandoffSettings(frustrated_in_row=1, unanswered_in_row=1)
    assert decide(conversation(customer("Meh.", 0.45)), settings=settings) == Escalation(
        Rule.FRUSTRATED_STREAK, "1 frustrated message in a row."
    )
    assert decide(conversation(customer("Mars?"), declined()), settings=settings) == Escalation(
        Rule.UNANSWERED, "1 question in a row the help centre could not answer."
    )
