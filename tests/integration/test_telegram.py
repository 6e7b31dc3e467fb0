"""Telegram as a customer channel, end to end: the real app with python-telegram-bot, updates in
through the webhook (with its secret token) or through long polling, and every Bot API call
recorded by a local fake of Telegram."""

from __future__ import annotations

import asyncio
import itertools
import json
from collections.abc import Callable
from typing import Any

import pytest
from pydantic import SecretStr

from channels.slack.stand_in import FakeSlack
from channels.telegram.settings import TelegramSettings
from channels.telegram.stand_in import BOT_ID, BOT_TOKEN, FakeBotApi
from channels.telegram.stand_in_updates import group_message, private_message
from core.cli.server import RUNTIME, create_app
from core.settings import AttachmentSettings, LimitsSettings, OutboxSettings, Settings
from core.store.contacts import VERIFIED_PHONE
from core.store.db import Conversation, DeliveryStatus, Identity, Message, OutboxItem
from tests.app_client import AppClient
from tests.integration.app_db import count
from tests.integration.staff_desk_steps import desk_settings, staff_replies
from tests.settle import settled

SECRET = "webhook-secret_for-tests"
PUBLIC_URL = "https://hub.example.com"
_update_ids = itertools.count(1000)


def telegram_settings(api: str, *, webhook: bool = True, **extra: Any) -> TelegramSettings:
    if webhook:
        extra |= {"public_url": PUBLIC_URL, "webhook_secret": SecretStr(SECRET)}
    return TelegramSettings(bot_token=SecretStr(BOT_TOKEN), api_url=api, poll_timeout_s=1, **extra)


@pytest.fixture
def settings_for(make_settings: Callable[..., Settings], telegram: FakeBotApi) -> Callable[..., Settings]:
    def make(*, webhook: bool = True, **overrides: Any) -> Settings:
        return make_settings(
            telegram=telegram_settings(telegram.api_url, webhook=webhook),
            outbox=OutboxSettings(poll_interval_s=0.2, backoff_base_s=0.2),
            **overrides,
        )

    return make


@pytest.fixture
async def client(
    aiohttp_client: Callable[..., Any], settings_for: Callable[..., Settings], telegram: FakeBotApi
) -> AppClient:
    client: AppClient = await aiohttp_client(create_app(settings_for()))
    await telegram.wait_for_calls("getWebhookInfo", 1)  # connected: the bot knows who it is
    await ready(client)
    return client


async def ready(client: AppClient) -> None:
    """Until the webhook stops answering 503 (the channel connects in the background)."""
    async with asyncio.timeout(10):
        while (await client.post("/telegram/webhook", json={}, headers=secret())).status == 503:
            await asyncio.sleep(0.05)


def secret(value: str = SECRET) -> dict[str, str]:
    return {"X-Telegram-Bot-Api-Secret-Token": value}


def update(message_update: dict[str, Any]) -> dict[str, Any]:
    return {"update_id": next(_update_ids), **message_update}


async def deliver(client: AppClient, payload: dict[str, Any], *, token: str | None = SECRET) -> int:
    response = await client.post("/telegram/webhook", json=payload, headers=secret(token) if token else {})
    return response.status


async def test_a_private_question_is_answered_with_sources_and_the_follow_up_stays_in_it(
    client: AppClient, telegram: FakeBotApi
) -> None:
    assert await deliver(client, update(private_message("How do I reset my password?", message_id=1))) == 200
    (first,) = await telegram.wait_for_calls("sendMessage", 1)
    assert first.params["chat_id"] == "777" and first.params["parse_mode"] == "HTML"
    assert "password" in first.params["text"].lower() and "<b>Sources:</b>" in first.params["text"]
    assert telegram.calls_to("sendChatAction")  # "typing…" while it was prepared

    assert await deliver(client, update(private_message("and how do I invite a teammate?", message_id=2))) == 200
    second = (await telegram.wait_for_calls("sendMessage", 2))[1]
    assert "invit" in second.params["text"].lower()
    assert await count(client, Conversation) == 1 and await count(client, Message) == 4


