"""Conversations through the real hub on the offline path (no LLM configured): memory across
turns and channels, files, sentiment, escalation and feedback, as a customer meets them."""

from __future__ import annotations

import base64
import io
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

import openpyxl
import pytest
from pydantic import SecretStr

from channels.web.sessions import identity_signature
from channels.web.settings import WebSettings
from core.answering.agent import ASK_WHAT
from core.answering.offline_responder import DECLINE
from core.cli.server import RUNTIME, create_app
from core.desk_port import CaseAction
from core.handoff.desk_store import act_on_case
from core.ops.privacy import expire_conversations, forget_contacts
from core.pipeline.turn_runner import DECLINED_HANDOFF
from core.settings import AdminSettings, AttachmentSettings, HandoffSettings, MemorySettings, Settings
from tests.app_client import AppClient
from tests.integration.staff_steps import on_staff
from tests.integration.trusted import TRUSTED, trusted_api


async def say(
    client: AppClient, text: str, *, contact: str = "alice", status: int = 200, **extra: Any
) -> dict[str, Any]:
    response = await client.post("/api/messages", json={"contact": contact, "text": text, **extra})
    assert response.status == status, await response.text()
    return await response.json()  # type: ignore[no-any-return]


async def overview(client: AppClient, conversation_id: str) -> dict[str, Any]:
    response = await client.get(f"/api/conversations/{conversation_id}")
    assert response.status == 200
    return await response.json()  # type: ignore[no-any-return]


def xlsx_file(*rows: tuple[str, ...]) -> str:
    workbook = openpyxl.Workbook()
    for row in rows:
        workbook.active.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return base64.b64encode(buffer.getvalue()).decode()


# -- memory ----------------------------------------------------------------------------------


async def test_the_bot_remembers_a_name_within_a_conversation(client: AppClient) -> None:
    told = await say(client, "Hi, my name is Alice.")
    assert "Alice" in told["reply"]["text"] and not told["reply"]["handoff"]
    asked = await say(client, "what's my name?")
    assert asked["reply"]["text"] == "Your name is Alice."


async def test_facts_follow_a_verified_email_to_another_channel(
    aiohttp_client: Callable[..., Any], make_settings: Callable[..., Settings]
) -> None:
    settings = make_settings(web=WebSettings(identity_secret=SecretStr("site-secret")), api=trusted_api())
    client = await aiohttp_client(create_app(settings), headers=TRUSTED)
    await say(client, "My order number is BD-77123 and I'm on the Pro plan", contact="crm-1", email="alice@example.com")

    ws = await client.ws_connect("/widget/ws")
    signature = identity_signature("site-secret", "Alice@Example.com")
    await ws.send_json(
        {"type": "hello", "token": None, "after": 0, "identity": {"email": "Alice@Example.com", "signature": signature}}
    )
    assert (await ws.receive_json())["type"] == "session"
    await ws.send_json({"type": "message", "id": "q1", "text": "which plan am I on?"})
    reply = await _bot_message(ws)
    assert reply["text"] == "Your plan is Pro."

    stranger = await client.ws_connect("/widget/ws")
    await stranger.send_json(
        {"type": "hello", "token": None, "after": 0, "identity": {"email": "alice@example.com", "signature": "0" * 64}}
    )
    await stranger.receive_json()
    await stranger.send_json({"type": "message", "id": "q1", "text": "which plan am I on?"})
    assert (await _bot_message(stranger))["text"] == "You haven't told me your plan yet."


async def _bot_message(ws: Any) -> dict[str, Any]:
    while True:
        frame = await ws.receive_json(timeout=30)
        if frame["type"] == "message" and frame["author"] == "bot":
            return frame  # type: ignore[no-any-return]


async def test_forget_erases_what_the_bot_knew(trusted_client: AppClient) -> None:
    client = trusted_client
    await say(client, "my name is Bob", contact="bob", email="bob@example.com")
    runtime = client.app[RUNTIME]
    [erased] = await runtime.transactions.run(partial(forget_contacts, selector="email:bob@example.com"))
    assert (erased.messages, erased.facts) == (2, 1)
    again = await say(client, "what's my name?", contact="bob")
    assert again["reply"]["text"] == "You haven't told me your name yet."
    assert await runtime.transactions.run(partial(forget_contacts, selector="email:nobody@example.com")) == []


