"""Slack as a customer channel, end to end: the real app with slack-bolt and slack-sdk, signed
event requests in, the Web API calls recorded by a local fake of Slack out."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import time
from collections.abc import Callable
from typing import Any

import pytest
from pydantic import SecretStr
from sqlalchemy import func, select

from channels.slack.settings import SlackSettings
from channels.slack.stand_in import BOT_TOKEN, BOT_USER_ID, FakeSlack
from channels.slack.stand_in_events import app_mention_event, block_action, message_event, signed_headers
from core.cli.server import RUNTIME, create_app
from core.settings import OutboxSettings, Settings
from core.store.case_tables import CaseRating
from core.store.db import Message
from tests.app_client import AppClient
from tests.settle import settled, until

SECRET = "signing-secret-for-tests"
CUSTOMER_CHANNEL = "C0CUSTOMER"
STAFF_CHANNEL = "C0STAFF"


@pytest.fixture
async def client(
    aiohttp_client: Callable[..., Any], make_settings: Callable[..., Settings], slack: FakeSlack
) -> AppClient:
    settings = make_settings(
        slack=SlackSettings(
            bot_token=SecretStr(BOT_TOKEN),
            signing_secret=SecretStr(SECRET),
            api_url=slack.base_url,
            customer_channels=[CUSTOMER_CHANNEL],
            staff_channel=STAFF_CHANNEL,
        ),
        outbox=OutboxSettings(poll_interval_s=0.2, backoff_base_s=0.2),
    )
    return await aiohttp_client(create_app(settings))  # type: ignore[no-any-return]


async def post_event(client: AppClient, payload: dict[str, Any], **header_options: Any) -> int:
    body = json.dumps(payload)
    response = await client.post("/slack/events", data=body, headers=signed_headers(SECRET, body, **header_options))
    return response.status


async def posted(slack: FakeSlack, count: int, *, timeout: float = 30) -> list[dict[str, Any]]:
    """The bodies of the bot's chat.postMessage calls, once there are `count` of them."""
    async with asyncio.timeout(timeout):
        while len(calls := slack.calls("chat.postMessage")) < count:
            await asyncio.sleep(0.05)
    return calls


async def stored_messages(client: AppClient) -> int:
    async with client.app[RUNTIME].sessionmaker() as session:
        return (await session.execute(select(func.count()).select_from(Message))).scalar_one()


async def test_a_dm_gets_a_cited_answer(client: AppClient, slack: FakeSlack) -> None:
    event = message_event(channel="D0ALICE", user="U0ALICE", text="How do I reset my password?", ts="1700000001.000100")
    assert await post_event(client, event) == 200
    (reply,) = await posted(slack, 1)
    assert reply["channel"] == "D0ALICE" and not reply.get("thread_ts")
    blocks = json.loads(reply["blocks"]) if isinstance(reply["blocks"], str) else reply["blocks"]
    text = "\n".join(b["text"]["text"] for b in blocks)
    assert "password" in text.lower() and "*Sources:*" in text and "_Reset your password" in text


async def test_a_mention_is_answered_in_its_thread_and_the_thread_continues(
    client: AppClient, slack: FakeSlack
) -> None:
    root = "1700000002.000100"
    mention = app_mention_event(
        channel=CUSTOMER_CHANNEL, user="U0BOB", text=f"<@{BOT_USER_ID}> can I pay by invoice?", ts=root
    )
    also_as_message = message_event(
        channel=CUSTOMER_CHANNEL,
        user="U0BOB",
        text=f"<@{BOT_USER_ID}> can I pay by invoice?",
        ts=root,
        channel_type="channel",
    )
    assert await post_event(client, mention) == 200
    assert await post_event(client, also_as_message) == 200  # Slack sends both for one post
    first = await posted(slack, 1)
    assert first[0]["channel"] == CUSTOMER_CHANNEL and first[0]["thread_ts"] == root

    follow_up = message_event(
        channel=CUSTOMER_CHANNEL,
        user="U0BOB",
        text="how do I invite a teammate?",
        ts="1700000002.000500",
        thread_ts=root,
        channel_type="channel",
    )
    assert await post_event(client, follow_up) == 200
    second = await posted(slack, 2)
    assert second[1]["thread_ts"] == root  # the thread root, never the child's ts
    await settled(client.app[RUNTIME].sessionmaker)
    assert slack.received_request_count("chat.postMessage") == 2 and await stored_messages(client) == 4


