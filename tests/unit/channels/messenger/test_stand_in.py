"""The Messenger Platform fake itself, driven over HTTP with aiohttp, so the channel's tests can
trust what it accepts, refuses and records, and that its webhooks verify as Meta's do."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from channels.messenger.stand_in import (
    APP_SECRET,
    CUSTOMER_PSID,
    GRAPH_VERSION,
    IG_ACCOUNT_ID,
    IG_USERNAME,
    PAGE_ACCESS_TOKEN,
    PAGE_ID,
    FakeMessaging,
    combined,
    deliver,
    read,
    text_message,
)
from core.sandbox.stand_in import StandIn

AUTH = {"Authorization": f"Bearer {PAGE_ACCESS_TOKEN}"}


@pytest.fixture
async def fake() -> AsyncIterator[FakeMessaging]:
    api = FakeMessaging()
    await api.start()
    yield api
    await api.stop()


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


def _message(text: str = "Your order #42 ships today.", **extra: Any) -> dict[str, Any]:
    return {"recipient": {"id": CUSTOMER_PSID}, "messaging_type": "RESPONSE", "message": {"text": text}} | extra


async def _post(
    http: aiohttp.ClientSession, fake: FakeMessaging, body: dict[str, Any], headers: dict[str, str] | None = None
) -> tuple[int, dict[str, Any]]:
    url = f"{fake.api_url}/{GRAPH_VERSION}/{fake.account_id}/messages"
    token = {"Authorization": f"Bearer {fake.access_token}"}
    async with http.post(url, json=body, headers=token if headers is None else headers) as response:
        return response.status, await response.json()


async def test_a_message_is_accepted_and_recorded(fake: FakeMessaging, http: aiohttp.ClientSession) -> None:
    body = _message(
        message={
            "text": "Which size?",
            "quick_replies": [
                {"content_type": "text", "title": "Small", "payload": "SIZE_S"},
                {"content_type": "text", "title": "Large", "payload": "SIZE_L"},
            ],
        }
    )

    status, answer = await _post(http, fake, body)

    assert status == 200
    assert answer["recipient_id"] == CUSTOMER_PSID
    assert answer["message_id"].startswith("m_")
    assert fake.sent == [body]
    [call] = fake.calls
    assert (call.method, call.path, call.status, call.authorized) == (
        "POST",
        f"/{GRAPH_VERSION}/{PAGE_ID}/messages",
        200,
        True,
    )


async def test_a_sender_action_is_kept_apart(fake: FakeMessaging, http: aiohttp.ClientSession) -> None:
    action = {"recipient": {"id": CUSTOMER_PSID}, "sender_action": "typing_on"}

    assert await _post(http, fake, action) == (200, {"recipient_id": CUSTOMER_PSID})
    assert (await fake.wait_for_actions(1, timeout=1), fake.sent) == ([action], [])


async def test_without_the_token_it_answers_401_code_190(fake: FakeMessaging, http: aiohttp.ClientSession) -> None:
    for headers in ({}, {"Authorization": "Bearer EAAnotthetoken"}):
        status, answer = await _post(http, fake, _message(), headers)

        assert status == 401
        assert answer["error"]["code"] == 190
        assert answer["error"]["message"] == "Invalid OAuth access token."
        assert answer["error"]["type"] == "OAuthException"
    assert fake.sent == []
    assert [(call.status, call.authorized) for call in fake.calls] == [(401, False), (401, False)]


@pytest.mark.parametrize(("platform", "limit"), [("messenger", 2000), ("instagram", 1000)])
async def test_a_text_over_the_platforms_limit_is_refused(
    platform: str, limit: int, http: aiohttp.ClientSession
) -> None:
    fake = FakeMessaging(platform)
    await fake.start()
    try:
        assert (await _post(http, fake, _message("x" * limit)))[0] == 200
        status, answer = await _post(http, fake, _message("x" * (limit + 1)))
    finally:
        await fake.stop()

    assert status == 400
    assert answer["error"]["code"] == 100
    assert answer["error"]["message"] == f"(#100) Length of param message[text] must be less than or equal to {limit}"
    assert len(fake.sent) == 1


@pytest.mark.parametrize(
    "body",
    [
        _message(messaging_type="MESSAGE_TAG"),
        _message(messaging_type="MESSAGE_TAG", tag="CONFIRMED_EVENT"),
        _message(tag="HUMAN_AGENT"),
        {"recipient": {"id": CUSTOMER_PSID}, "message": {"text": "no messaging_type"}},
        _message(message={"text": "?", "quick_replies": [{"content_type": "text", "title": "x" * 21, "payload": "P"}]}),
        _message(message={"text": "?", "quick_replies": [{"content_type": "text", "title": "t", "payload": "P"}] * 14}),
    ],
)
async def test_parameters_meta_refuses_are_refused_with_code_100(
    fake: FakeMessaging, http: aiohttp.ClientSession, body: dict[str, Any]
) -> None:
    status, answer = await _post(http, fake, body)

    assert (status, answer["error"]["code"]) == (400, 100)
    assert answer["error"]["message"].startswith("(#100) Param ")
    assert fake.sent == []


async def test_a_closed_window_admits_only_the_human_agent_tag(
    fake: FakeMessaging, http: aiohttp.ClientSession
) -> None:
    tagged = _message(messaging_type="MESSAGE_TAG", tag="HUMAN_AGENT")
    fake.close_window()

    status, answer = await _post(http, fake, _message())
    assert status == 400
    assert answer["error"]["message"] == "(#10) This message is sent outside of allowed window."
    assert (answer["error"]["code"], answer["error"]["error_subcode"]) == (10, 2018278)
    assert (await _post(http, fake, tagged))[0] == 200

    fake.close_window(human_agent=False)
    assert (await _post(http, fake, tagged))[0] == 400
    assert (fake.calls[-1].code, fake.calls[-1].subcode) == (10, 2018278)

    fake.open_window()
    assert (await _post(http, fake, _message()))[0] == 200
    assert fake.sent == [tagged, _message()]


async def test_fail_next_answers_the_error_then_sends_again(fake: FakeMessaging, http: aiohttp.ClientSession) -> None:
    fake.fail_next(613, retry_after=30, times=2)
    url = f"{fake.api_url}/{GRAPH_VERSION}/{PAGE_ID}/messages"

    for _ in range(2):
        async with http.post(url, json=_message(), headers=AUTH) as response:
            assert (response.status, response.headers["Retry-After"]) == (400, "30")
            error = (await response.json())["error"]
            assert (error["code"], error["message"]) == (613, "(#613) Calls to this API have exceeded the rate limit.")
    assert fake.sent == []
    assert (await _post(http, fake, _message()))[0] == 200
    assert len(fake.sent) == 1


async def test_the_account_node_gives_the_fields_asked_for(http: aiohttp.ClientSession) -> None:
    fake = FakeMessaging("instagram")
    await fake.start()
    try:
        url = f"{fake.api_url}/{GRAPH_VERSION}/{IG_ACCOUNT_ID}"
        headers = {"Authorization": f"Bearer {fake.access_token}"}
        async with http.get(url, params={"fields": "username"}, headers=headers) as response:
            assert (response.status, await response.json()) == (200, {"username": IG_USERNAME, "id": IG_ACCOUNT_ID})
        async with http.get(url, params={"fields": "username"}) as response:
            assert response.status == 401
    finally:
        await fake.stop()


async def test_add_file_serves_the_bytes_to_its_url_only(fake: FakeMessaging, http: aiohttp.ClientSession) -> None:
    data = b"\xff\xd8\xff\xe0 a receipt photo"
    url = fake.add_file(data, "image/jpeg")

    async with http.get(url) as response:
        assert (response.status, await response.read()) == (200, data)
        assert response.headers["Content-Type"] == "image/jpeg"
        assert response.headers["Content-Length"] == str(len(data))
    async with http.get(url.replace("oh=", "oh=x")) as response:
        assert response.status == 403

    assert "/cdn/v/t1.15752-9/" in url and url.startswith("http://127.0.0.1:")
    assert fake.add_file(data, "image/jpeg", host="localhost").startswith(f"http://localhost:{fake.port}/")
    assert [(d.authorized, d.host, d.status) for d in fake.downloads] == [
        (False, f"127.0.0.1:{fake.port}", 200),
        (False, f"127.0.0.1:{fake.port}", 403),
    ]


class _Receiver(StandIn):
    """A hub's webhook route that keeps each body and the signature it came with."""

    def __init__(self) -> None:
        super().__init__()
        self.received: list[tuple[bytes, str]] = []

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/messenger/webhook", self._webhook)
        return app

    async def _webhook(self, request: web.Request) -> web.Response:
        self.received.append((await request.read(), request.headers["X-Hub-Signature-256"]))
        return web.Response(text="EVENT_RECEIVED")