async def test_the_webhook_is_registered_once_not_on_every_start(
    aiohttp_client: Callable[..., Any], settings_for: Callable[..., Settings], telegram: FakeBotApi
) -> None:
    first: AppClient = await aiohttp_client(create_app(settings_for()))
    await ready(first)
    (registered,) = telegram.calls_to("setWebhook")
    assert registered.params["url"] == f"{PUBLIC_URL}/telegram/webhook"
    assert registered.params["secret_token"] == SECRET and registered.params["allowed_updates"] == ["message"]
    await first.close()
    second: AppClient = await aiohttp_client(create_app(settings_for()))
    await telegram.wait_for_calls("getWebhookInfo", 2)
    await ready(second)
    assert len(telegram.calls_to("setWebhook")) == 1


async def test_a_redelivered_update_is_answered_once(client: AppClient, telegram: FakeBotApi) -> None:
    payload = update(private_message("How do I export my data?", user_id=801, message_id=7))
    for _ in range(3):
        assert await deliver(client, payload) == 200
    await telegram.wait_for_calls("sendMessage", 1)
    await settled(client.app[RUNTIME].sessionmaker)
    assert len(telegram.calls_to("sendMessage")) == 1 and await count(client, Message) == 2


async def test_a_missing_or_wrong_secret_is_403_and_nothing_is_stored(client: AppClient, telegram: FakeBotApi) -> None:
    payload = update(private_message("How do I reset my password?", user_id=802))
    assert await deliver(client, payload, token=None) == 403
    assert await deliver(client, payload, token="not-the-secret") == 403
    assert await deliver(client, payload, token=SECRET[:-1]) == 403
    assert await count(client, Message) == 0 and not telegram.calls_to("sendMessage")


async def test_a_bad_update_is_dropped_with_200_not_redelivered_forever(
    client: AppClient, telegram: FakeBotApi
) -> None:
    broken = {"update_id": next(_update_ids), "message": {"message_id": "x", "chat": "nope"}}
    far_future = update(private_message("hi", user_id=803)) | {"update_id": next(_update_ids)}
    far_future["message"] = far_future["message"] | {"date": 10**17}
    response = await client.post("/telegram/webhook", data=b"{not json", headers=secret())
    assert response.status == 200
    assert await deliver(client, broken) == 200
    assert await deliver(client, far_future) == 200
    assert await deliver(client, update(private_message("How do I reset my password?", user_id=803))) == 200
    await telegram.wait_for_calls("sendMessage", 1)  # the channel still works after them


async def test_a_body_larger_than_telegram_sends_is_413_and_nothing_is_stored(client: AppClient) -> None:
    response = await client.post("/telegram/webhook", data=b"x" * (1024 * 1024 + 1), headers=secret())
    assert response.status == 413 and await count(client, Message) == 0


async def test_an_update_arriving_in_pieces_is_read_whole(client: AppClient, telegram: FakeBotApi) -> None:
    question = "How do I reset my password? " + "I have tried everything, here is the whole story. " * 60
    body = json.dumps(update(private_message(question, user_id=814))).encode()
    reader, writer = await asyncio.open_connection(client.host, client.port)
    writer.write(
        b"POST /telegram/webhook HTTP/1.1\r\nHost: hub\r\nContent-Type: application/json\r\n"
        + f"X-Telegram-Bot-Api-Secret-Token: {SECRET}\r\nContent-Length: {len(body)}\r\n\r\n".encode()
    )
    writer.write(body[:1000])
    await writer.drain()
    await asyncio.sleep(0.3)  # the rest arrives later, as over a slow link
    writer.write(body[1000:])
    await writer.drain()
    status_line = await reader.readline()
    writer.close()
    assert b" 200 " in status_line
    (reply,) = await telegram.wait_for_calls("sendMessage", 1)
    assert reply.params["chat_id"] == "814"


