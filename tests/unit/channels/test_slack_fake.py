"""The Slack fakes themselves: the real `AsyncWebClient` against `FakeSlack`, and the event
builders through a real Bolt app, so channel tests can trust what they stand on."""

from __future__ import annotations

import json
from typing import Any

import aiohttp
import pytest
from slack_bolt.async_app import AsyncApp
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_sdk.errors import SlackApiError
from slack_sdk.signature import SignatureVerifier
from slack_sdk.web.async_client import AsyncWebClient

from channels.slack.stand_in import BOT_TOKEN, BOT_USER_ID, TEAM_ID, FakeSlack
from channels.slack.stand_in_events import block_action, message_event, signed_headers

SECRET = "signing-secret"


@pytest.fixture
def client(slack: FakeSlack) -> AsyncWebClient:
    return AsyncWebClient(token=BOT_TOKEN, base_url=slack.base_url, retry_handlers=[])


async def test_auth_test_names_the_bot_and_records_the_bearer_token(slack: FakeSlack, client: AsyncWebClient) -> None:
    response = await client.auth_test()

    assert (response["team_id"], response["user_id"], response["bot_id"]) == (TEAM_ID, BOT_USER_ID, "BBOT")
    assert slack.requests[0].headers["authorization"] == f"Bearer {BOT_TOKEN}"


async def test_post_message_records_the_arguments_and_hands_out_increasing_ts(
    slack: FakeSlack, client: AsyncWebClient
) -> None:
    first = await client.chat_postMessage(channel="C1", text="hello", thread_ts="1699999999.000001")
    second = await client.chat_postMessage(channel="C1", text="again")

    assert slack.calls("chat.postMessage") == [
        {"channel": "C1", "text": "hello", "thread_ts": "1699999999.000001"},
        {"channel": "C1", "text": "again"},
    ]
    assert first["message"]["thread_ts"] == "1699999999.000001"
    assert float(first["ts"]) < float(second["ts"])
    updated = await client.chat_update(channel="C1", ts=second["ts"], text="edited")
    assert updated["message"]["text"] == "edited"


async def test_users_info_returns_the_configured_user(slack: FakeSlack, client: AsyncWebClient) -> None:
    slack.users["U1"] = {"real_name": "Ada Lovelace", "profile": {"email": "ada@example.com"}}

    user = (await client.users_info(user="U1"))["user"]

    assert (user["real_name"], user["profile"]["email"]) == ("Ada Lovelace", "ada@example.com")
    with pytest.raises(SlackApiError) as raised:
        await client.users_info(user="U404")
    assert raised.value.response["error"] == "user_not_found"


@pytest.mark.parametrize(("status", "error"), [(429, "ratelimited"), (500, "internal_error")])
async def test_a_scripted_failure_fails_once(slack: FakeSlack, client: AsyncWebClient, status: int, error: str) -> None:
    slack.fail_next("chat.postMessage", status=status, retry_after=1)

    with pytest.raises(SlackApiError) as raised:
        await client.chat_postMessage(channel="C1", text="hello")

    assert raised.value.response.status_code == status
    assert raised.value.response["error"] == error
    assert raised.value.response.headers["Retry-After"] == "1"
    await client.chat_postMessage(channel="C1", text="hello")
    assert slack.received_request_count("chat.postMessage") == 2
    assert [call.status for call in slack.requests] == [status, 200]
    assert slack.delivered("chat.postMessage") == [{"channel": "C1", "text": "hello"}]


@pytest.mark.parametrize(("token", "error"), [("xoxb-wrong", "invalid_auth"), (None, "not_authed")])
async def test_a_bad_token_is_refused(slack: FakeSlack, token: str | None, error: str) -> None:
    with pytest.raises(SlackApiError) as raised:
        await AsyncWebClient(token=token, base_url=slack.base_url, retry_handlers=[]).auth_test()

    assert raised.value.response["error"] == error


async def test_unknown_methods_are_refused(client: AsyncWebClient) -> None:
    with pytest.raises(SlackApiError) as raised:
        await client.api_call("chat.teleport", json={"channel": "C1"})

    assert raised.value.response["error"] == "unknown_method"


@pytest.mark.parametrize(
    ("headers", "status", "content_type"),
    [({"Authorization": f"Bearer {BOT_TOKEN}"}, 200, "application/pdf"), ({}, 403, "text/html")],
)
async def test_files_are_served_to_the_bot_token_only(
    slack: FakeSlack, headers: dict[str, str], status: int, content_type: str
) -> None:
    file = slack.add_file("invoice.pdf", b"%PDF-1.7 fake", "application/pdf")

    async with (
        aiohttp.ClientSession() as session,
        session.get(file["url_private_download"], headers=headers) as response,
    ):
        body = await response.read()

    assert (response.status, response.content_type) == (status, content_type)
    assert (body == b"%PDF-1.7 fake") is (status == 200)
    assert [(download.file_id, download.authorized, download.served) for download in slack.downloads] == [
        (file["id"], status == 200, status == 200)
    ]


def test_signed_headers_verify() -> None:
    body = json.dumps(message_event(channel="D1", user="U1", text="hi", ts="1700000001.000100"))
    headers = signed_headers(SECRET, body)

    assert SignatureVerifier(SECRET).is_valid(
        body=body, timestamp=headers["X-Slack-Request-Timestamp"], signature=headers["X-Slack-Signature"]
    )
    assert not SignatureVerifier("other-secret").is_valid(
        body=body, timestamp=headers["X-Slack-Request-Timestamp"], signature=headers["X-Slack-Signature"]
    )


async def test_bolt_accepts_the_built_payloads(slack: FakeSlack, client: AsyncWebClient) -> None:
    app = AsyncApp(signing_secret=SECRET, client=client, process_before_response=True)
    seen: list[tuple[str, Any]] = []

    @app.message()
    async def on_message(message: dict[str, Any]) -> None:
        seen.append(("message", (message["channel"], message["thread_ts"], message["text"])))

    @app.action("escalate")
    async def on_action(ack: Any, body: dict[str, Any]) -> None:
        await ack()
        seen.append(("action", (body["container"]["thread_ts"], body["actions"][0]["value"])))

    thread = "1700000001.000100"
    event = json.dumps(
        message_event(
            channel="C1", user="U1", text="hi", ts="1700000001.000200", thread_ts=thread, channel_type="channel"
        )
    )
    action = block_action(
        action_id="escalate", value="T-42", user="U1", channel="C1", message_ts="1700000001.000300", thread_ts=thread
    )
    for body in (event, action):
        response = await app.async_dispatch(AsyncBoltRequest(body=body, headers=dict(signed_headers(SECRET, body))))
        assert response.status == 200

    assert seen == [("message", ("C1", thread, "hi")), ("action", (thread, "T-42"))]
    assert slack.received_request_count("auth.test") == 1