async def test_retention_expires_idle_conversations_but_not_open_cases(staffed_client: AppClient) -> None:
    client = staffed_client
    idle = await say(client, "How do I reset my password?", contact="idle")
    waiting = await say(client, "I want to talk to a human", contact="escalated")
    run = client.app[RUNTIME].transactions.run
    assert await run(partial(expire_conversations, idle_since=datetime.now(UTC) - timedelta(days=1))) == 0
    assert await run(partial(expire_conversations, idle_since=datetime.now(UTC) + timedelta(seconds=1))) == 1
    assert (await client.get(f"/api/conversations/{idle['conversation_id']}")).status == 404
    assert (await client.get(f"/api/conversations/{waiting['conversation_id']}")).status == 200


async def test_a_long_conversation_gets_a_rolling_summary(
    aiohttp_client: Callable[..., Any], make_settings: Callable[..., Settings]
) -> None:
    settings = make_settings(memory=MemorySettings(context_tokens=200, summarize_after=4))
    client = await aiohttp_client(create_app(settings))
    questions = [
        "How do I reset my password?",
        "How do I invite a teammate?",
        "Can I pay by invoice?",
        "How do I export my data?",
        "How do I delete my account?",
    ]
    for question in questions:
        first = await say(client, question)
    summary = (await overview(client, first["conversation_id"]))["summary"]
    assert summary.startswith("Earlier in this conversation:")
    assert "Customer: How do I reset my password?" in summary


# -- attachments -----------------------------------------------------------------------------


async def test_a_document_is_read_and_searched_against_the_help_centre(client: AppClient) -> None:
    body = await say(
        client,
        "see attached",
        attachments=[
            {
                "filename": "error-log.xlsx",
                "data": xlsx_file(
                    ("Problem", "The app says BD-4012 when I add a teammate"),
                ),
            }
        ],
    )
    reply = body["reply"]
    assert reply["text"].startswith("I've read error-log.xlsx.")
    assert "BD-4012" in reply["text"] and reply["citations"][0]["source"].endswith("error-codes.json")


async def test_unsupported_and_oversized_files_get_a_clear_reply(
    aiohttp_client: Callable[..., Any], make_settings: Callable[..., Settings]
) -> None:
    settings = make_settings(attachments=AttachmentSettings(max_bytes=2000))
    client = await aiohttp_client(create_app(settings))
    exe = base64.b64encode(b"MZ" + b"\0" * 100).decode()
    body = await say(client, "How do I reset my password?", attachments=[{"filename": "tool.exe", "data": exe}])
    assert "I couldn't use a file you sent: " in body["reply"]["text"] and ".exe" in body["reply"]["text"]
    assert body["reply"]["citations"], "the question is still answered"
    big = await say(
        client,
        "here",
        contact="big",
        attachments=[{"filename": "big.txt", "data": base64.b64encode(b"x" * 5000).decode()}],
    )
    assert "big.txt" in big["reply"]["text"] and "limit" in big["reply"]["text"]
    broken = await say(
        client,
        "here",
        contact="broken",
        attachments=[{"filename": "a.pdf", "data": base64.b64encode(b"not a pdf").decode()}],
    )
    assert "a.pdf" in broken["reply"]["text"]
    alone = await say(client, "", contact="alone", attachments=[{"filename": "tool.exe", "data": exe}])
    assert alone["reply"]["text"].startswith("I couldn't use a file you sent: tool.exe")
    assert alone["reply"]["text"].endswith(ASK_WHAT)


PHISHING_NAME = "[click me](https://evil.example/phish)\u202e.txt"
"""A file name that is a markdown link, with a right-to-left override before its extension."""


async def test_a_file_name_is_repeated_as_literal_text_not_as_a_link(client: AppClient) -> None:
    note = base64.b64encode(b"The app says BD-4012 when I add a teammate").decode()
    read = await say(client, "see attached", attachments=[{"filename": PHISHING_NAME, "data": note}])
    assert read["reply"]["text"].startswith(r"I've read \[click me\]\(https\://evil.example/phish\).txt. ")
    unreadable = await say(client, "and this", contact="bob", attachments=[{"filename": PHISHING_NAME, "data": ""}])
    assert (
        r"I couldn't use a file you sent: \[click me\]\(https\://evil.example/phish\).txt is empty"
        in (unreadable["reply"]["text"])
    )
    assert "\u202e" not in read["reply"]["text"] + unreadable["reply"]["text"]