async def test_a_file_telegram_cannot_hand_over_now_makes_it_deliver_the_update_again(
    client: AppClient, telegram: FakeBotApi
) -> None:
    telegram.add_file("DOC3", b"The app says BD-4012 when I add a teammate", file_path="documents/file_3.txt")
    document = {
        "file_id": "DOC3",
        "file_unique_id": "u3",
        "file_name": "log.txt",
        "mime_type": "text/plain",
        "file_size": 42,
    }
    payload = update(private_message(None, user_id=815, caption="see the log", document=document))
    telegram.fail_next("getFile", 502)
    assert await deliver(client, payload) == 503  # nothing stored: Telegram sends it again
    assert await count(client, Message) == 0
    assert await deliver(client, payload) == 200
    (reply,) = await telegram.wait_for_calls("sendMessage", 1)
    assert "I've read log.txt." in reply.params["text"]


async def test_in_a_group_only_messages_for_the_bot_are_answered_per_topic(
    client: AppClient, telegram: FakeBotApi
) -> None:
    chatter = update(group_message("anyone for lunch? how do I reset my password lol", message_id=10))
    for_other_bot = update(group_message("/help@some_other_bot", message_id=11))
    mention = update(
        group_message(
            "@supporthub_test_bot how do I reset my password?",
            message_id=12,
            forum=True,
            message_thread_id=42,
            is_topic_message=True,
        )
    )
    for payload in (chatter, for_other_bot, mention):
        assert await deliver(client, payload) == 200
    (reply,) = await telegram.wait_for_calls("sendMessage", 1)
    assert reply.params["chat_id"] == "-100123" and reply.params["message_thread_id"] == "42"
    assert "password" in reply.params["text"].lower()
    await settled(client.app[RUNTIME].sessionmaker)
    assert len(telegram.calls_to("sendMessage")) == 1 and await count(client, Message) == 2

    replying = update(
        group_message(
            "and how do I invite a teammate?",
            message_id=13,
            forum=True,
            message_thread_id=42,
            is_topic_message=True,
            reply_to_message={
                "message_id": int(reply.response["result"]["message_id"]),
                "date": 1,
                "chat": {"id": -100123, "type": "supergroup"},
                "from": {"id": BOT_ID, "is_bot": True, "first_name": "Help"},
            },
        )
    )
    assert await deliver(client, replying) == 200
    await telegram.wait_for_calls("sendMessage", 2)
    assert await count(client, Conversation) == 1  # one conversation per topic


async def test_edits_channel_posts_service_messages_and_bots_are_ignored(
    client: AppClient, telegram: FakeBotApi
) -> None:
    question = private_message("How do I reset my password?", user_id=811, message_id=1)["message"]
    bot_user = {"id": 999, "is_bot": True, "first_name": "OtherBot", "username": "other_bot"}
    ignored = [
        {"edited_message": question | {"edit_date": 1}},
        {
            "channel_post": {
                "message_id": 5,
                "date": 1,
                "chat": {"id": -100999, "type": "channel", "title": "News"},
                "text": "How do I reset my password?",
            }
        },
        {"message": question | {"message_id": 2, "from": bot_user}},
        {"message": question | {"message_id": 3, "text": None, "new_chat_members": [bot_user]}},
    ]
    for payload in ignored:
        assert await deliver(client, update(payload)) == 200
    assert await deliver(client, update(private_message("How do I export my data?", user_id=812))) == 200
    (reply,) = await telegram.wait_for_calls("sendMessage", 1)  # the probe after them
    await settled(client.app[RUNTIME].sessionmaker)
    assert reply.params["chat_id"] == "812" and len(telegram.calls_to("sendMessage")) == 1
    assert await count(client, Message) == 2


async def test_a_sender_over_the_limit_is_dropped_and_telegram_hears_200(
    aiohttp_client: Callable[..., Any], settings_for: Callable[..., Settings], telegram: FakeBotApi
) -> None:
    client: AppClient = await aiohttp_client(create_app(settings_for(limits=LimitsSettings(per_contact="2/minute"))))
    await ready(client)
    for message_id in (1, 2, 3):
        payload = update(private_message("How do I reset my password?", user_id=813, message_id=message_id))
        assert await deliver(client, payload) == 200
    await telegram.wait_for_calls("sendMessage", 2)
    await settled(client.app[RUNTIME].sessionmaker)
    assert await count(client, Message, Message.external_id == "813:3") == 0
    assert len(telegram.calls_to("sendMessage")) == 2


