"""Property-based fuzzing of every route that takes input: the JSON and form routes, the Slack
endpoint (signed and unsigned) and the widget's frames. Whatever arrives, the hub answers
below 500, logs no error, and keeps answering."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import time
from collections.abc import Callable
from typing import Any

import pytest
from aiohttp import WSMsgType
from aiohttp.test_utils import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import SecretStr

from core.server import create_app
from core.settings import LimitsSettings, Settings, SlackSettings
from tests.fakes.slack_api import BOT_TOKEN, FakeSlack

SECRET = "signing-secret-for-fuzzing"
FUZZ = settings(max_examples=120, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
"""One server for all examples of a test (that it keeps answering is part of the property)."""

scalars = (st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False)
           | st.text(max_size=40))
values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner,
                                                                                              max_size=4), max_leaves=10)
attachment = st.fixed_dictionaries({}, optional={
    "filename": st.sampled_from(["a.txt", "b.docx", "c.pdf", "[x](http://e.example).md", "d\u202eexe.txt"]) | values,
    "content_type": st.sampled_from(["text/plain", "application/pdf"]) | values,
    "data": st.binary(max_size=200).map(lambda b: base64.b64encode(b).decode()) | values,
})
FIELDS = ("contact", "text", "id", "email", "phone", "message_id", "rating", "comment", "type", "token", "after",
          "identity", "client_id")
objects = st.fixed_dictionaries({}, optional={
    **{name: values for name in FIELDS},
    "attachments": st.lists(attachment, max_size=3) | values,
})
huge_number = st.text("123456789", min_size=4301, max_size=4400)


def with_huge_number(pair: tuple[dict[str, Any], str]) -> str:
    body, digits = pair
    return json.dumps({**body, "n": "HUGE"}).replace('"HUGE"', digits)


bodies = st.one_of(
    objects.map(json.dumps),
    st.tuples(objects, huge_number).map(with_huge_number),
    values.map(json.dumps),
    st.text(max_size=200),
).map(str.encode) | st.binary(max_size=300)


@pytest.fixture
async def hub(aiohttp_client: Callable[..., Any], make_settings: Callable[..., Settings], slack: FakeSlack) -> TestClient:
    settings = make_settings(
        channels=["web", "api", "slack"],
        limits=LimitsSettings(per_contact="", per_ip=""),  # every example reaches the handlers
        slack=SlackSettings(bot_token=SecretStr(BOT_TOKEN), signing_secret=SecretStr(SECRET), api_url=slack.base_url),
    )
    return await aiohttp_client(create_app(settings))  # type: ignore[no-any-return]


def no_errors_logged(caplog: pytest.LogCaptureFixture) -> None:
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert not errors, [r.getMessage() for r in errors]


async def still_answers(hub: TestClient) -> None:
    response = await hub.get("/healthz")
    assert response.status == 200


@FUZZ
@given(route=st.sampled_from(["/api/messages", "/api/feedback"]), body=bodies,
       content_type=st.sampled_from(["application/json", "text/plain", "application/x-www-form-urlencoded"]))
async def test_json_routes_never_answer_5xx(hub: TestClient, caplog: pytest.LogCaptureFixture, route: str,
                                             body: bytes, content_type: str) -> None:
    response = await hub.post(route, data=body, headers={"Content-Type": content_type})
    assert response.status < 500, (response.status, await response.text())
    no_errors_logged(caplog)
    await still_answers(hub)


@FUZZ
@given(query=st.dictionaries(st.sampled_from(["q", "k", "after", "limit"]), st.text(max_size=30), max_size=4),
       conversation=st.text(min_size=1, max_size=40).filter(lambda s: "/" not in s and s not in {".", ".."}))
async def test_query_routes_never_answer_5xx(hub: TestClient, caplog: pytest.LogCaptureFixture,
                                             query: dict[str, str], conversation: str) -> None:
    for path in ("/api/search", f"/api/conversations/{conversation}", f"/api/conversations/{conversation}/messages"):
        response = await hub.get(path, params=query)
        assert response.status < 500, (path, response.status, await response.text())
    no_errors_logged(caplog)


def slack_signature(body: bytes, timestamp: str) -> str:
    base = b"v0:" + timestamp.encode() + b":" + body
    return "v0=" + hmac.new(SECRET.encode(), base, hashlib.sha256).hexdigest()


@FUZZ
@given(body=bodies | objects.map(lambda o: ("payload=" + json.dumps(o)).encode()),
       signed=st.booleans(),
       timestamp=st.sampled_from(["abc", "", "-1", "1" * 30]) | st.just("now"),
       content_type=st.sampled_from(["application/json", "application/x-www-form-urlencoded"]))
async def test_the_slack_endpoint_never_answers_5xx(hub: TestClient, caplog: pytest.LogCaptureFixture, body: bytes,
                                                    signed: bool, timestamp: str, content_type: str) -> None:
    stamp = str(int(time.time())) if timestamp == "now" else timestamp
    headers = {"Content-Type": content_type, "X-Slack-Request-Timestamp": stamp,
               "X-Slack-Signature": slack_signature(body, stamp) if signed else "v0=" + "0" * 64}
    response = await hub.post("/slack/events", data=body, headers=headers)
    assert response.status < 500, (response.status, await response.text())
    if not signed:
        assert response.status == 401
    no_errors_logged(caplog)


frames = st.one_of(
    objects.map(json.dumps),
    st.tuples(objects, huge_number).map(with_huge_number),
    st.fixed_dictionaries({"type": st.sampled_from(["hello", "message", "feedback"])},
                          optional={name: values for name in FIELDS if name != "type"}).map(json.dumps),
    st.text(max_size=100),
)


@FUZZ
@given(sequence=st.lists(frames, min_size=1, max_size=5))
async def test_widget_frames_never_break_the_socket(hub: TestClient, caplog: pytest.LogCaptureFixture,
                                                    sequence: list[str]) -> None:
    ws = await hub.ws_connect("/widget/ws")
    for frame in sequence:
        await ws.send_str(frame)
    await ws.send_str(json.dumps({"type": "hello", "token": None, "after": 0}))
    seen: list[dict[str, Any]] = []
    while not any(f.get("type") == "session" or f.get("error") == "hello was already sent" for f in seen):
        message = await ws.receive(timeout=30)
        assert message.type is WSMsgType.TEXT, message
        seen.append(json.loads(message.data))
    assert not any("internal error" in str(f.get("error", "")) for f in seen), seen
    await ws.close()
    no_errors_logged(caplog)