async def test_a_remembered_preference_is_repeated_as_literal_text(client: AppClient) -> None:
    await say(client, "I prefer [replies here](https://evil.example/phish) please.", contact="carol")
    recalled = await say(client, "What are my preferences?", contact="carol")
    assert recalled["reply"]["text"].startswith(r"Your preferences: \[replies here\]\(https\://evil")


async def test_bad_attachment_payloads_are_400(client: AppClient) -> None:
    for attachments, reason in [
        ("nope", "'attachments'"),
        ([{"filename": "a.txt", "data": "!!!"}], "base64"),
        ([{"data": "aGk="}], "'filename'"),
        ([{"filename": "a.txt", "data": "aGk="}] * 6, "at most 5"),
    ]:
        response = await client.post("/api/messages", json={"contact": "a", "text": "x", "attachments": attachments})
        assert response.status == 400 and reason in (await response.json())["error"]


# -- sentiment and escalation (with a desk that takes cases; without one: test_unstaffed) -----


async def test_asking_for_a_person_opens_a_case_and_the_bot_goes_quiet(staffed_client: AppClient) -> None:
    client = staffed_client
    body = await say(client, "Can I talk to a real person please?")
    assert body["reply"]["handoff"] is True and "person" in body["reply"]["text"]
    seen = await overview(client, body["conversation_id"])
    assert seen["state"] == "waiting"
    assert seen["case"]["rule"] == "human_request" and seen["case"]["reason"] == "The customer asked for a person."
    assert seen["sentiment"]["intents"] == ["human_request"]

    quiet = await say(client, "hello? how do I reset my password?", status=202)
    assert quiet["reply"] is None and quiet["status"] == "with_staff"
    listed = await (await client.get(f"/api/conversations/{body['conversation_id']}/messages")).json()
    assert [m["author"] for m in listed["messages"]] == ["customer", "bot", "customer"]


@pytest.mark.parametrize(
    "text",
    [
        "Ich möchte mit einem Menschen sprechen.",
        "Quiero hablar con una persona, por favor.",
        "Je voudrais parler à un humain.",
        "Quero falar com uma pessoa de verdade.",
    ],
)
async def test_asking_for_a_person_in_another_language_opens_a_case(staffed_client: AppClient, text: str) -> None:
    client = staffed_client
    body = await say(client, text)
    assert body["reply"]["handoff"] is True
    seen = await overview(client, body["conversation_id"])
    assert seen["state"] == "waiting" and seen["case"]["rule"] == "human_request"


async def test_a_german_complaint_is_frustrated_enough_to_escalate(staffed_client: AppClient) -> None:
    client = staffed_client
    body = await say(client, "Das ist lächerlich! Die App stürzt schon wieder ab und es geht immer noch nicht!!")
    assert body["reply"]["handoff"] is True
    seen = await overview(client, body["conversation_id"])
    assert seen["case"]["rule"] == "frustration" and seen["sentiment"]["intents"] == ["complaint"]


async def test_a_configured_keyword_escalates(staffed_client: AppClient) -> None:
    client = staffed_client
    body = await say(client, "I will file a chargeback with my bank")
    seen = await overview(client, body["conversation_id"])
    assert seen["case"]["rule"] == "keyword" and "chargeback" in seen["case"]["reason"]


async def test_frustration_is_measured_and_a_streak_escalates(
    aiohttp_client: Callable[..., Any], make_settings: Callable[..., Settings]
) -> None:
    settings = make_settings(handoff=HandoffSettings(frustrated_in_row=2), admin=AdminSettings(token=SecretStr("t")))
    client = await aiohttp_client(create_app(settings))
    await on_staff(client.app)
    calm = await say(client, "How do I reset my password?")
    await say(client, "It still doesn't work, this is annoying")
    assert (await overview(client, calm["conversation_id"]))["state"] == "bot"
    second = await say(client, "Still broken. This is really frustrating.")
    assert second["reply"]["handoff"] is True
    seen = await overview(client, calm["conversation_id"])
    assert seen["case"]["rule"] == "frustrated_streak"
    calm_f, *annoyed = seen["sentiment"]["frustration"]
    assert calm_f == 0 and all(0.4 <= f < 0.7 for f in annoyed)
    assert seen["sentiment"]["intents"] == ["question", "complaint", "complaint"]
    assert seen["sentiment"]["trend"] < 0