async def test_a_rate_limited_reply_waits_for_retry_after(client: AppClient, telegram: FakeBotApi) -> None:
    telegram.fail_next("sendMessage", 429, retry_after=1)
    assert await deliver(client, update(private_message("How do I reset my password?", user_id=804))) == 200
    attempts = await telegram.wait_for_calls("sendMessage", 2, ok_only=False, timeout=15)
    assert attempts[0].status == 429 and attempts[1].status == 200
    refused, delivered = (c for c in telegram.calls if c.method == "sendMessage")
    assert delivered.at - refused.at >= 0.9  # the outbox waited as Telegram asked


async def test_a_user_who_blocked_the_bot_is_not_retried_until_they_write_again(
    client: AppClient, telegram: FakeBotApi
) -> None:
    telegram.fail_next("sendMessage", 403)
    assert await deliver(client, update(private_message("How do I reset my password?", user_id=805))) == 200
    await settled(client.app[RUNTIME].sessionmaker)
    assert len(telegram.calls_to("sendMessage")) == 1  # one attempt, no retries
    assert (
        await count(
            client, OutboxItem, OutboxItem.status == DeliveryStatus.DEAD, OutboxItem.last_error.contains("blocked")
        )
        == 1
    )
    assert await count(client, Conversation, Conversation.unreachable_reason.is_not(None)) == 1

    assert await deliver(client, update(private_message("How do I export my data?", user_id=805, message_id=2))) == 200
    (_, answer) = await telegram.wait_for_calls("sendMessage", 2, ok_only=False)
    assert answer.status == 200 and "export" in answer.params["text"].lower()


async def test_a_document_is_read_and_one_over_the_limit_is_refused_politely(
    aiohttp_client: Callable[..., Any], settings_for: Callable[..., Settings], telegram: FakeBotApi
) -> None:
    client: AppClient = await aiohttp_client(create_app(settings_for(attachments=AttachmentSettings(max_bytes=1000))))
    await ready(client)
    telegram.add_file("DOC1", b"The app says BD-4012 when I add a teammate", file_path="documents/file_1.txt")
    document = {
        "file_id": "DOC1",
        "file_unique_id": "u1",
        "file_name": "error-log.txt",
        "mime_type": "text/plain",
        "file_size": 42,
    }
    assert (
        await deliver(client, update(private_message(None, user_id=806, caption="see the log", document=document)))
        == 200
    )
    (read,) = await telegram.wait_for_calls("sendMessage", 1)
    assert "I've read error-log.txt." in read.params["text"]
    assert telegram.downloads[0].token_ok

    telegram.add_file("DOC2", b"x" * 5000, file_path="documents/file_2.pdf")
    large = {
        "file_id": "DOC2",
        "file_unique_id": "u2",
        "file_name": "scan.pdf",
        "mime_type": "application/pdf",
        "file_size": 5000,
    }
    assert await deliver(client, update(private_message(None, user_id=806, message_id=2, document=large))) == 200
    refused = (await telegram.wait_for_calls("sendMessage", 2))[1]
    assert "scan.pdf" in refused.params["text"] and "limit" in refused.params["text"]
    assert len(telegram.downloads) == 1  # the large one was never fetched


async def test_start_help_and_a_sticker_get_fixed_answers_and_nothing_is_stored(
    client: AppClient, telegram: FakeBotApi
) -> None:
    sticker = {
        "file_id": "S1",
        "file_unique_id": "s1",
        "type": "regular",
        "width": 512,
        "height": 512,
        "is_animated": False,
        "is_video": False,
    }
    assert await deliver(client, update(private_message("/start", user_id=807, message_id=1))) == 200
    assert await deliver(client, update(private_message(None, user_id=807, message_id=2, sticker=sticker))) == 200
    assert await deliver(client, update(private_message("/help", user_id=807, message_id=3))) == 200
    welcome, polite, help_text = (c.params["text"] for c in await telegram.wait_for_calls("sendMessage", 3))
    assert welcome == TelegramSettings().welcome and "sticker" in polite and "/human" in help_text
    assert await count(client, Message) == 0


