"""Without a desk that can take a case (the default set-up: no Slack staff channel, no inbox),
the bot keeps every conversation: a customer who needs a person is told where to reach the team,
in their language, and their next question is answered, never met with silence."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from core.cli.server import create_app
from core.settings import ContactSettings, HandoffSettings, Settings
from tests.app_client import AppClient

REACH = "You can reach our support team at support@brightdesk.example or +1 555 0100."
"""The sample help centre's contact details, the defaults of [handoff.contact]."""
NOT_FOUND = "I couldn't find anything about that in our help centre, and I'd rather not guess."


async def say(client: AppClient, text: str, *, contact: str = "alice") -> dict[str, Any]:
    response = await client.post("/api/messages", json={"contact": contact, "text": text})
    body: dict[str, Any] = await response.json()
    assert response.status == 200, body  # 202 with_staff: the conversation went silent
    return body


async def state(client: AppClient, conversation_id: str) -> tuple[str, Any]:
    seen = await (await client.get(f"/api/conversations/{conversation_id}")).json()
    return seen["state"], seen.get("case")


async def test_two_declines_then_a_question_the_help_centre_answers_gets_its_answer(client: AppClient) -> None:
    first = await say(client, "Which wine goes best with grilled salmon?")
    second = await say(client, "What is the capital of Mongolia?")
    answered = await say(client, "how do I reset my password?")
    assert answered["reply"]["citations"] and "Forgot password" in answered["reply"]["text"]
    for declined in (first, second):
        assert declined["reply"]["text"] == f"{NOT_FOUND} {REACH}"
        assert "bring in a person" not in declined["reply"]["text"]
    assert await state(client, first["conversation_id"]) == ("bot", None)


async def test_a_third_decline_in_a_row_is_the_same_decline_and_an_answer_after_it_is_plain(client: AppClient) -> None:
    """docs/answering.md: two questions in a row it cannot answer give the same decline as the
    first; the policy's streak hands nobody over, so it neither cuts the next decline short nor
    marks the next answer as a hand-over."""
    declines = [
        await say(client, text)
        for text in (
            "Which wine goes best with grilled salmon?",
            "What is the capital of Mongolia?",
            "Who won in 1954?",
        )
    ]
    answered = await say(client, "how do I reset my password?")
    assert [d["reply"]["text"] for d in declines] == [f"{NOT_FOUND} {REACH}"] * 3
    assert answered["reply"]["handoff"] is False and REACH not in answered["reply"]["text"]


async def test_asking_for_a_person_says_where_to_write_and_the_bot_keeps_answering(client: AppClient) -> None:
    asked = await say(client, "Can I talk to a real person please?")
    answered = await say(client, "how do I reset my password?")
    assert answered["reply"]["citations"] and "person" not in answered["reply"]["text"]
    assert asked["reply"]["text"] == f"I can't bring in a person in this chat. {REACH}"
    assert asked["reply"]["handoff"] is True
    assert await state(client, asked["conversation_id"]) == ("bot", None)


async def test_a_frustrated_question_gets_its_answer_and_where_to_write(client: AppClient) -> None:
    body = await say(client, "This is ridiculous!!! How do I reset my password? Useless.")
    text = body["reply"]["text"]
    assert body["reply"]["citations"] and text.endswith(f"\n\n{REACH}") and text.count(REACH) == 1
    assert await state(client, body["conversation_id"]) == ("bot", None)


async def test_a_reply_to_several_questions_says_where_to_write_once_and_offers_nobody(client: AppClient) -> None:
    body = await say(
        client,
        "How do I reset my password on my smartwatch? Which wine goes best with grilled salmon? "
        "What is the capital of Mongolia?",
    )
    text = body["reply"]["text"]
    assert text.endswith(f"\n\n{REACH}") and text.count(REACH) == 1, text
    assert "bring in a person" not in text, text


@pytest.mark.parametrize(
    ("contact", "told"),
    [
        (ContactSettings(email="help@example.com", phone=""), "You can reach our support team at help@example.com."),
        (ContactSettings(email="", phone="+44 20 7946 0000"), "You can reach our support team at +44 20 7946 0000."),
        (
            ContactSettings(email="", phone=""),
            "I'm sorry, I have no other way to put you in touch with our support team.",
        ),
    ],
)
async def test_the_customer_is_told_what_the_operator_gave_or_plainly_that_there_is_nothing(
    aiohttp_client: Callable[..., Any], make_settings: Callable[..., Settings], contact: ContactSettings, told: str
) -> None:
    client = await aiohttp_client(create_app(make_settings(handoff=HandoffSettings(contact=contact))))
    body = await say(client, "I want to talk to a human")
    assert body["reply"]["text"] == f"I can't bring in a person in this chat. {told}"