async def test_one_very_frustrated_message_escalates(staffed_client: AppClient) -> None:
    client = staffed_client
    body = await say(client, "This is ridiculous, STILL not working!!! Useless.")
    case = (await overview(client, body["conversation_id"]))["case"]
    assert case["rule"] == "frustration" and "over the 0.70 threshold" in case["reason"]


async def test_two_questions_the_help_centre_cannot_answer_escalate(staffed_client: AppClient) -> None:
    client = staffed_client
    first = await say(client, "Which wine goes best with grilled salmon?")
    assert first["reply"]["handoff"] is True  # offered, not yet escalated
    assert first["reply"]["text"] == DECLINE
    assert (await overview(client, first["conversation_id"]))["state"] == "bot"
    second = await say(client, "What is the capital of Mongolia?")
    assert second["reply"]["text"] == DECLINED_HANDOFF
    seen = await overview(client, first["conversation_id"])
    assert seen["state"] == "waiting" and seen["case"]["rule"] == "unanswered"


# -- feedback --------------------------------------------------------------------------------


async def test_feedback_on_a_reply_through_the_api(client: AppClient) -> None:
    body = await say(client, "How do I reset my password?")
    reply_id = body["reply"]["id"]
    up = await client.post("/api/feedback", json={"contact": "alice", "message_id": reply_id, "rating": "up"})
    assert up.status == 200 and (await up.json()) == {"message_id": reply_id, "rating": "up"}
    down = await client.post(
        "/api/feedback", json={"contact": "alice", "message_id": reply_id, "rating": "down", "comment": "too long"}
    )
    assert down.status == 200
    own_question = {"contact": "alice", "message_id": body["message_id"], "rating": "up"}
    assert (await client.post("/api/feedback", json=own_question)).status == 400
    missing = {"contact": "alice", "message_id": 999999, "rating": "up"}
    assert (await client.post("/api/feedback", json=missing)).status == 404
    bad = await client.post("/api/feedback", json={"contact": "alice", "message_id": reply_id, "rating": "meh"})
    assert bad.status == 400 and "'rating'" in (await bad.json())["error"]


async def test_feedback_through_the_api_only_counts_for_the_named_contacts_replies(client: AppClient) -> None:
    alice = await say(client, "How do I reset my password?", contact="alice")
    reply_id = alice["reply"]["id"]
    unnamed = await client.post("/api/feedback", json={"message_id": reply_id, "rating": "down"})
    assert unnamed.status == 400 and "'contact'" in (await unnamed.json())["error"]
    mallory = await client.post("/api/feedback", json={"contact": "mallory", "message_id": reply_id, "rating": "down"})
    assert mallory.status == 404
    await say(client, "How do I reset my password?", contact="mallory")  # mallory's own conversation exists now
    again = await client.post("/api/feedback", json={"contact": "mallory", "message_id": reply_id, "rating": "down"})
    assert again.status == 404
    own = await client.post("/api/feedback", json={"contact": "alice", "message_id": reply_id, "rating": "up"})
    assert own.status == 200


async def test_one_customers_thumbs_down_queue_one_suggestion_at_a_time(
    aiohttp_client: Callable[..., Any], make_settings: Callable[..., Settings], database_url: str
) -> None:
    """Voting down every reply queued each for review (8 of 8); a customer has one pending at a time."""
    settings = make_settings(database_url=database_url, admin=AdminSettings(token=SecretStr("lead")))
    client = await aiohttp_client(create_app(settings))

    async def vote(contact: str, text: str, rating: str = "down") -> int:
        reply_id: int = (await say(client, text, contact=contact))["reply"]["id"]
        voted = await client.post("/api/feedback", json={"contact": contact, "message_id": reply_id, "rating": rating})
        assert voted.status == 200, await voted.text()
        return reply_id

    async def pending() -> list[tuple[str, str]]:
        response = await client.get("/admin/api/suggestions?view=pending", headers={"Authorization": "Bearer lead"})
        assert response.status == 200, await response.text()
        return sorted((found["origin"], found["question"]) for found in await response.json())

    questions = ["How do I reset my password?", "How do I invite a teammate?", "How do I download an invoice?"]
    first = await vote("alice", questions[0])
    for question in questions[1:]:
        await vote("alice", question)
    await vote("bob", "How do I delete my account?")  # another customer's vote still queues
    assert await pending() == [("thumbs down", "How do I delete my account?"), ("thumbs down", questions[0])]

    up = await client.post("/api/feedback", json={"contact": "alice", "message_id": first, "rating": "up"})
    assert up.status == 200  # her pending suggestion leaves the queue: her next vote down queues again
    await vote("alice", "Can I change my plan?")
    assert await pending() == [("thumbs down", "Can I change my plan?"), ("thumbs down", "How do I delete my account?")]