async def test_slack_retries_and_repeated_events_give_one_reply(client: AppClient, slack: FakeSlack) -> None:
    event = message_event(channel="D0CAROL", user="U0CAROL", text="How do I export my data?", ts="1700000003.000100")
    assert await post_event(client, event) == 200
    assert await post_event(client, event, retry_num=1) == 200
    assert await post_event(client, event, retry_num=2) == 200
    await posted(slack, 1)
    await settled(client.app[RUNTIME].sessionmaker)
    assert slack.received_request_count("chat.postMessage") == 1 and await stored_messages(client) == 2


async def test_bad_or_stale_signatures_get_401_and_do_nothing(client: AppClient, slack: FakeSlack) -> None:
    body = json.dumps(message_event(channel="D0EVE", user="U0EVE", text="hi", ts="1700000004.000100"))
    forged = signed_headers("not-the-secret", body)
    stale = signed_headers(SECRET, body, timestamp=int(time.time()) - 600)
    assert (await client.post("/slack/events", data=body, headers=forged)).status == 401
    assert (await client.post("/slack/events", data=body, headers=stale)).status == 401
    assert await stored_messages(client) == 0  # refused before anything was stored
    assert slack.received_request_count("chat.postMessage") == 0


async def test_staff_channel_bots_and_our_own_messages_are_never_answered(client: AppClient, slack: FakeSlack) -> None:
    events = [
        message_event(
            channel=STAFF_CHANNEL,
            user="U0STAFF",
            text="How do I reset my password?",
            ts="1700000005.000100",
            channel_type="channel",
        ),
        app_mention_event(channel=STAFF_CHANNEL, user="U0STAFF", text=f"<@{BOT_USER_ID}> help", ts="1700000005.000200"),
        message_event(
            channel="D0X",
            user="U0OTHER",
            text="How do I reset my password?",
            ts="1700000005.000300",
            bot_id="B0OTHER",
            subtype="bot_message",
        ),
        message_event(channel="D0X", user=BOT_USER_ID, text="Here's what our help centre says", ts="1700000005.000400"),
        message_event(
            channel=CUSTOMER_CHANNEL, user="U0DAN", text="lunch?", ts="1700000005.000500", channel_type="channel"
        ),
    ]
    for event in events:
        assert await post_event(client, event) == 200
    # A customer's DM after them: once it is answered, the events before it were handled too.
    probe = message_event(channel="D0PROBE", user="U0PROBE", text="How do I reset my password?", ts="1700000005.000600")
    assert await post_event(client, probe) == 200
    (reply,) = await posted(slack, 1)
    await settled(client.app[RUNTIME].sessionmaker)
    assert reply["channel"] == "D0PROBE" and slack.received_request_count("chat.postMessage") == 1
    assert await stored_messages(client) == 2  # the probe and its answer


async def test_a_shared_file_is_downloaded_with_the_bot_token_and_read(client: AppClient, slack: FakeSlack) -> None:
    file = slack.add_file("error-log.txt", b"The app says BD-4012 when I add a teammate", "text/plain")
    event = message_event(channel="D0FRAN", user="U0FRAN", text="see the log", ts="1700000006.000100", files=[file])
    assert await post_event(client, event) == 200
    (reply,) = await posted(slack, 1)
    assert [d.served for d in slack.downloads] == [True]
    assert slack.downloads[0].headers["Authorization"] == f"Bearer {BOT_TOKEN}"
    assert "I've read error-log.txt." in reply["text"] and "BD-4012" in reply["text"]


