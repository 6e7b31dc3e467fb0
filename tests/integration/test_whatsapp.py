"""WhatsApp end to end on Meta's Cloud API: the real app, webhooks built and signed the way Meta
builds and signs them, and every Graph API call and media download recorded by a local fake of
the Graph API (`channels.whatsapp.stand_in`). The 24-hour rule is tried with the clock moved 25
hours on (freezegun; the event loop keeps real time)."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from freezegun import freeze_time
from pydantic import SecretStr
from sqlalchemy import select

from channels.api.settings import ApiSettings
from channels.slack.stand_in import FakeSlack
from channels.whatsapp.settings import WhatsAppSettings
from channels.whatsapp.stand_in import (
    ACCESS_TOKEN,
    APP_SECRET,
    CUSTOMER,
    CUSTOMER_NAME,
    GRAPH_VERSION,
    PHONE_NUMBER_ID,
    VERIFY_TOKEN,
    FakeGraph,
    image_message,
    list_reply,
    signed_headers,
    status_update,
    text_message,
    voice_message,
    wamid,
)
from core.cli.server import RUNTIME, create_app
from core.settings import AdminSettings, OutboxSettings, Settings
from core.store.case_tables import CaseRating
from core.store.contacts import VERIFIED_PHONE
from core.store.db import AttachmentRow, Contact, Conversation, Identity, Message, OptOut, OutboxItem
from tests.app_client import AppClient
from tests.integration.app_db import count
from tests.integration.staff_desk_steps import case_card, desk_settings, staff_replies
from tests.integration.staff_steps import on_staff
from tests.integration.test_staff_desk import in_thread
from tests.settle import until

TOKEN = "dashboard-token-of-the-lead"
BEARER = {"Authorization": f"Bearer {TOKEN}"}
WAID = CUSTOMER.removeprefix("+")
TEMPLATE = "support_update"
ASK_FOR_PERSON = "I want to talk to a human please"


def whatsapp_settings(graph: FakeGraph, **more: Any) -> WhatsAppSettings:
    return WhatsAppSettings(
        phone_number_id=PHONE_NUMBER_ID,
        access_token=SecretStr(ACCESS_TOKEN),
        app_secret=SecretStr(APP_SECRET),
        verify_token=SecretStr(VERIFY_TOKEN),
        graph_url=graph.api_url,
        graph_version=GRAPH_VERSION,
        **more,
    )


@pytest.fixture
def settings_for(make_settings: Callable[..., Settings], graph: FakeGraph) -> Callable[..., Settings]:
    def make(whatsapp: WhatsAppSettings | None = None, **overrides: Any) -> Settings:
        return make_settings(
            whatsapp=whatsapp or whatsapp_settings(graph),
            admin=AdminSettings(token=SecretStr(TOKEN)),
            outbox=OutboxSettings(poll_interval_s=0.2, backoff_base_s=0.2),
            **overrides,
        )

    return make


@pytest.fixture
async def client(aiohttp_client: Callable[..., Any], settings_for: Callable[..., Settings]) -> AppClient:
    client: AppClient = await aiohttp_client(create_app(settings_for()))
    await on_staff(client.app)  # the inbox takes cases
    return client


async def meta_posts(client: AppClient, payload: dict[str, Any], *, forged: bool = False) -> int:
    """Meta delivering a webhook to the hub, signed with the app secret (or another, `forged`)."""
    body = json.dumps(payload, separators=(",", ":")).encode()
    headers = signed_headers(body, secret="not-the-app-secret" if forged else APP_SECRET)
    return (await client.post("/whatsapp/webhook", data=body, headers=headers)).status


async def case_id(client: AppClient) -> str:
    queue = await until(lambda: _queue(client), what="the case in the inbox")
    return str(queue[0]["case"]["id"])


async def _queue(client: AppClient) -> list[dict[str, Any]]:
    listed: list[dict[str, Any]] = await (await client.get("/admin/api/inbox", headers=BEARER)).json()
    return listed


async def case_notes(client: AppClient, case: str) -> list[str]:
    found = await (await client.get(f"/admin/api/inbox/{case}", headers=BEARER)).json()
    return [event["note"] for summary in found["conversation"]["cases"] for event in summary["events"] if event["note"]]


async def inbox_reply(client: AppClient, case: str, text: str) -> None:
    sent = await client.post(f"/admin/inbox/{case}/reply", data={"text": text}, headers=BEARER, allow_redirects=False)
    assert sent.status == 303


def texts(sent: list[dict[str, Any]]) -> list[str]:
    return [body["text"]["body"] for body in sent if body["type"] == "text"]


async def test_the_webhook_handshake_answers_the_challenge_only_with_the_verify_token(client: AppClient) -> None:
    query = {"hub.mode": "subscribe", "hub.verify_token": VERIFY_TOKEN, "hub.challenge": "1158201444"}
    answered = await client.get("/whatsapp/webhook", params=query)
    assert answered.status == 200 and await answered.text() == "1158201444"
    wrong = await client.get("/whatsapp/webhook", params=query | {"hub.verify_token": "guess"})
    assert wrong.status == 403


async def test_a_text_is_answered_with_sources_marked_read_and_the_number_is_a_verified_phone(
    client: AppClient, graph: FakeGraph
) -> None:
    assert await meta_posts(client, text_message("How do I reset my password?")) == 200
    (sent,) = await graph.wait_for_sent(1)
    assert sent["to"] == WAID and sent["type"] == "text"
    body = sent["text"]["body"]
    assert "password" in body.lower() and "Source" in body and "**" not in body
    await until(lambda: graph.reads, what="the read receipt")
    assert graph.reads[0].get("typing_indicator") == {"type": "text"}
    assert await count(client, Identity, Identity.channel == VERIFIED_PHONE, Identity.external_user_id == CUSTOMER) == 1
    assert await count(client, Contact, Contact.display_name == CUSTOMER_NAME) == 1  # their WhatsApp profile's


async def test_a_whatsapp_customer_and_an_api_caller_with_the_same_phone_are_one_contact(
    aiohttp_client: Callable[..., Any], settings_for: Callable[..., Settings], graph: FakeGraph
) -> None:
    client: AppClient = await aiohttp_client(create_app(settings_for(api=ApiSettings(token=SecretStr("t0ken")))))
    api = await client.post(
        "/api/messages",
        headers={"Authorization": "Bearer t0ken"},
        json={"contact": "crm-4711", "text": "My name is Dana.", "phone": CUSTOMER},
    )
    assert api.status == 200
    assert await meta_posts(client, text_message("How do I reset my password?")) == 200
    await graph.wait_for_sent(1)
    async with client.app[RUNTIME].sessionmaker() as session:
        contacts = set((await session.execute(select(Conversation.contact_id))).scalars())
    assert await count(client, Conversation) == 2 and len(contacts) == 1


async def test_metas_redelivery_of_a_message_is_answered_once(client: AppClient, graph: FakeGraph) -> None:
    again = text_message("How do I export my data?", message_id=wamid())
    for _ in range(3):
        assert await meta_posts(client, again) == 200
    assert await meta_posts(client, text_message("How do I reset my password?")) == 200
    await graph.wait_for_sent(2)  # the later message's answer: the repeats were taken before it
    await until(lambda: len(graph.reads) >= 2, what="both read receipts")
    assert len(texts(graph.sent)) == 2 and await count(client, Message, Message.author == "customer") == 2


async def test_a_forged_signature_is_403_and_nothing_is_stored(client: AppClient, graph: FakeGraph) -> None:
    assert await meta_posts(client, text_message("How do I reset my password?"), forged=True) == 403
    assert await count(client, Message) == 0 and graph.sent == []


async def test_an_image_and_a_voice_note_are_received_as_files(client: AppClient, graph: FakeGraph) -> None:
    picture = graph.add_media(b"\xff\xd8\xff\xe0 a photo of the error", "image/jpeg")
    voice = graph.add_media(b"OggS a voice note", "audio/ogg; codecs=opus")
    assert await meta_posts(client, image_message(picture, caption="This error shows up")) == 200
    assert await meta_posts(client, voice_message(voice)) == 200
    await graph.wait_for_sent(2)
    async with client.app[RUNTIME].sessionmaker() as session:
        files = (await session.execute(select(AttachmentRow).order_by(AttachmentRow.id))).scalars().all()
    assert [(f.filename, f.content_type.split(";")[0], f.size) for f in files] == [
        ("whatsapp-1.jpg", "image/jpeg", len(b"\xff\xd8\xff\xe0 a photo of the error")),
        ("voice-note-1.oga", "audio/ogg", len(b"OggS a voice note")),
    ]
    assert all(download.authorized for download in graph.downloads) and len(graph.downloads) == 2
    said = texts(graph.sent)  # the hub reads neither type by default, and says so
    assert "whatsapp-1.jpg: files of type .jpg are not supported" in said[0]
    assert "voice-note-1.oga: files of type .oga are not supported" in said[1]


async def test_statuses_never_move_backwards(client: AppClient, graph: FakeGraph) -> None:
    assert await meta_posts(client, text_message("How do I reset my password?")) == 200
    (sent,) = await graph.wait_for_sent(1)
    reply_id = await _sent_id(client)
    for status in ("sent", "read", "delivered"):
        assert await meta_posts(client, status_update(reply_id, status)) == 200
    async with client.app[RUNTIME].sessionmaker() as session:
        kept = (await session.execute(select(OutboxItem.platform_status))).scalars().all()
    assert kept == ["read"]
    assert sent["to"] == WAID


async def _sent_id(client: AppClient) -> str:
    async def found() -> str | None:
        async with client.app[RUNTIME].sessionmaker() as session:
            return (await session.execute(select(OutboxItem.external_id))).scalars().first()

    return str(await until(found, what="the reply's wamid"))


async def test_stop_silences_the_number_once_confirmed_and_start_brings_answers_back(
    client: AppClient, graph: FakeGraph
) -> None:
    for _ in range(2):  # a redelivered STOP changes nothing, so says nothing
        assert await meta_posts(client, text_message("STOP")) == 200
    assert await count(client, OptOut, OptOut.chat_id == CUSTOMER) == 1
    (confirmed,) = await graph.wait_for_sent(1)
    assert "START" in confirmed["text"]["body"]
    assert await meta_posts(client, text_message("START")) == 200
    assert "Welcome back" in (await graph.wait_for_sent(2))[1]["text"]["body"]
    assert await meta_posts(client, text_message("How do I reset my password?")) == 200
    assert "password" in (await graph.wait_for_sent(3))[2]["text"]["body"].lower()
    assert len(graph.sent) == 3


async def test_an_escalation_gets_staff_replies_from_slack_and_from_the_inbox_as_text(
    aiohttp_client: Callable[..., Any], settings_for: Callable[..., Settings], graph: FakeGraph, slack: FakeSlack
) -> None:
    client: AppClient = await aiohttp_client(create_app(settings_for(slack=desk_settings(slack))))
    assert await meta_posts(client, text_message(ASK_FOR_PERSON)) == 200
    (offer,) = await graph.wait_for_sent(1)
    assert "person" in offer["text"]["body"]
    await staff_replies(client, slack, "Hi, Sam here. I've reset it for you.", ts="1700000200.000100")
    assert texts(await graph.wait_for_sent(2))[1] == "Hi, Sam here. I've reset it for you."
    await inbox_reply(client, await case_id(client), "Anything else I can do?")
    assert texts(await graph.wait_for_sent(3))[2] == "Anything else I can do?"


async def test_a_profile_name_with_a_right_to_left_override_reaches_the_staff_channel_neutralised(
    aiohttp_client: Callable[..., Any], settings_for: Callable[..., Settings], graph: FakeGraph, slack: FakeSlack
) -> None:
    """ "Bob\u202eexe.fdp\u202c Admin" read "Bobpdf.exe Admin" on the case card in Slack."""
    client: AppClient = await aiohttp_client(create_app(settings_for(slack=desk_settings(slack))))
    assert await meta_posts(client, text_message(ASK_FOR_PERSON, name="Bob\u202eexe.fdp\u202c Admin")) == 200
    card = await case_card(slack)
    fields = [field["text"] for block in card.body["blocks"] for field in block.get("fields", [])]
    assert fields[0] == "*Customer:*\n\u2068Bob[U+202E]exe.fdp[U+202C] Admin\u2069"  # isolated, the override shown
    assert "\u202e" not in json.dumps(card.body, ensure_ascii=False)


@pytest.mark.slow("a frozen clock 25 hours on, which the hub's timers tick through")
async def test_staff_replies_25_hours_later_go_as_one_template_and_the_next_waits_for_the_answer(
    aiohttp_client: Callable[..., Any], settings_for: Callable[..., Settings], graph: FakeGraph
) -> None:
    settings = settings_for(whatsapp_settings(graph, template=TEMPLATE, template_languages={"de": "de"}))
    client: AppClient = await aiohttp_client(create_app(settings))
    await on_staff(client.app)  # the inbox takes cases
    assert await meta_posts(client, text_message(ASK_FOR_PERSON)) == 200
    await graph.wait_for_sent(1)
    case = await case_id(client)
    late = datetime.now(UTC) + timedelta(hours=25)
    with freeze_time(late, tick=True, real_asyncio=True):
        await inbox_reply(client, case, "Your refund was approved today.\nIt reaches your card within 5 days.")
        template = (await graph.wait_for_sent(2))[1]
        await inbox_reply(client, case, "Anything else?")
        notes = await until(lambda: _held(case_notes(client, case), "Not sent yet: “Anything else?”"), what="held")
        assert "the approved template went already" in notes and len(graph.sent) == 2  # one template
        assert await meta_posts(client, text_message("Thanks!", timestamp=int(late.timestamp()) + 60)) == 200
        after = (await graph.wait_for_sent(3))[2]
    assert template["type"] == "template" and template["to"] == WAID
    assert template["template"]["name"] == TEMPLATE and template["template"]["language"] == {"code": "en"}
    parameters = template["template"]["components"][0]["parameters"]
    assert parameters == [
        {"type": "text", "text": "Your refund was approved today. It reaches your card within 5 days."}
    ]
    assert texts([after]) == ["Anything else?"]


async def test_a_long_late_reply_goes_as_the_templates_beginning_then_whole_when_the_customer_answers(
    aiohttp_client: Callable[..., Any], settings_for: Callable[..., Settings], graph: FakeGraph
) -> None:
    client: AppClient = await aiohttp_client(create_app(settings_for(whatsapp_settings(graph, template=TEMPLATE))))
    await on_staff(client.app)  # the inbox takes cases
    assert await meta_posts(client, text_message(ASK_FOR_PERSON)) == 200
    await graph.wait_for_sent(1)
    case = await case_id(client)
    long_reply = "\n\n".join(f"Step {i}:" + " check the settings page once more" * 4 for i in range(8))
    late = datetime.now(UTC) + timedelta(hours=25)
    with freeze_time(late, tick=True, real_asyncio=True):
        await inbox_reply(client, case, long_reply)
        template = (await graph.wait_for_sent(2))[1]
        notes = await until(lambda: _held(case_notes(client, case), "Not sent yet:"), what="the whole reply held")
        assert "only its beginning went, as the approved template" in notes
        assert await meta_posts(client, text_message("Go on", timestamp=int(late.timestamp()) + 60)) == 200
        whole = (await graph.wait_for_sent(3))[2]
    parameter = template["template"]["components"][0]["parameters"][0]["text"]
    assert parameter.startswith("Step 0: check") and parameter.endswith("…") and len(parameter) <= 900
    assert texts([whole]) == [long_reply]


async def test_resolved_25_hours_later_the_notice_goes_as_the_template_and_the_survey_not_at_all(
    aiohttp_client: Callable[..., Any], settings_for: Callable[..., Settings], graph: FakeGraph
) -> None:
    client: AppClient = await aiohttp_client(create_app(settings_for(whatsapp_settings(graph, template=TEMPLATE))))
    await on_staff(client.app)  # the inbox takes cases
    assert await meta_posts(client, text_message(ASK_FOR_PERSON)) == 200
    await graph.wait_for_sent(1)
    case = await case_id(client)
    with freeze_time(datetime.now(UTC) + timedelta(hours=25), tick=True, real_asyncio=True):
        resolved = await client.post(f"/admin/inbox/{case}/resolve", headers=BEARER, allow_redirects=False)
        assert resolved.status == 303
        notice = (await graph.wait_for_sent(2))[1]
        survey = await until(lambda: _dropped(client), what="the survey dropped")
    assert notice["type"] == "template"
    assert "marked this as resolved" in notice["template"]["components"][0]["parameters"][0]["text"]
    assert "a notice of the hub's own (the survey, a reminder) is not sent then" in survey
    assert len(graph.sent) == 2 and await count(client, OutboxItem, OutboxItem.status == "dead") == 0


async def _dropped(client: AppClient) -> str | None:
    async with client.app[RUNTIME].sessionmaker() as session:
        found = await session.execute(
            select(OutboxItem.last_error).where(OutboxItem.status == "dropped", OutboxItem.kind == "reply")
        )
        return found.scalars().first()


async def test_the_survey_is_a_list_to_pick_from_and_a_repeated_pick_is_thanked_once(
    client: AppClient, graph: FakeGraph
) -> None:
    assert await meta_posts(client, text_message(ASK_FOR_PERSON)) == 200
    await graph.wait_for_sent(1)
    case = await case_id(client)
    assert (await client.post(f"/admin/inbox/{case}/resolve", headers=BEARER, allow_redirects=False)).status == 303
    question = (await graph.wait_for_sent(3))[2]
    assert question["type"] == "interactive" and question["interactive"]["type"] == "list"
    rows = question["interactive"]["action"]["sections"][0]["rows"]
    assert [row["title"] for row in rows] == ["1 (bad)", "2", "3", "4", "5 (great)"]
    press = list_reply(rows[4]["id"], rows[4]["title"])
    for _ in range(2):  # Meta delivers the press again
        assert await meta_posts(client, press) == 200
    assert await meta_posts(client, text_message("How do I reset my password?")) == 200
    sent = await graph.wait_for_sent(5)
    assert texts(sent[3:]).count("Thank you for your rating: 5 of 5.") == 1
    async with client.app[RUNTIME].sessionmaker() as session:
        assert (await session.execute(select(CaseRating.score))).scalars().all() == [5]


async def test_an_old_message_delivered_late_never_closes_the_window(client: AppClient, graph: FakeGraph) -> None:
    assert await meta_posts(client, text_message(ASK_FOR_PERSON)) == 200
    await graph.wait_for_sent(1)
    two_days_ago = int((datetime.now(UTC) - timedelta(days=2)).timestamp())
    assert await meta_posts(client, text_message("an old message", timestamp=two_days_ago)) == 200
    await inbox_reply(client, await case_id(client), "Here is your answer.")
    assert texts(await graph.wait_for_sent(2))[1] == "Here is your answer."


async def test_without_a_template_a_late_reply_is_held_staff_are_told_and_it_goes_when_the_customer_writes(
    aiohttp_client: Callable[..., Any], settings_for: Callable[..., Settings], graph: FakeGraph, slack: FakeSlack
) -> None:
    client: AppClient = await aiohttp_client(create_app(settings_for(slack=desk_settings(slack))))
    assert await meta_posts(client, text_message(ASK_FOR_PERSON)) == 200
    await graph.wait_for_sent(1)
    card = await case_card(slack)
    case = await case_id(client)
    late = datetime.now(UTC) + timedelta(hours=25)
    with freeze_time(late, tick=True, real_asyncio=True):
        await inbox_reply(client, case, "Your refund was approved today.")
        told = "Not sent yet: “Your refund was approved today.”"
        notes = await until(lambda: _held(case_notes(client, case), told), what="the case note")
        assert "more than 24 hours after the customer's last message" in notes
        await until(lambda: any(told in line for line in in_thread(slack, card.response["ts"])), what="the thread")
        page = await (await client.get(f"/admin/inbox/{case}", headers=BEARER)).text()
        assert "Not sent yet: “Your refund was approved today.”" in page  # the inbox shows it too
        status = await (await client.get("/admin/status", headers=BEARER)).text()
        assert "Held replies" in status and "none is set (whatsapp.template)" in status
        assert len(graph.sent) == 1  # nothing sent against the rule
        later = int(late.timestamp()) + 60
        assert await meta_posts(client, text_message("Any news?", timestamp=later)) == 200
        sent = await graph.wait_for_sent(2)
    assert texts(sent)[1] == "Your refund was approved today."


async def _held(notes: Any, told: str) -> str | None:
    return next((note for note in await notes if note.startswith(told)), None)


async def test_a_reply_meta_refuses_for_the_window_after_accepting_it_is_held_not_lost(
    aiohttp_client: Callable[..., Any], settings_for: Callable[..., Settings], graph: FakeGraph
) -> None:
    client: AppClient = await aiohttp_client(create_app(settings_for()))
    await on_staff(client.app)  # the inbox takes cases
    assert await meta_posts(client, text_message(ASK_FOR_PERSON)) == 200
    await graph.wait_for_sent(1)
    case = await case_id(client)
    await inbox_reply(client, case, "Your refund was approved today.")
    await graph.wait_for_sent(2)
    async with client.app[RUNTIME].sessionmaker() as session:
        reply_id = (
            (
                await session.execute(
                    select(OutboxItem.external_id).where(OutboxItem.external_id.is_not(None)).order_by(OutboxItem.id)
                )
            )
            .scalars()
            .all()[-1]
        )
    assert await meta_posts(client, status_update(str(reply_id), "failed", error_code=131047)) == 200
    await until(lambda: _held(case_notes(client, case), "Not sent yet:"), what="the held reply's note")
    assert await meta_posts(client, text_message("Hello again")) == 200
    assert texts(await graph.wait_for_sent(3))[2] == "Your refund was approved today."