async def test_feedback_from_the_widget_only_counts_for_its_own_conversation(client: AppClient) -> None:
    other = await say(client, "How do I reset my password?", contact="someone-else")
    ws = await client.ws_connect("/widget/ws")
    await ws.send_json({"type": "hello", "token": None, "after": 0})
    await ws.receive_json()
    await ws.send_json({"type": "message", "id": "q1", "text": "How do I invite a teammate?"})
    reply = await _bot_message(ws)
    await ws.send_json({"type": "feedback", "message_id": reply["id"], "rating": "down"})
    assert await ws.receive_json(timeout=10) == {"type": "feedback", "message_id": reply["id"], "rating": "down"}
    await ws.send_json({"type": "feedback", "message_id": other["reply"]["id"], "rating": "down"})
    assert (await ws.receive_json(timeout=10))["type"] == "error"


async def test_a_conversation_handed_back_to_the_bot_starts_afresh(staffed_client: AppClient) -> None:
    client = staffed_client
    first = await say(client, "Which wine goes best with grilled salmon?")
    await say(client, "What is the capital of Mongolia?")
    case = (await overview(client, first["conversation_id"]))["case"]
    await client.app[RUNTIME].transactions.run(
        partial(act_on_case, case_id=case["id"], action=CaseAction.RETURN, actor="U-staff", push=frozenset())
    )
    again = await say(client, "Who won the 1998 world cup?")
    assert again["reply"]["handoff"] is True and "passed" not in again["reply"]["text"]  # a decline, not a new case
    seen = await overview(client, first["conversation_id"])
    assert seen["state"] == "bot" and seen["case"]["id"] == case["id"]


async def test_a_widget_visitor_who_signs_in_later_meets_their_memory(
    aiohttp_client: Callable[..., Any], make_settings: Callable[..., Settings]
) -> None:
    settings = make_settings(web=WebSettings(identity_secret=SecretStr("s3")), api=trusted_api())
    client = await aiohttp_client(create_app(settings), headers=TRUSTED)
    await say(client, "I'm on the Business plan", contact="crm-9", email="kim@example.com")
    ws = await client.ws_connect("/widget/ws")
    await ws.send_json({"type": "hello", "token": None, "after": 0})
    token = (await ws.receive_json())["token"]
    await ws.send_json({"type": "message", "id": "q1", "text": "which plan am I on?"})
    assert (await _bot_message(ws))["text"] == "You haven't told me your plan yet."
    await ws.close()

    signed = await client.ws_connect("/widget/ws")
    await signed.send_json(
        {
            "type": "hello",
            "token": token,
            "after": 10**6,
            "identity": {"email": "kim@example.com", "signature": identity_signature("s3", "kim@example.com")},
        }
    )
    await signed.receive_json()
    await signed.send_json({"type": "message", "id": "q2", "text": "which plan am I on?"})
    assert (await _bot_message(signed))["text"] == "Your plan is Business."


# -- one person's data never reaches another -------------------------------------------------


async def _signed_hello(ws: Any, *, token: str | None, email: str | None, after: int = 0) -> dict[str, Any]:
    identity = {"email": email, "signature": identity_signature("site-secret", email)} if email else None
    await ws.send_json(
        {"type": "hello", "token": token, "after": after, **({"identity": identity} if identity else {})}
    )
    session = await ws.receive_json()
    assert session["type"] == "session"
    return session  # type: ignore[no-any-return]


async def _ask(ws: Any, client_id: str, text: str) -> str:
    await ws.send_json({"type": "message", "id": client_id, "text": text})
    return (await _bot_message(ws))["text"]  # type: ignore[no-any-return]