async def test_slack_hears_200_before_a_slow_file_is_downloaded_once(client: AppClient, slack: FakeSlack) -> None:
    file = slack.add_file("screenshot.txt", b"Error BD-4012 when I add a teammate", "text/plain")
    event = message_event(channel="D0IDA", user="U0IDA", text="see the file", ts="1700000009.000100", files=[file])
    slack.download_gate.clear()  # the file host is slow today
    async with asyncio.timeout(5):  # well within Slack's 3-second deadline on a fast machine
        assert await post_event(client, event) == 200
        while not slack.downloads:
            await asyncio.sleep(0.01)
        assert await post_event(client, event, retry_num=1) == 200  # Slack tries again meanwhile
    slack.download_gate.set()
    (reply,) = await posted(slack, 1)
    await settled(client.app[RUNTIME].sessionmaker)
    assert "I've read screenshot.txt." in reply["text"]
    assert len(slack.downloads) == 1 and slack.received_request_count("chat.postMessage") == 1


async def test_a_rate_limited_reply_is_sent_after_retry_after(client: AppClient, slack: FakeSlack) -> None:
    slack.fail_next("chat.postMessage", status=429, retry_after=1)
    started = time.monotonic()
    event = message_event(channel="D0GUS", user="U0GUS", text="How do I reset my password?", ts="1700000007.000100")
    assert await post_event(client, event) == 200
    refused, sent = await posted(slack, 2)  # the 429, then the reply
    assert time.monotonic() - started >= 1.0
    assert sent["channel"] == refused["channel"] == "D0GUS" and sent["text"] == refused["text"]


async def test_a_file_over_the_limit_is_refused_without_reading_all_of_it(client: AppClient, slack: FakeSlack) -> None:
    file = slack.add_file("huge.txt", b"x" * (10 * 1024 * 1024 + 5000), "text/plain")
    event = message_event(
        channel="D0HAL", user="U0HAL", text="How do I reset my password?", ts="1700000008.000100", files=[file]
    )
    assert await post_event(client, event) == 200
    (reply,) = await posted(slack, 1)
    assert "huge.txt" in reply["text"] and "over the 10 MB limit" in reply["text"]
    assert "password" in reply["text"].lower()  # the question is still answered


UNSIGNED_MALFORMED = [
    b'{"type": "event_callback", "event": {',
    b"[1, 2, 3]",
    b"\xff\xfe{not utf-8}",
    b"payload=%7Bnot-json",
]


