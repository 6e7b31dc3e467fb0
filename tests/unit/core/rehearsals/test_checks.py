"""Which expectations of a turn fail, and how each failure reads to a support lead."""

from __future__ import annotations

from core.answering.language import message_language
from core.rehearsals.checks import TurnOutcome, failures, own_words
from core.rehearsals.script import ActionCall, Expect

ANSWERED = TurnOutcome(
    reply="Click **Forgot password?**  on the\nsign-in page.",
    sources=("config/knowledge/reset-your-password.md",),
    language="en",
    facts={"name": "Dana Smith"},
    reach=("support@example.com", "+1 555 0100"),
)
DECLINED = TurnOutcome(
    reply="I couldn't find anything. You can reach our support team at support@example.com.",
    declined=True,
    reach=("support@example.com",),
)


def test_an_answer_that_holds_everything_expected_passes() -> None:
    expect = Expect(
        says=["forgot password? on the sign-in page"],
        does_not_say=["refund"],
        cites=["reset-your-password.md"],
        declines=False,
        hands_over=False,
        language="en",
        remembers={"name": "Dana"},
    )
    assert failures(expect, ANSWERED) == []


def test_each_expectation_that_fails_is_named() -> None:
    expect = Expect(
        says=["Settings > Security"],
        does_not_say=["forgot password"],
        cites=["account-and-login.md"],
        declines=True,
        hands_over=True,
        language="de",
        remembers={"plan": "Pro"},
        calls=ActionCall(action="order_status"),
        asks_first=True,
    )
    assert failures(expect, ANSWERED) == [
        "does not say 'Settings > Security'",
        "says 'forgot password'",
        "does not cite account-and-login.md (cites: config/knowledge/reset-your-password.md)",
        "answers instead of declining",
        "does not hand over to a person",
        "answers in en, not de",
        "does not remember plan = 'Pro' (kept: None)",
        "does not call order_status (called: none)",
        "does not ask before calling the action",
    ]


def test_a_source_is_matched_by_its_whole_file_name_only() -> None:
    assert failures(Expect(cites=["password.md"]), ANSWERED) != []


def test_a_hand_over_is_checked_with_its_reason() -> None:
    handed = TurnOutcome(
        reply="I've passed this conversation to a person.", case_reason="The customer asked for a person."
    )
    assert failures(Expect(hands_over="asked for a person"), handed) == []
    assert failures(Expect(hands_over="frustrated"), handed) == [
        "hands over for another reason: 'The customer asked for a person.'"
    ]
    assert failures(Expect(declines=True), handed) == ["hands over instead of declining"]
    assert failures(Expect(promises_no_person=True), handed) == [
        "hands over to a person (The customer asked for a person.)"
    ]


def test_promising_no_person_means_saying_where_to_reach_the_team() -> None:
    assert failures(Expect(promises_no_person=True, declines=True), DECLINED) == []
    silent_about_it = TurnOutcome(reply="I couldn't find anything.", declined=True, reach=("support@example.com",))
    assert failures(Expect(promises_no_person=True), silent_about_it) == [
        "does not say where to reach the team (support@example.com)"
    ]


def test_an_action_call_must_carry_the_values_expected() -> None:
    called = TurnOutcome(
        reply="Order 1234 is shipped.", calls=(("order_status", "GET /order_status/api/orders/1234 "),)
    )
    assert failures(Expect(calls=ActionCall(action="order_status", with_={"order_number": "1234"})), called) == []
    assert failures(
        Expect(calls=ActionCall.model_validate({"action": "order_status", "with": {"order_number": "99"}})), called
    ) == ["calls order_status without order_number = '99'"]


def test_no_reply_at_all_is_one_failure_not_a_list_of_missing_texts() -> None:
    assert failures(Expect(says=["a", "b"], cites=["c.md"]), TurnOutcome(reply=None)) == [
        "the bot did not reply (a person has the conversation)"
    ]


def test_a_reply_is_in_the_language_of_its_own_words_not_of_what_it_quotes() -> None:
    reply = (
        "No he encontrado nada sobre eso en nuestro centro de ayuda y prefiero no adivinar.\n\n"
        "El fragmento citado a continuación está en inglés.\n\n"
        "Por si le sirve, el artículo más cercano que he encontrado, **Notifications**, dice:\n\n"
        "> Set quiet hours, for example 19:00 to 07:00, under Profile > Notifications > Quiet hours.\n"
        "> You automatically follow tasks you create, are assigned to, or comment on, and you can unfollow them.\n"
        "> Click Unfollow on a task to stop notifications about it, or follow a whole project from its menu.\n"
        "> Email notifications are sent once an hour with everything that happened since the last one.\n\n"
        "| Plan | Price per month, billed monthly |\n| --- | --- |\n| Business | 20 dollars for each seat |"
    )
    languages = ("en", "es")
    assert message_language(reply, languages) == "en"  # read whole, the quote outweighs the decline
    assert message_language(own_words(reply), languages) == "es"
    assert "Set quiet hours" not in own_words(reply) and "Business" not in own_words(reply)
    quote_only = "> Set quiet hours under Profile > Notifications > Quiet hours."
    assert own_words(quote_only) == quote_only  # nothing of its own: the reply as it is