async def test_two_signed_in_visitors_on_one_browser_stay_two_customers(
    aiohttp_client: Callable[..., Any], make_settings: Callable[..., Settings]
) -> None:
    """Carol signs in and tells her name and order number; Dave signs in on the same browser,
    whose stored widget token is Carol's: he gets a session and a contact of his own, in the
    widget and through the API, and Carol still has hers."""
    settings = make_settings(web=WebSettings(identity_secret=SecretStr("site-secret")), api=trusted_api())
    client = await aiohttp_client(create_app(settings), headers=TRUSTED)
    carol = await client.ws_connect("/widget/ws")
    carols = await _signed_hello(carol, token=None, email="carol@example.com")
    await _ask(carol, "c1", "My name is Carol Lind and my order number is BD-91234")
    await carol.close()

    dave = await client.ws_connect("/widget/ws")
    daves = await _signed_hello(dave, token=carols["token"], email="dave@example.com")
    assert daves["restarted"] is True and daves["token"] != carols["token"]
    assert await _ask(dave, "d1", "what's my name?") == "You haven't told me your name yet."
    assert await _ask(dave, "d2", "what are my order numbers?") == "You haven't told me your order number yet."
    await dave.close()

    through_api = await say(client, "what's my name?", contact="crm-dave", email="dave@example.com")
    assert through_api["reply"]["text"] == "You haven't told me your name yet."
    again = await client.ws_connect("/widget/ws")
    back = await _signed_hello(again, token=carols["token"], email="carol@example.com", after=10**6)
    assert back["restarted"] is False
    assert await _ask(again, "c2", "what are my order numbers?") == "Your order numbers: BD-91234."


async def test_a_signed_in_visitors_conversation_is_not_shown_to_the_next_visitor_on_that_browser(
    aiohttp_client: Callable[..., Any], make_settings: Callable[..., Settings]
) -> None:
    settings = make_settings(web=WebSettings(identity_secret=SecretStr("site-secret")))
    client = await aiohttp_client(create_app(settings))
    carol = await client.ws_connect("/widget/ws")
    carols = await _signed_hello(carol, token=None, email="carol@example.com")
    await _ask(carol, "c1", "My name is Carol Lind")
    await carol.close()

    anonymous = await client.ws_connect("/widget/ws")
    session = await _signed_hello(anonymous, token=carols["token"], email=None)
    assert session["restarted"] is True
    await anonymous.send_json({"type": "hello", "token": session["token"], "after": 0})  # answered after the replay
    assert [frame async for frame in _frames_until_error(anonymous)] == []
    assert await _ask(anonymous, "a1", "what's my name?") == "You haven't told me your name yet."


async def _frames_until_error(ws: Any) -> AsyncIterator[dict[str, Any]]:
    """The frames a socket receives until the server's error frame (which proves what came before was all)."""
    while (frame := await ws.receive_json(timeout=30))["type"] != "error":
        yield frame


async def test_one_contact_id_for_two_verified_people_is_refused(trusted_client: AppClient) -> None:
    """The company's backend names one contact id for two people, each with their verified email:
    the second is refused (409, saying why) rather than written into the first one's
    conversation, their email is never linked to the first, and the first keeps their memory."""
    await say(
        trusted_client,
        "My name is Carol Lind and my order number is BD-91234",
        contact="desk-7",
        email="carol@example.com",
    )
    refused = await say(trusted_client, "what's my name?", contact="desk-7", email="dave@example.com", status=409)
    assert "one contact id is one person" in refused["error"]
    elsewhere = await say(trusted_client, "what are my order numbers?", contact="crm-dave", email="dave@example.com")
    assert elsewhere["reply"]["text"] == "You haven't told me your order number yet."
    carol = await say(trusted_client, "what's my name?", contact="crm-carol", email="carol@example.com")
    assert carol["reply"]["text"] == "Your name is Carol Lind."


async def test_an_email_and_a_phone_of_two_people_make_neither_of_them(trusted_client: AppClient) -> None:
    """Dave's verified email comes with the verified phone Carol gave: Dave is not Carol, and
    his email is never linked to her."""
    await say(
        trusted_client, "My order number is BD-91234", contact="crm-c", email="carol@example.com", phone="+15550001"
    )
    mixed = await say(
        trusted_client, "what are my order numbers?", contact="crm-d", email="dave@example.com", phone="+15550001"
    )
    assert mixed["reply"]["text"] == "You haven't told me your order number yet."
    dave = await say(trusted_client, "what are my order numbers?", contact="crm-x", email="dave@example.com")
    assert dave["reply"]["text"] == "You haven't told me your order number yet."
    carol = await say(trusted_client, "what are my order numbers?", contact="crm-y", phone="+15550001")
    assert carol["reply"]["text"] == "Your order numbers: BD-91234."