@pytest.mark.parametrize("body", UNSIGNED_MALFORMED)
async def test_an_unsigned_malformed_body_is_401_and_never_logged(
    client: AppClient, body: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    headers = {"Content-Type": "application/json", "X-Slack-Request-Timestamp": "abc", "X-Slack-Signature": "v0=00"}
    caplog.set_level("DEBUG")
    response = await client.post("/slack/events", data=body, headers=headers)
    assert response.status == 401
    assert "not signed" in (await response.json())["error"]
    assert body.decode("utf-8", "replace") not in caplog.text


@pytest.mark.parametrize(
    "body", [b'{"type": "event_callback", "event": {', b"[1, 2, 3]", b'"text"', b"payload=%7Bnot-json"]
)
async def test_a_signed_malformed_body_is_a_4xx_not_a_crash(client: AppClient, body: bytes) -> None:
    headers = signed_headers(SECRET, body.decode())
    response = await client.post("/slack/events", data=body, headers=headers)
    assert 400 <= response.status < 500


async def test_a_signed_body_that_is_not_utf8_is_400(client: AppClient) -> None:
    body = b'{"type": "event_callback", "text": "\xff"}'
    timestamp = str(int(time.time()))
    signature = "v0=" + hmac.new(SECRET.encode(), f"v0:{timestamp}:".encode() + body, hashlib.sha256).hexdigest()
    headers = {
        "Content-Type": "application/json",
        "X-Slack-Request-Timestamp": timestamp,
        "X-Slack-Signature": signature,
    }
    response = await client.post("/slack/events", data=body, headers=headers)
    assert response.status == 400 and "UTF-8" in (await response.json())["error"]


async def test_a_body_larger_than_slack_sends_is_413_and_never_logged(
    client: AppClient, caplog: pytest.LogCaptureFixture
) -> None:
    body = json.dumps(message_event(channel="D0BIG", user="U0BIG", text="x" * 600_000, ts="1700000009.000100"))
    caplog.set_level("DEBUG")
    response = await client.post("/slack/events", data=body, headers=signed_headers(SECRET, body))
    assert response.status == 413
    assert "x" * 100 not in caplog.text
    event = message_event(channel="D0BIG", user="U0BIG", text="How do I reset my password?", ts="1700000009.000200")
    assert await post_event(client, event) == 200  # the endpoint still answers


async def test_in_socket_mode_nothing_listens_for_unsigned_http_events(
    aiohttp_client: Callable[..., Any], make_settings: Callable[..., Settings], slack: FakeSlack
) -> None:
    """Socket Mode turns request verification off, so the HTTP endpoint must not exist at all."""
    slack_settings = SlackSettings(
        bot_token=SecretStr(BOT_TOKEN), app_token=SecretStr("xapp-test"), socket_mode=True, api_url=slack.base_url
    )
    app = create_app(make_settings(slack=slack_settings))
    assert not [
        route for route in app.router.routes() if route.resource and route.resource.canonical == "/slack/events"
    ]


async def test_a_resolved_dm_gets_the_survey_as_buttons_and_a_click_is_kept_once(
    client: AppClient, slack: FakeSlack
) -> None:
    ask = message_event(channel="D0GIL", user="U0GIL", text="I want to talk to a human please", ts="1700000009.000100")
    assert await post_event(client, ask) == 200
    card = await until(lambda: next((c for c in slack.requests if c.body.get("channel") == STAFF_CHANNEL), None))
    case_id = json.dumps(card.body["blocks"]).split('"value": "')[1].split('"')[0]
    resolve = block_action(
        action_id="case_resolve", value=case_id, user="U0SAM", channel=STAFF_CHANNEL, message_ts=card.response["ts"]
    )
    assert (await client.post("/slack/events", data=resolve, headers=signed_headers(SECRET, resolve))).status == 200

    def survey_post() -> Any:
        return next((c for c in slack.requests if "survey_1" in json.dumps(c.body.get("blocks") or "")), None)

    question = await until(survey_post)
    assert question.body["channel"] == "D0GIL"
    blocks = (
        json.loads(question.body["blocks"]) if isinstance(question.body["blocks"], str) else question.body["blocks"]
    )
    buttons = blocks[-1]["elements"]
    assert [b["text"]["text"] for b in buttons] == ["1 (bad)", "2", "3", "4", "5 (great)"]

    def click(score: int) -> str:
        return block_action(
            action_id=f"survey_{score}",
            value=buttons[score - 1]["value"],
            user="U0GIL",
            channel="D0GIL",
            message_ts=question.response["ts"],
            block_id="survey",
            blocks=blocks,
        )

    for score in (4, 2):  # the second click finds the survey answered
        body = click(score)
        assert (await client.post("/slack/events", data=body, headers=signed_headers(SECRET, body))).status == 200
    updates = [c.body for c in slack.requests if c.method == "chat.update" and c.body["channel"] == "D0GIL"]
    shown = [json.dumps(u["blocks"]) for u in updates]
    assert "Thank you for your rating: 4 of 5." in shown[0] and "survey_1" not in shown[0]
    assert "This survey is closed." in shown[1]
    async with client.app[RUNTIME].sessionmaker() as session:
        rows = (await session.execute(select(CaseRating.staff, CaseRating.channel, CaseRating.score))).all()
    assert [tuple(row) for row in rows] == [("U0SAM", "slack", 4)]
