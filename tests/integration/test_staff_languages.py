"""A German customer and English-speaking staff, with an LLM between them (the real openai
client against the local fake model; the real Slack SDK against the fake Slack; the inbox over
HTTP): the bot answers in German, the card, the thread and the inbox show the customer's
messages translated for staff and the language they need, and staff replies reach the customer
in German with what staff wrote kept beside them — or as written, staff told, when the model
cannot translate."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from typing import Any

import pytest
from pydantic import SecretStr

from channels.slack.stand_in import FakeSlack
from core.answering.llm_responder import DATA_CLOSE, DATA_OPEN
from core.cli.server import create_app
from core.settings import AdminSettings, LlmSettings, OutboxSettings, Settings
from tests.app_client import AppClient
from tests.fakes.openai_server import Call, FakeOpenAI, HttpError, Response, Stall, Text, ToolCalls
from tests.integration.staff_desk_steps import case_card, desk_settings, staff_replies
from tests.integration.staff_steps import on_staff
from tests.integration.test_staff_desk import in_thread
from tests.settle import until

TOKEN = "dashboard-token-of-the-lead"
BEARER = {"Authorization": f"Bearer {TOKEN}"}
ASK = "Mein Konto ist seit gestern gesperrt und ich komme nicht mehr hinein. Was kann ich tun?"
"""Not a request for a person (which would escalate before the model is asked): the model hands it over."""
MORE = "Ich kann mich immer noch nicht anmelden und brauche dringend Hilfe."
HANDING_OVER = "Eine Person aus unserem Team übernimmt gleich."
TRANSLATIONS = {
    ASK: "My account has been locked since yesterday and I cannot get in any more. What can I do?",
    MORE: "I still cannot sign in and urgently need help.",
    "Hi, I have unlocked your account.": "Hallo, ich habe Ihr Konto entsperrt.",
    "Your account works again.": "Ihr Konto funktioniert wieder.",
}
"""What the fake model translates; any other text it fails to (HTTP 503)."""
SLOW = "One moment, I am checking your account."
"""What the fake model takes far too long to translate."""


def polyglot(body: Mapping[str, Any]) -> Response:
    """The fake model: translates what it knows, hands a customer asking in German to a person
    (in German, when the prompt asks for German), and summarises anything else."""
    system = body["messages"][0]["content"]
    if system.startswith("You translate"):
        user = body["messages"][1]["content"]
        text = user[user.index(DATA_OPEN) + len(DATA_OPEN) : user.index(DATA_CLOSE)].strip()
        if text == SLOW:
            return Stall(600)  # ended when the fake closes
        return Text(TRANSLATIONS[text]) if text in TRANSLATIONS else HttpError(503)
    if body.get("tools"):
        said = HANDING_OVER if "reply in German." in system else "A person will take over."
        return ToolCalls(Call("escalate_to_human", {"reason": "The customer asked for a person."}), text=said)
    return Text("The customer's account is locked; they want a person.")


def llm_settings(make_settings: Callable[..., Settings], model: FakeOpenAI, **more: Any) -> Settings:
    model.otherwise = polyglot
    return make_settings(
        llm=LlmSettings(base_url=model.base_url, max_retries=0, timeout_s=600),
        admin=AdminSettings(token=SecretStr(TOKEN)),
        outbox=OutboxSettings(poll_interval_s=0.2),
        **more,
    )


def card_text(card: Any) -> str:
    """The text of a card's blocks, as staff read it."""
    texts = []
    for block in card.body["blocks"]:
        texts += [block.get("text", {}).get("text", ""), *(f["text"] for f in block.get("fields", []))]
    return "\n".join(texts)


async def staff_messages(client: AppClient, conversation_id: str) -> list[str]:
    listed = await (await client.get(f"/api/conversations/{conversation_id}/messages")).json()
    return [m["text"] for m in listed["messages"] if m["author"] == "staff"]


async def case_of(client: AppClient) -> dict[str, Any]:
    (entry,) = await until(lambda: _queue(client), what="the case in the inbox")
    found: dict[str, Any] = await (await client.get(f"/admin/api/inbox/{entry['case']['id']}", headers=BEARER)).json()
    return found


async def _queue(client: AppClient) -> list[dict[str, Any]]:
    queue: list[dict[str, Any]] = await (await client.get("/admin/api/inbox", headers=BEARER)).json()
    return queue