async def test_a_contact_shared_about_oneself_is_a_verified_phone(client: AppClient, telegram: FakeBotApi) -> None:
    contact = {"phone_number": "4915112345678", "first_name": "Ana", "user_id": 808}
    assert await deliver(client, update(private_message(None, user_id=808, contact=contact))) == 200
    await telegram.wait_for_calls("sendMessage", 1)
    assert (
        await count(client, Identity, Identity.channel == VERIFIED_PHONE, Identity.external_user_id == "+4915112345678")
        == 1
    )


async def test_a_second_number_shared_by_the_same_person_is_kept_unverified(
    client: AppClient, telegram: FakeBotApi
) -> None:
    """A contact already holds a verified phone: a second one is never added to it (it could be
    someone else's), and the message sharing it is still stored and answered."""
    first = {"phone_number": "4915112345678", "first_name": "Ana", "user_id": 808}
    second = {"phone_number": "4915187654321", "first_name": "Ana", "user_id": 808}
    assert await deliver(client, update(private_message(None, user_id=808, contact=first))) == 200
    await telegram.wait_for_calls("sendMessage", 1)
    assert await deliver(client, update(private_message(None, user_id=808, message_id=2, contact=second))) == 200
    await telegram.wait_for_calls("sendMessage", 2)
    await settled(client.app[RUNTIME].sessionmaker)
    assert await count(client, Message, Message.author == "customer") == 2
    assert (
        await count(client, Identity, Identity.channel == VERIFIED_PHONE, Identity.external_user_id == "+4915187654321")
        == 0
    )


@pytest.fixture
async def desk_client(
    aiohttp_client: Callable[..., Any], settings_for: Callable[..., Settings], slack: FakeSlack
) -> AppClient:
    client: AppClient = await aiohttp_client(create_app(settings_for(slack=desk_settings(slack))))
    await ready(client)
    return client


async def test_human_opens_a_case_and_the_staff_reply_from_slack_reaches_telegram(
    desk_client: AppClient, telegram: FakeBotApi, slack: FakeSlack
) -> None:
    assert await deliver(desk_client, update(private_message("/human my invoice is wrong", user_id=809))) == 200
    (offer,) = await telegram.wait_for_calls("sendMessage", 1)
    assert "person" in offer.params["text"]
    card = await staff_replies(
        desk_client, slack, "Hi, Sam here: I've corrected the invoice & resent it.", ts="1700000100.000100"
    )
    assert "The customer asked for a person." in json.dumps(card.body["blocks"])
    staff = (await telegram.wait_for_calls("sendMessage", 2))[1]
    assert staff.params["chat_id"] == "809"
    assert staff.params["text"] == "Hi, Sam here: I've corrected the invoice &amp; resent it."


async def test_polling_answers_and_a_restart_neither_loses_nor_repeats_an_update(
    aiohttp_client: Callable[..., Any], settings_for: Callable[..., Settings], telegram: FakeBotApi
) -> None:
    first_update = telegram.push_update(private_message("How do I reset my password?", user_id=810, message_id=1))
    first: AppClient = await aiohttp_client(create_app(settings_for(webhook=False)))
    (answer,) = await telegram.wait_for_calls("sendMessage", 1)
    assert "password" in answer.params["text"].lower()
    await settled(first.app[RUNTIME].sessionmaker)
    await first.close()

    telegram.push_update(private_message("How do I export my data?", user_id=810, message_id=2))
    before_restart = len(telegram.calls)
    second: AppClient = await aiohttp_client(create_app(settings_for(webhook=False)))
    texts = [c.params["text"] for c in await telegram.wait_for_calls("sendMessage", 2)]
    assert "export" in texts[1].lower()
    resumed = next(c for c in telegram.calls[before_restart:] if c.method == "getUpdates")
    assert resumed.params["offset"] == str(first_update + 1)  # from the database, not from scratch
    await settled(second.app[RUNTIME].sessionmaker)
    assert len(telegram.calls_to("sendMessage")) == 2 and await count(second, Message) == 4
    assert not telegram.calls_to("setWebhook")