async def test_a_delivered_webhook_is_signed_with_the_app_secret_and_a_forged_one_is_not() -> None:
    receiver = _Receiver()
    await receiver.start()
    try:
        payload = combined(text_message("Where is my order?"), read(1_700_000_000_000))
        assert await deliver(receiver.url + "/messenger/webhook", payload) == (200, "EVENT_RECEIVED")
        assert await deliver(receiver.url + "/messenger/webhook", payload, forged=True) == (200, "EVENT_RECEIVED")
    finally:
        await receiver.stop()

    checks = [
        hmac.compare_digest(header, "sha256=" + hmac.new(APP_SECRET.encode(), body, hashlib.sha256).hexdigest())
        for body, header in receiver.received
    ]
    assert checks == [True, False]
    sent = json.loads(receiver.received[0][0])
    assert sent["object"] == "page"
    assert [entry["id"] for entry in sent["entry"]] == [PAGE_ID, PAGE_ID]
    [event] = sent["entry"][0]["messaging"]
    assert event["sender"] == {"id": CUSTOMER_PSID}
    assert event["recipient"] == {"id": PAGE_ID}
    assert event["message"]["text"] == "Where is my order?"
    assert sent["entry"][1]["messaging"][0]["read"] == {"watermark": 1_700_000_000_000}
