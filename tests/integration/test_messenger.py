"""Messenger and Instagram end to end on Meta's Messenger Platform: the real app, webhooks built and
signed the way Meta builds and signs them, and every Send API call and file download recorded by
a local fake of the Graph API (`channels.messenger.stand_in`). What both platforms do alike runs on
both; the window's rule is tried with the clock moved 25 hours and 8 days on (freezegun; the event
loop keeps real time)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from freezegun import freeze_time
from pydantic import SecretStr
from sqlalchemy import select

from channels.messenger.settings import InstagramSettings, MessengerSettings, MetaMessagingSettings
from channels.messenger.stand_in import (
    APP_SECRET,
    CUSTOMER_PSID,
    GRAPH_VERSION,
    IG_ACCESS_TOKEN,
    IG_ACCOUNT_ID,
    PAGE_ACCESS_TOKEN,
    PAGE_ID,
    VERIFY_TOKEN,
    FakeMessaging,
    attachment_message,
    delivery,
    echo,
    new_mid,
    quick_reply,
    signed_headers,
    text_message,
)
from channels.slack.stand_in import FakeSlack
from core.cli.server import RUNTIME, create_app
from core.settings import AdminSettings, OutboxSettings, Settings
from core.store.case_tables import CaseRating
from core.store.db import AttachmentRow, Conversation, Identity, Message, OutboxItem
from tests.app_client import AppClient
from tests.integration.app_db import count
from tests.integration.staff_desk_steps import case_card, desk_settings, staff_replies
from tests.integration.staff_steps import on_staff
from tests.integration.test_staff_desk import in_thread
from tests.settle import until

TOKEN = "dashboard-token-of-the-lead"
BEARER = {"Authorization": f"Bearer {TOKEN}"}
ASK_FOR_PERSON = "I want to talk to a human please"


@pytest.fixture(params=["messenger", "instagram"])
def platform(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
async def meta(platform: str) -> AsyncIterator[FakeMessaging]:
    fake = FakeMessaging(platform)
    await fake.start()
    yield fake
    await fake.stop()


def meta_settings(meta: FakeMessaging, platform: str, **more: Any) -> MetaMessagingSettings:
    common: dict[str, Any] = {
        "app_secret": SecretStr(APP_SECRET),
        "verify_token": SecretStr(VERIFY_TOKEN),
        "graph_url": meta.api_url,
        "graph_version": GRAPH_VERSION,
        **more,
    }
    if platform == "messenger":
        return MessengerSettings(page_id=PAGE_ID, access_token=SecretStr(PAGE_ACCESS_TOKEN), **common)
    return InstagramSettings(account_id=IG_ACCOUNT_ID, access_token=SecretStr(IG_ACCESS_TOKEN), **common)


@pytest.fixture
def settings_for(make_settings: Callable[..., Settings], meta: FakeMessaging, platform: str) -> Callable[..., Settings]:
    def make(*, human_agent: bool = False, **overrides: Any) -> Settings:
        return make_settings(
            **{platform: meta_settings(meta, platform, human_agent=human_agent)},
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


async def meta_posts(client: AppClient, platform: str, payload: dict[str, Any], *, forged: bool = False) -> int:
    """Meta delivering a webhook to the hub, signed with the app secret (or another, `forged`)."""
    body = json.dumps(payload, separators=(",", ":")).encode()
    headers = signed_headers(body, secret="not-the-app-secret" if forged else APP_SECRET)
    return (await client.post(f"/{platform}/webhook", data=body, headers=headers)).status


def texts(sent: list[dict[str, Any]]) -> list[str]:
    return [body["message"]["text"] for body in sent]


async def case_id(client: AppClient) -> str:
    async def queue() -> list[dict[str, Any]]:
        listed: list[dict[str, Any]] = await (await client.get("/admin/api/inbox", headers=BEARER)).json()
        return listed

    return str((await until(queue, what="the case in the inbox"))[0]["case"]["id"])


async def inbox_reply(client: AppClient, case: str, text: str) -> None:
    sent = await client.post(f"/admin/inbox/{case}/reply", data={"text": text}, headers=BEARER, allow_redirects=False)
    assert sent.status == 303


async def case_notes(client: AppClient, case: str) -> list[str]:
    found = await (await client.get(f"/admin/api/inbox/{case}", headers=BEARER)).json()
    return [event["note"] for summary in found["conversation"]["cases"] for event in summary["events"] if event["note"]]


async def held_note(client: AppClient, case: str) -> str | None:
    return next((note for note in await case_notes(client, case) if note.startswith("Not sent yet:")), None)


def later_than(moment: datetime) -> int:
    """A webhook timestamp (ms) a minute after `moment`."""
    return int(moment.timestamp() * 1000) + 60_000


async def test_the_webhook_handshake_answers_the_challenge_only_with_the_verify_token(
    client: AppClient, platform: str
) -> None:
    query = {"hub.mode": "subscribe", "hub.verify_token": VERIFY_TOKEN, "hub.challenge": "1158201444"}
    answered = await client.get(f"/{platform}/webhook", params=query)
    assert answered.status == 200 and await answered.text() == "1158201444"
    assert (await client.get(f"/{platform}/webhook", params=query | {"hub.verify_token": "guess"})).status == 403


async def test_a_question_is_answered_with_sources_as_plain_text_and_marked_seen(
    client: AppClient, meta: FakeMessaging, platform: str
) -> None:
    assert await meta_posts(client, platform, text_message("How do I reset my password?", platform=platform)) == 200
    (sent,) = await meta.wait_for_sent(1)
    assert sent["recipient"] == {"id": CUSTOMER_PSID} and sent["messaging_type"] == "RESPONSE"
    body = sent["message"]["text"]
    assert "password" in body.lower() and "Source" in body and "**" not in body
    await until(lambda: len(meta.actions) >= 2, what="seen and typing")
    assert [action["sender_action"] for action in meta.actions] == ["mark_seen", "typing_on"]
    assert await count(client, Identity, Identity.external_user_id == CUSTOMER_PSID) == 1


async def test_metas_redelivery_is_answered_once_and_an_echo_is_not_a_customer_message(
    client: AppClient, meta: FakeMessaging, platform: str
) -> None:
    again = text_message("How do I export my data?", platform=platform, mid=new_mid())
    for _ in range(3):
        assert await meta_posts(client, platform, again) == 200
    assert (
        await meta_posts(client, platform, echo("Hi, this is the shop writing in Meta's inbox", platform=platform))
        == 200
    )
    assert await meta_posts(client, platform, text_message("How do I reset my password?", platform=platform)) == 200
    await meta.wait_for_sent(2)  # the later message's answer: the repeats and the echo were taken before it
    assert len(meta.sent) == 2 and await count(client, Message, Message.author == "customer") == 2


async def test_a_forged_signature_is_403_and_nothing_is_stored(
    client: AppClient, meta: FakeMessaging, platform: str
) -> None:
    payload = text_message("How do I reset my password?", platform=platform)
    assert await meta_posts(client, platform, payload, forged=True) == 403
    assert await count(client, Message) == 0 and meta.sent == []


async def test_a_photo_is_fetched_from_metas_cdn_without_the_token_and_another_host_is_not(
    client: AppClient, meta: FakeMessaging, platform: str
) -> None:
    photo = b"\xff\xd8\xff\xe0 a photo of the error"
    url = meta.add_file(photo, "image/jpeg")
    assert await meta_posts(client, platform, attachment_message(url, "image", platform=platform)) == 200
    elsewhere = meta.add_file(b"%PDF-1.7 a file", "application/pdf", host="localhost")
    assert await meta_posts(client, platform, attachment_message(elsewhere, "file", platform=platform)) == 200
    sent = await meta.wait_for_sent(2)
    async with client.app[RUNTIME].sessionmaker() as session:
        files = (await session.execute(select(AttachmentRow).order_by(AttachmentRow.id))).scalars().all()
    assert (files[0].filename, files[0].content_type, files[0].size) == (f"{platform}-1.jpg", "image/jpeg", len(photo))
    assert [download.authorized for download in meta.downloads] == [False]  # the off-list host never asked
    said = " ".join(texts(sent))
    assert f"{platform}-1.pdf could not be fetched from {platform.title()}" in said


async def test_staff_replies_from_slack_and_from_the_inbox_reach_the_customer(
    aiohttp_client: Callable[..., Any],
    settings_for: Callable[..., Settings],
    meta: FakeMessaging,
    slack: FakeSlack,
    platform: str,
) -> None:
    client: AppClient = await aiohttp_client(create_app(settings_for(slack=desk_settings(slack))))
    assert await meta_posts(client, platform, text_message(ASK_FOR_PERSON, platform=platform)) == 200
    (offer,) = await meta.wait_for_sent(1)
    assert "person" in offer["message"]["text"]
    await staff_replies(client, slack, "Hi, Sam here. I've reset it for you.", ts="1700000200.000100")
    assert texts(await meta.wait_for_sent(2))[1] == "Hi, Sam here. I've reset it for you."
    await inbox_reply(client, await case_id(client), "Anything else I can do?")
    assert texts(await meta.wait_for_sent(3))[2] == "Anything else I can do?"


@pytest.mark.slow("a frozen clock 25 hours on, which the hub's timers tick through")
async def test_a_late_staff_reply_goes_with_the_human_agent_tag_when_the_app_has_the_permission(
    aiohttp_client: Callable[..., Any], settings_for: Callable[..., Settings], meta: FakeMessaging, platform: str
) -> None:
    client: AppClient = await aiohttp_client(create_app(settings_for(human_agent=True)))
    await on_staff(client.app)
    assert await meta_posts(client, platform, text_message(ASK_FOR_PERSON, platform=platform)) == 200
    await meta.wait_for_sent(1)
    case = await case_id(client)
    meta.close_window()  # Meta's side of the same 25 hours
    with freeze_time(datetime.now(UTC) + timedelta(hours=25), tick=True, real_asyncio=True):
        await inbox_reply(client, case, "Your refund was approved today.")
        late = (await meta.wait_for_sent(2))[1]
        resolved = await client.post(f"/admin/inbox/{case}/resolve", headers=BEARER, allow_redirects=False)
        assert resolved.status == 303
        survey = await until(lambda: _dropped(client), what="the survey dropped")
    assert late["messaging_type"] == "MESSAGE_TAG" and late["tag"] == "HUMAN_AGENT"
    assert late["message"]["text"] == "Your refund was approved today."
    notice = meta.sent[2]  # staff resolved it: their notice is a person's message, the survey is not
    assert notice["tag"] == "HUMAN_AGENT" and "marked this as resolved" in notice["message"]["text"]
    assert "takes no message of the hub's own" in survey and len(meta.sent) == 3


@pytest.mark.slow("a frozen clock 25 hours on, which the hub's timers tick through")
async def test_without_the_permission_a_late_reply_is_held_staff_are_told_and_it_goes_when_the_customer_writes(
    aiohttp_client: Callable[..., Any],
    settings_for: Callable[..., Settings],
    meta: FakeMessaging,
    slack: FakeSlack,
    platform: str,
) -> None:
    client: AppClient = await aiohttp_client(create_app(settings_for(slack=desk_settings(slack))))
    assert await meta_posts(client, platform, text_message(ASK_FOR_PERSON, platform=platform)) == 200
    await meta.wait_for_sent(1)
    card = await case_card(slack)
    case = await case_id(client)
    meta.close_window()
    late = datetime.now(UTC) + timedelta(hours=25)
    with freeze_time(late, tick=True, real_asyncio=True):
        await inbox_reply(client, case, "Your refund was approved today.")
        note = await until(lambda: held_note(client, case), what="the case note")
        assert f"only with the Human Agent permission ({platform}.human_agent)" in note
        told = "Not sent yet: “Your refund was approved today.”"
        await until(lambda: any(told in line for line in in_thread(slack, card.response["ts"])), what="the thread")
        assert len(meta.sent) == 1  # nothing sent against the rule
        meta.open_window()
        again = text_message("Any news?", platform=platform, timestamp=later_than(late))
        assert await meta_posts(client, platform, again) == 200
        sent = await meta.wait_for_sent(2)
    assert texts(sent)[1] == "Your refund was approved today." and sent[1]["messaging_type"] == "RESPONSE"


@pytest.mark.slow("a frozen clock 8 days on, which the hub's timers tick through")
async def test_past_seven_days_even_the_human_agent_tag_waits_for_the_customer(
    aiohttp_client: Callable[..., Any], settings_for: Callable[..., Settings], meta: FakeMessaging, platform: str
) -> None:
    client: AppClient = await aiohttp_client(create_app(settings_for(human_agent=True)))
    await on_staff(client.app)
    assert await meta_posts(client, platform, text_message(ASK_FOR_PERSON, platform=platform)) == 200
    await meta.wait_for_sent(1)
    case = await case_id(client)
    meta.close_window(human_agent=False)
    with freeze_time(datetime.now(UTC) + timedelta(days=8), tick=True, real_asyncio=True):
        await inbox_reply(client, case, "Sorry for the wait.")
        note = await until(lambda: held_note(client, case), what="the case note")
    assert "takes no reply more than 7 days after the customer's last message" in note and len(meta.sent) == 1


async def _dropped(client: AppClient) -> str | None:
    async with client.app[RUNTIME].sessionmaker() as session:
        found = await session.execute(
            select(OutboxItem.last_error).where(OutboxItem.status == "dropped", OutboxItem.kind == "reply")
        )
        return found.scalars().first()


async def test_a_reply_meta_refuses_for_the_window_is_held_not_lost(
    client: AppClient, meta: FakeMessaging, platform: str
) -> None:
    assert await meta_posts(client, platform, text_message(ASK_FOR_PERSON, platform=platform)) == 200
    await meta.wait_for_sent(1)
    case = await case_id(client)
    meta.close_window(human_agent=False)  # Meta counts the window otherwise than our clock
    await inbox_reply(client, case, "Your refund was approved today.")
    note = await until(lambda: held_note(client, case), what="the held reply's note")
    assert f"{platform.title()} refused it for its messaging window" in note and len(meta.sent) == 1
    meta.open_window()
    assert await meta_posts(client, platform, text_message("Hello again", platform=platform)) == 200
    await until(lambda: "Your refund was approved today." in texts(meta.sent), what="the held reply sent")


async def test_the_survey_is_quick_replies_and_a_repeated_press_is_thanked_once(
    client: AppClient, meta: FakeMessaging, platform: str
) -> None:
    assert await meta_posts(client, platform, text_message(ASK_FOR_PERSON, platform=platform)) == 200
    await meta.wait_for_sent(1)
    case = await case_id(client)
    assert (await client.post(f"/admin/inbox/{case}/resolve", headers=BEARER, allow_redirects=False)).status == 303
    question = next(body for body in await meta.wait_for_sent(3) if "quick_replies" in body["message"])
    replies = question["message"]["quick_replies"]
    assert [reply["title"] for reply in replies] == ["1 (bad)", "2", "3", "4", "5 (great)"]
    press = quick_reply(replies[4]["title"], replies[4]["payload"], platform=platform, mid=new_mid())
    for _ in range(2):  # Meta delivers the press again
        assert await meta_posts(client, platform, press) == 200
    assert await meta_posts(client, platform, text_message("How do I reset my password?", platform=platform)) == 200
    await until(lambda: any("password" in text.lower() for text in texts(meta.sent)), what="the next answer")
    assert texts(meta.sent).count("Thank you for your rating: 5 of 5.") == 1
    async with client.app[RUNTIME].sessionmaker() as session:
        assert (await session.execute(select(CaseRating.score))).scalars().all() == [5]


@pytest.fixture
async def messenger_hub(
    aiohttp_client: Callable[..., Any], make_settings: Callable[..., Settings]
) -> AsyncIterator[tuple[AppClient, FakeMessaging]]:
    """A hub on Messenger alone (the Send API's refusals are read alike on both platforms), marking
    nothing seen: the failures a test asks the fake for are the answer's."""
    fake = FakeMessaging("messenger")
    await fake.start()
    settings = make_settings(
        messenger=meta_settings(fake, "messenger", read_receipts=False, typing_indicator=False),
        outbox=OutboxSettings(poll_interval_s=0.2, backoff_base_s=0.2),
    )
    yield await aiohttp_client(create_app(settings)), fake
    await fake.stop()


async def test_metas_temporary_failure_is_retried_and_the_answer_sent_once(
    messenger_hub: tuple[AppClient, FakeMessaging],
) -> None:
    client, fake = messenger_hub
    fake.fail_next(1200, times=2)  # "Temporary send message failure. Please try again later."
    assert await meta_posts(client, "messenger", text_message("How do I reset my password?")) == 200
    (answer,) = await fake.wait_for_sent(1)
    assert "password" in answer["message"]["text"].lower()
    assert [call.code for call in fake.calls] == [1200, 1200, None]


async def test_a_customer_who_blocked_the_page_is_marked_unreachable_not_retried(
    messenger_hub: tuple[AppClient, FakeMessaging],
) -> None:
    client, fake = messenger_hub
    fake.fail_next(551)  # "This person isn't available right now."
    assert await meta_posts(client, "messenger", text_message("How do I reset my password?")) == 200

    async def unreachable() -> str | None:
        async with client.app[RUNTIME].sessionmaker() as session:
            return (await session.execute(select(Conversation.unreachable_reason))).scalars().first()

    reason = await until(unreachable, what="the conversation marked unreachable")
    assert "551" in reason and PAGE_ACCESS_TOKEN not in reason
    assert fake.sent == [] and await count(client, OutboxItem, OutboxItem.status == "dead") == 1


async def test_messengers_delivery_report_is_kept_on_the_reply(messenger_hub: tuple[AppClient, FakeMessaging]) -> None:
    client, fake = messenger_hub
    assert await meta_posts(client, "messenger", text_message("How do I reset my password?")) == 200
    await fake.wait_for_sent(1)

    async def reply_id() -> str | None:
        async with client.app[RUNTIME].sessionmaker() as session:
            return (await session.execute(select(OutboxItem.external_id))).scalars().first()

    sent_id = str(await until(reply_id, what="the reply's mid"))
    assert await meta_posts(client, "messenger", delivery([sent_id])) == 200
    async with client.app[RUNTIME].sessionmaker() as session:
        assert (await session.execute(select(OutboxItem.platform_status))).scalars().all() == ["delivered"]