async def test_a_german_customer_and_english_staff_read_each_other_on_slack_and_in_the_inbox(
    aiohttp_client: Callable[..., Any], make_settings: Callable[..., Settings], slack: FakeSlack, model: FakeOpenAI
) -> None:
    client: AppClient = await aiohttp_client(create_app(llm_settings(make_settings, model, slack=desk_settings(slack))))
    first = await (await client.post("/api/messages", json={"contact": "greta", "text": ASK})).json()
    conversation_id = first["conversation_id"]
    answering = next(r for r in model.requests if r.body.get("tools"))
    assert "The customer writes in German; reply in German." in answering.body["messages"][0]["content"]

    card = await case_card(slack)
    shown = card_text(card)
    assert "*Needs:*\nGerman" in shown
    assert f"*customer:* {ASK}\n>_translated from German:_ {TRANSLATIONS[ASK]}" in shown

    await client.post("/api/messages", json={"contact": "greta", "text": MORE})
    line = f"*Customer:* {MORE}\n_Translated from German:_ {TRANSLATIONS[MORE]}"
    await until(lambda: line in in_thread(slack, card.response["ts"]), what="the translated line in the thread")

    await staff_replies(client, slack, "Hi, I have unlocked your account.", ts="1700000400.000100")
    assert await until(lambda: staff_messages(client, conversation_id)) == ["Hallo, ich habe Ihr Konto entsperrt."]
    assert "Sent to the customer, translated into German:\nHallo, ich habe Ihr Konto entsperrt." in in_thread(
        slack, card.response["ts"]
    )

    found = await case_of(client)
    case_id = found["case"]["case"]["id"]
    assert found["case"]["needs"] == "German"
    marked = list(found["case"]["for_staff"].values())
    assert {"language": "German", "translation": TRANSLATIONS[MORE], "original": None} in marked
    assert {"language": "German", "translation": None, "original": "Hi, I have unlocked your account."} in marked

    sent = await client.post(
        f"/admin/inbox/{case_id}/reply",
        data={"text": "Your account works again."},
        headers=BEARER,
        allow_redirects=False,
    )
    assert sent.status == 303
    assert (await until(lambda: _two(staff_messages(client, conversation_id))))[1] == "Ihr Konto funktioniert wieder."
    from_inbox = "*Reply from the inbox:* Your account works again.\n_Sent translated into German:_ Ihr Konto funktioniert wieder."
    await until(lambda: from_inbox in in_thread(slack, card.response["ts"]), what="the inbox's reply in the thread")

    page = await (await client.get(f"/admin/inbox/{case_id}", headers=BEARER)).text()
    assert "needs German" in page
    assert f"translated from German:</span> {TRANSLATIONS[ASK]}" in page
    assert "sent translated into German; written as:" in page and "Your account works again." in page


async def _two(found: Any) -> list[str] | None:
    texts: list[str] = await found
    return texts if len(texts) >= 2 else None


async def test_in_the_inbox_alone_a_reply_the_model_cannot_translate_goes_as_written_and_staff_are_told(
    aiohttp_client: Callable[..., Any], make_settings: Callable[..., Settings], model: FakeOpenAI
) -> None:
    client: AppClient = await aiohttp_client(create_app(llm_settings(make_settings, model)))
    await on_staff(client.app)  # the inbox takes cases
    first = await (await client.post("/api/messages", json={"contact": "greta", "text": ASK})).json()
    found = await until(
        lambda: _translated(case_of(client)), what="the customer's message translated in the inbox without Slack"
    )
    case_id = found["case"]["case"]["id"]
    assert found["case"]["needs"] == "German"

    sent = await client.post(
        f"/admin/inbox/{case_id}/reply",
        data={"text": "Let me check with billing."},
        headers=BEARER,
        allow_redirects=False,
    )
    assert sent.status == 303
    assert await until(lambda: staff_messages(client, first["conversation_id"])) == ["Let me check with billing."]
    found = await case_of(client)
    notes = [event["note"] for summary in found["conversation"]["cases"] for event in summary["events"]]
    assert "The reply could not be translated into German; it was sent as written." in notes
    assert all(marked["original"] is None for marked in found["case"]["for_staff"].values())
    page = await (await client.get(f"/admin/inbox/{case_id}", headers=BEARER)).text()
    assert "sent translated" not in page


async def _translated(found: Any) -> dict[str, Any] | None:
    case: dict[str, Any] = await found
    return case if any(m["translation"] == TRANSLATIONS[ASK] for m in case["case"]["for_staff"].values()) else None


@pytest.mark.slow("waits out the translation's time limit")
async def test_a_thread_reply_the_model_is_slow_to_translate_goes_as_written_and_the_thread_says_so(
    aiohttp_client: Callable[..., Any], make_settings: Callable[..., Settings], slack: FakeSlack, model: FakeOpenAI
) -> None:
    client: AppClient = await aiohttp_client(create_app(llm_settings(make_settings, model, slack=desk_settings(slack))))
    first = await (await client.post("/api/messages", json={"contact": "greta", "text": ASK})).json()
    card = await case_card(slack)
    async with asyncio.timeout(60):  # the model stalls for 10 minutes: the event is answered long before
        await staff_replies(client, slack, SLOW, ts="1700000500.000100")
    assert await until(lambda: staff_messages(client, first["conversation_id"])) == [SLOW]
    told = "The reply could not be translated into German; it was sent as written."
    assert told in in_thread(slack, card.response["ts"])


async def test_a_thread_reply_slack_sends_again_while_it_is_translated_reaches_the_customer_once(
    aiohttp_client: Callable[..., Any], make_settings: Callable[..., Settings], slack: FakeSlack, model: FakeOpenAI
) -> None:
    """Slack resends an event it got no answer to within 3 s, and a translation takes time: the
    same message (its ts) arriving twice at once, and once more later, is relayed once."""
    client: AppClient = await aiohttp_client(create_app(llm_settings(make_settings, model, slack=desk_settings(slack))))
    first = await (await client.post("/api/messages", json={"contact": "greta", "text": ASK})).json()
    await case_card(slack)
    reply = "Your account works again."
    await asyncio.gather(*(staff_replies(client, slack, reply, ts="1700000600.000100") for _ in range(2)))
    await staff_replies(client, slack, reply, ts="1700000600.000100")
    await staff_replies(client, slack, "Hi, I have unlocked your account.", ts="1700000601.000100")  # proof of order
    sent = await until(lambda: _two(staff_messages(client, first["conversation_id"])))
    assert sent == ["Ihr Konto funktioniert wieder.", "Hallo, ich habe Ihr Konto entsperrt."]
