"""Property-based fuzzing of every route that takes input: the JSON and form routes, the Slack
endpoint (signed and unsigned), the widget's frames, the headers and cookies every channel and
the dashboard read, and the fields of bodies signed the way each platform signs them (so they
get past the signature). Whatever arrives, on either database, the hub answers below 500 (a
4xx says why), logs no error, and keeps answering."""

from __future__ import annotations

import base64
import hashlib
import hmac
import itertools
import json
import logging
import time
import uuid
from collections.abc import Callable
from email.utils import make_msgid
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode

import aiosmtplib
import pytest
from aiohttp import WSMsgType
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from pydantic import SecretStr
from sqlalchemy.ext.asyncio import AsyncEngine

from channels.email.settings import EmailSettings
from channels.email.stand_in import SmtpRelay
from channels.slack.settings import SlackSettings
from channels.slack.stand_in import BOT_TOKEN, FakeSlack
from channels.slack.stand_in_events import app_mention_event, block_action, message_event, signed_headers
from channels.sms.settings import SmsSettings
from channels.telegram.stand_in import FakeBotApi
from channels.telegram.stand_in_updates import group_message, private_message
from channels.twilio.stand_in import (
    ACCOUNT_SID,
    AUTH_TOKEN,
    HUB_NUMBER,
    FakeTwilio,
    incoming_sms,
    signed_form,
    status_callback,
)
from core.cli.server import create_app
from core.settings import AdminSettings, LimitsSettings, Settings
from tests.app_client import AppClient
from tests.integration.test_request_guards import answer_to
from tests.integration.test_telegram import SECRET as TELEGRAM_SECRET
from tests.integration.test_telegram import ready, telegram_settings
from tests.suite_habits import THROUGH_THE_HUB

pytestmark = pytest.mark.slow(
    "Hypothesis: every example is a request to a hub with every channel on (100 a test in CI)"
)

SECRET = "signing-secret-for-fuzzing"
ADMIN_TOKEN = "dashboard-token-for-fuzzing"
SMS_URL = "https://sms.example.com"
SUPPORT = "support@example.com"
FUZZ = settings(THROUGH_THE_HUB, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
"""One server for all examples of a test (that it keeps answering is part of the property)."""

scalars = (
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=40)
)
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=10,
)
attachment = st.fixed_dictionaries(
    {},
    optional={
        "filename": st.sampled_from(["a.txt", "b.docx", "c.pdf", "[x](http://e.example).md", "d\u202eexe.txt"])
        | values,
        "content_type": st.sampled_from(["text/plain", "application/pdf"]) | values,
        "data": st.binary(max_size=200).map(lambda b: base64.b64encode(b).decode()) | values,
    },
)
FIELDS = (
    "contact",
    "text",
    "id",
    "email",
    "phone",
    "message_id",
    "rating",
    "comment",
    "type",
    "token",
    "after",
    "identity",
    "client_id",
)

objects = st.fixed_dictionaries(
    {},
    optional={
        **dict.fromkeys(FIELDS, values),
        "attachments": st.lists(attachment, max_size=3) | values,
    },
)
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
async def hub(
    database_url: str,
    engine: AsyncEngine,
    aiohttp_client: Callable[..., Any],
    make_settings: Callable[..., Settings],
    slack: FakeSlack,
    telegram: FakeBotApi,
    twilio: FakeTwilio,
    relay: SmtpRelay,
    smtp_port: int,
) -> AppClient:
    """Every channel, and the dashboard, on SQLite and on PostgreSQL."""
    settings = make_settings(
        database_url=database_url,
        channels=["web", "api", "slack", "telegram", "sms", "email"],
        email=EmailSettings(
            address=SUPPORT, smtp_host=relay.host, smtp_port=relay.port, smtp_security="none", listen_port=smtp_port
        ),
        limits=LimitsSettings(per_contact="", per_ip="", sessions_per_ip=""),  # every example reaches the handlers
        admin=AdminSettings(token=SecretStr(ADMIN_TOKEN)),
        slack=SlackSettings(bot_token=SecretStr(BOT_TOKEN), signing_secret=SecretStr(SECRET), api_url=slack.base_url),
        telegram=telegram_settings(telegram.api_url),
        sms=SmsSettings(
            account_sid=ACCOUNT_SID,
            auth_token=SecretStr(AUTH_TOKEN),
            from_number=HUB_NUMBER,
            api_url=twilio.api_url,
            public_url=SMS_URL,
            webhook_signing_key=SecretStr("shared-key"),
        ),
    )
    client: AppClient = await aiohttp_client(create_app(settings))
    await ready(client)  # the Telegram channel has connected
    return client


def no_errors_logged(caplog: pytest.LogCaptureFixture) -> None:
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert not errors, [r.getMessage() for r in errors]


async def still_answers(hub: AppClient) -> None:
    response = await hub.get("/healthz")
    assert response.status == 200


@FUZZ
@given(
    route=st.sampled_from(["/api/messages", "/api/feedback"]),
    body=bodies,
    content_type=st.sampled_from(["application/json", "text/plain", "application/x-www-form-urlencoded"]),
)
async def test_json_routes_never_answer_5xx(
    hub: AppClient, caplog: pytest.LogCaptureFixture, route: str, body: bytes, content_type: str
) -> None:
    response = await hub.post(route, data=body, headers={"Content-Type": content_type})
    assert response.status < 500, (response.status, await response.text())
    no_errors_logged(caplog)
    await still_answers(hub)


@FUZZ
@given(
    query=st.dictionaries(st.sampled_from(["q", "k", "after", "limit"]), st.text(max_size=30), max_size=4),
    conversation=st.text(min_size=1, max_size=40).filter(lambda s: "/" not in s and s not in {".", ".."}),
)
async def test_query_routes_never_answer_5xx(
    hub: AppClient, caplog: pytest.LogCaptureFixture, query: dict[str, str], conversation: str
) -> None:
    for path in ("/api/search", f"/api/conversations/{conversation}", f"/api/conversations/{conversation}/messages"):
        response = await hub.get(path, params=query)
        assert response.status < 500, (path, response.status, await response.text())
    no_errors_logged(caplog)


def slack_signature(body: bytes, timestamp: str) -> str:
    base = b"v0:" + timestamp.encode() + b":" + body
    return "v0=" + hmac.new(SECRET.encode(), base, hashlib.sha256).hexdigest()


@FUZZ
@given(
    body=bodies | objects.map(lambda o: ("payload=" + json.dumps(o)).encode()),
    signed=st.booleans(),
    timestamp=st.sampled_from(["abc", "", "-1", "1" * 30]) | st.just("now"),
    content_type=st.sampled_from(["application/json", "application/x-www-form-urlencoded"]),
)
async def test_the_slack_endpoint_never_answers_5xx(
    hub: AppClient, caplog: pytest.LogCaptureFixture, body: bytes, signed: bool, timestamp: str, content_type: str
) -> None:
    stamp = str(int(time.time())) if timestamp == "now" else timestamp
    headers = {
        "Content-Type": content_type,
        "X-Slack-Request-Timestamp": stamp,
        "X-Slack-Signature": slack_signature(body, stamp) if signed else "v0=" + "0" * 64,
    }
    response = await hub.post("/slack/events", data=body, headers=headers)
    assert response.status < 500, (response.status, await response.text())
    if not signed:
        assert response.status == 401
    no_errors_logged(caplog)


frames = st.one_of(
    objects.map(json.dumps),
    st.tuples(objects, huge_number).map(with_huge_number),
    st.fixed_dictionaries(
        {"type": st.sampled_from(["hello", "message", "feedback"])},
        optional={name: values for name in FIELDS if name != "type"},
    ).map(json.dumps),
    st.text(max_size=100),
)


@FUZZ
@given(sequence=st.lists(frames, min_size=1, max_size=5))
async def test_widget_frames_never_break_the_socket(
    hub: AppClient, caplog: pytest.LogCaptureFixture, sequence: list[str]
) -> None:
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


def answered_with_a_reason(status: int, body: bytes | str) -> None:
    """Below 500; a refusal says why."""
    assert status < 500, (status, body[:300])
    if status >= 400:
        assert body.strip(), status


async def raw_request(
    hub: AppClient, method: bytes, target: bytes, headers: dict[bytes, bytes], body: bytes = b""
) -> tuple[int, bytes]:
    """A request written byte for byte on its own connection, for header values aiohttp's
    client would not send (not UTF-8, control characters); the status and the body."""
    fields = {
        b"host": f"{hub.server.host}:{hub.server.port}".encode(),
        b"connection": b"close",
        b"content-length": str(len(body)).encode(),
    } | {name.lower(): value for name, value in headers.items()}
    head = b"\r\n".join(
        [method + b" " + target + b" HTTP/1.1", *(name + b": " + value for name, value in fields.items())]
    )
    status, rest = await answer_to(hub, head + b"\r\n\r\n", body)
    return int(status.split()[1]), rest.partition(b"\r\n\r\n")[2]


def one_line(raw: bytes) -> bytes:
    return raw.replace(b"\r", b"").replace(b"\n", b"").strip(b" \t")


def stamped(headers: dict[bytes, bytes]) -> dict[bytes, bytes]:
    """`headers` with the value "now" made the current Unix time (a fresh Slack timestamp)."""
    return {name: str(int(time.time())).encode() if value == b"now" else value for name, value in headers.items()}


many_digits = st.text("0123456789", min_size=4301, max_size=5200)
"""Python refuses to turn more than 4,300 digits into an int."""
header_values = st.one_of(
    st.binary(max_size=40).map(one_line),  # not UTF-8, control characters
    st.text(max_size=40).map(lambda text: one_line(text.encode())),  # not ASCII
    many_digits.map(str.encode),
    st.sampled_from(
        [
            "v0=" + "0" * 64,
            f"Bearer {ADMIN_TOKEN}",
            "Bearer \u00e9",
            "now",
            "²",
            "١٢٣",
            "supporthub_admin=\u00e9",
            "supporthub_admin=eyJjc3JmIjoieCJ9.abc.def",
            "application/json",
            "text/plain",
            "application/x-www-form-urlencoded",
            "https://evil.example",
            "http://[::1",
            "null",
            "cross-site",
            "same-origin",
            "evil.example",
            "localhost",
            "[::1]:8080",
            "[::1",
            "key=k,algorithm=HMAC_SHA256",
            "algorithm=",
            ",,=",
        ]
    ).map(str.encode),
    st.text(max_size=30).map(lambda text: b"supporthub_admin=" + one_line(text.encode())),
)
FUZZED_HEADERS = [
    b"X-Telegram-Bot-Api-Secret-Token",
    b"X-Slack-Signature",
    b"X-Slack-Request-Timestamp",
    b"X-Twilio-Signature",
    b"X-Twilio-Webhooks-Signature-Settings",
    b"Cookie",
    b"Authorization",
    b"Origin",
    b"Sec-Fetch-Site",
    b"Host",
    b"Content-Type",
    b"Accept",
    b"X-Forwarded-Proto",
    b"If-None-Match",
]
JSON = {b"Content-Type": b"application/json"}
FORM = {b"Content-Type": b"application/x-www-form-urlencoded"}
REQUESTS = [  # what each route takes, for the fuzzed headers to replace
    (b"POST", b"/telegram/webhook", json.dumps(private_message("hi")).encode(), JSON),
    (b"POST", b"/slack/events", json.dumps(message_event(channel="D1", user="U1", text="hi", ts="1.1")).encode(), JSON),
    (b"POST", b"/sms/twilio", urlencode(incoming_sms("hi")).encode(), FORM),
    (b"POST", b"/sms/twilio/status", urlencode(status_callback("SM1", "failed", error_code="30003")).encode(), FORM),
    (b"GET", b"/admin", b"", {}),
    (b"GET", b"/admin/api/status", b"", {}),
    (b"POST", b"/admin/login", b"token=guess", FORM),
    (b"POST", b"/admin/outbox/1/retry", b"csrf=x", FORM),
    (b"POST", b"/api/messages", b'{"contact": "fuzz", "text": "How do I reset my password?"}', JSON),
    (b"POST", b"/api/feedback", b'{"contact": "fuzz", "message_id": 1, "rating": "up"}', JSON),
    (b"GET", b"/api/search?q=password", b"", {}),
    (b"GET", b"/metrics", b"", {}),
    (
        b"GET",
        b"/widget/ws",
        b"",
        {
            b"Upgrade": b"websocket",
            b"Connection": b"Upgrade",
            b"Sec-WebSocket-Version": b"13",
            b"Sec-WebSocket-Key": b"dGhlIHNhbXBsZSBub25jZQ==",
        },
    ),
    (b"GET", b"/widget.js", b"", {}),
]


@FUZZ
@given(
    request=st.sampled_from(REQUESTS),
    headers=st.dictionaries(st.sampled_from(FUZZED_HEADERS), header_values, max_size=5),
)
async def test_headers_and_cookies_never_answer_5xx(
    hub: AppClient,
    caplog: pytest.LogCaptureFixture,
    request: tuple[bytes, bytes, bytes, dict[bytes, bytes]],
    headers: dict[bytes, bytes],
) -> None:
    caplog.clear()  # each example answers for its own log
    method, target, body, usual = request
    status, content = await raw_request(hub, method, target, usual | stamped(headers), body)
    answered_with_a_reason(status, content)
    no_errors_logged(caplog)


HOSTILE = [
    pytest.param(
        b"POST", b"/telegram/webhook", {b"X-Telegram-Bot-Api-Secret-Token": b"\xff\xfe"}, id="telegram-secret-not-utf8"
    ),
    pytest.param(
        b"POST",
        b"/slack/events",
        {b"X-Slack-Request-Timestamp": b"now", b"X-Slack-Signature": "v0=\u00e9".encode()},
        id="slack-signature-not-ascii",
    ),
    pytest.param(
        b"POST",
        b"/slack/events",
        {b"X-Slack-Request-Timestamp": b"1" * 5000, b"X-Slack-Signature": b"v0=00"},
        id="slack-timestamp-5000-digits",
    ),
    pytest.param(b"GET", b"/admin/api/status", {b"Cookie": b"supporthub_admin=\xff\xfe"}, id="admin-cookie-not-utf8"),
    pytest.param(
        b"POST",
        b"/admin/outbox/" + b"9" * 5000 + b"/retry",
        {b"Authorization": f"Bearer {ADMIN_TOKEN}".encode()},
        id="retry-id-5000-digits",
    ),
    pytest.param(b"POST", b"/admin/login", {b"Origin": b"http://[::1"}, id="sign-in-origin-not-a-url"),
    pytest.param(b"POST", b"/api/messages", {b"Origin": b"http://[::1"}, id="api-origin-not-a-url"),
]


@pytest.mark.parametrize(("method", "target", "headers"), HOSTILE)
async def test_the_probes_hostile_headers_get_a_4xx(
    hub: AppClient, caplog: pytest.LogCaptureFixture, method: bytes, target: bytes, headers: dict[bytes, bytes]
) -> None:
    status, content = await raw_request(hub, method, target, stamped(headers), b"{}")
    assert 400 <= status < 500, (status, content)
    assert content.strip()
    no_errors_logged(caplog)


def field_paths(value: Any, prefix: tuple[str | int, ...] = ()) -> list[tuple[str | int, ...]]:
    """Every key and index in a JSON value, at any depth."""
    found = [prefix] if prefix else []
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for key, item in items:
        found += field_paths(item, (*prefix, key))
    return found


@st.composite
def retyped(draw: st.DrawFn, payload: dict[str, Any]) -> dict[str, Any]:
    """`payload` with one to three fields, anywhere in it, given a value of any type or removed."""
    changed: dict[str, Any] = json.loads(json.dumps(payload))
    for _ in range(draw(st.integers(1, 3))):
        paths = field_paths(changed)
        if not paths:
            break
        path = draw(st.sampled_from(paths))
        parent: Any = changed
        for key in path[:-1]:
            parent = parent[key]
        if isinstance(parent, dict) and draw(st.booleans()):
            del parent[path[-1]]
        else:
            parent[path[-1]] = draw(values)
    return changed


_fresh_ids = itertools.count(1)


def as_new_message(payload: dict[str, Any], inner: str, key: str, new_id: Callable[[int], Any]) -> dict[str, Any]:
    """`payload` with `payload[inner][key]`, the message's id, made unique when it is still of
    the type the platform sends: each example is a message of its own (these tests are about
    fields, not about redeliveries)."""
    message = payload.get(inner)
    if isinstance(message, dict) and type(message.get(key)) is type(new_id(0)):
        message[key] = new_id(next(_fresh_ids))
    return payload


def slack_interaction(body: str) -> dict[str, Any]:
    payload: dict[str, Any] = json.loads(dict(parse_qsl(body))["payload"])
    return payload


SLACK_EVENTS = [
    message_event(channel="D1", user="U1", text="How do I reset my password?", ts="1700000001.000100"),
    message_event(channel="D1", user="U1", text="and then?", ts="1700000002.000100", thread_ts="1700000001.000100"),
    message_event(
        channel="D1",
        user="U1",
        text="a file",
        ts="1700000003.000100",
        files=[{"id": "F1", "name": "a.txt", "mimetype": "text/plain"}],
    ),
    app_mention_event(channel="C1", user="U1", text="<@UBOT> help", ts="1700000004.000100"),
]
SLACK_INTERACTIONS = [
    slack_interaction(
        block_action(
            action_id="case_claim",
            value="case-1",
            user="U2",
            channel="C9",
            message_ts="1700000005.000100",
            response_url="http://127.0.0.1:9/r",
        )
    ),
]


@FUZZ
@given(
    body=st.one_of(
        st.sampled_from(SLACK_EVENTS)
        .flatmap(retyped)
        .map(lambda p: as_new_message(p, "event", "ts", lambda n: f"{1_700_000_000 + n}.000100"))
        .map(json.dumps),
        st.sampled_from(SLACK_INTERACTIONS).flatmap(retyped).map(lambda p: urlencode({"payload": json.dumps(p)})),
    )
)
async def test_signed_slack_payloads_with_fields_of_any_type_never_answer_5xx(
    hub: AppClient, caplog: pytest.LogCaptureFixture, body: str
) -> None:
    caplog.clear()  # each example answers for its own log
    response = await hub.post("/slack/events", data=body.encode(), headers=signed_headers(SECRET, body))
    answered_with_a_reason(response.status, await response.text())
    no_errors_logged(caplog)


TELEGRAM_UPDATES = [
    {"update_id": 1, **private_message("How do I reset my password?", message_id=1)},
    {"update_id": 2, **private_message("/start", message_id=2)},
    {"update_id": 3, **group_message("@supporthub_test_bot help", message_id=3)},
    {
        "update_id": 4,
        **private_message(
            None,
            message_id=4,
            caption="a file",
            document={"file_id": "f1", "file_unique_id": "u1", "file_name": "a.txt"},
        ),
    },
]


@FUZZ
@given(
    update=st.sampled_from(TELEGRAM_UPDATES)
    .flatmap(retyped)
    .map(lambda u: as_new_message(u, "message", "message_id", lambda n: 10_000 + n))
)
async def test_telegram_updates_with_the_secret_and_fields_of_any_type_never_answer_5xx(
    hub: AppClient, caplog: pytest.LogCaptureFixture, update: dict[str, Any]
) -> None:
    caplog.clear()  # each example answers for its own log
    response = await hub.post(
        "/telegram/webhook", json=update, headers={"X-Telegram-Bot-Api-Secret-Token": TELEGRAM_SECRET}
    )
    answered_with_a_reason(response.status, await response.text())
    no_errors_logged(caplog)


numeric_text = st.one_of(
    st.text(max_size=12),
    many_digits,
    st.sampled_from(["²", "١٢٣", "-1", "1e3", " 7", "0x10", "99999999999", "30003", "21610"]),
)
TWILIO_FIELDS = ["NumMedia", "ErrorCode", "MessageStatus", "MediaUrl0", "MediaContentType0", "MessageSid", "SmsStatus"]


@FUZZ
@given(
    route=st.sampled_from(["/sms/twilio", "/sms/twilio/status"]),
    fields=st.dictionaries(st.sampled_from(TWILIO_FIELDS), numeric_text, max_size=3),
)
async def test_signed_twilio_forms_with_odd_numbers_and_fields_never_answer_5xx(
    hub: AppClient, caplog: pytest.LogCaptureFixture, route: str, fields: dict[str, str]
) -> None:
    caplog.clear()  # each example answers for its own log
    base = (
        incoming_sms("How do I reset my password?")
        if route == "/sms/twilio"
        else status_callback("SMfuzz", "failed", error_code="30003")
    )
    form = base | fields
    if "MessageSid" in fields:  # still a message of its own: this test is about fields, not redeliveries
        form["MessageSid"] += uuid.uuid4().hex
    response = await hub.post(route, data=form, headers=signed_form(SMS_URL + route, form))
    answered_with_a_reason(response.status, await response.text())
    no_errors_logged(caplog)


@FUZZ
@given(
    item=st.one_of(st.text(min_size=1, max_size=30), many_digits),
    query=st.dictionaries(
        st.sampled_from(["period", "channel", "page", "since", "until", "q", "state", "contact", "retried"]),
        st.one_of(st.text(max_size=20), many_digits),
        max_size=3,
    ),
)
@example(item="0", query={"q": "\x00"})  # found here: a 500 on PostgreSQL
@example(item="0", query={"contact": "\ud83d", "q": "a\x00b"})
async def test_dashboard_paths_and_queries_never_answer_5xx(
    hub: AppClient, caplog: pytest.LogCaptureFixture, item: str, query: dict[str, str]
) -> None:
    caplog.clear()  # each example answers for its own log
    bearer = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    segment = quote(item, safe="")
    for method, path in (
        ("POST", f"/admin/outbox/{segment}/retry"),
        ("GET", f"/admin/api/conversations/{segment}"),
        ("GET", "/admin/api/conversations"),
        ("GET", "/admin/api/overview"),
        ("GET", "/admin/gaps"),
    ):
        response = await hub.request(method, path, params=query, headers=bearer)
        answered_with_a_reason(response.status, await response.text())
    no_errors_logged(caplog)


typed = st.text(alphabet=st.characters(exclude_categories=["Cs"]), max_size=60)
"""What a browser can send in a form: any text but lone surrogates (not UTF-8 at all)."""


@FUZZ
@given(name=typed, body=typed, item=st.text(min_size=1, max_size=30))
@example(name="ok", body="Hi {name.__class__} {0} {}", item="ok")
async def test_canned_reply_forms_never_answer_5xx(
    hub: AppClient, caplog: pytest.LogCaptureFixture, name: str, body: str, item: str
) -> None:
    caplog.clear()
    bearer = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    segment = quote(item, safe="")
    for path in ("/admin/replies", f"/admin/replies/{segment}", f"/admin/replies/{segment}/delete"):
        response = await hub.post(path, data={"name": name, "body": body}, headers=bearer)
        answered_with_a_reason(response.status, await response.text())
    response = await hub.get(f"/admin/replies/{segment}", headers=bearer)
    answered_with_a_reason(response.status, await response.text())
    no_errors_logged(caplog)


MAIL_HEADERS = [
    b"From",
    b"Reply-To",
    b"Message-ID",
    b"In-Reply-To",
    b"References",
    b"Subject",
    b"Date",
    b"Auto-Submitted",
    b"Precedence",
    b"List-Id",
    b"Authentication-Results",
    b"Content-Type",
    b"Content-Transfer-Encoding",
    b"Content-Disposition",
    b"MIME-Version",
]


@FUZZ
@given(
    headers=st.dictionaries(
        st.sampled_from(MAIL_HEADERS),
        header_values.map(lambda v: v[:900]),  # SMTP's lines end at 1,000
        max_size=4,
    )
)
async def test_mail_headers_never_fail_the_listener(
    hub: AppClient, caplog: pytest.LogCaptureFixture, smtp_port: int, headers: dict[bytes, bytes]
) -> None:
    """Taken in (250) or refused for good with a reason (5xx); never "try again later" for
    a mail that will never be different."""
    caplog.clear()  # each example answers for its own log
    usual = {
        b"From": b"Ana <ana@customer.example>",
        b"To": SUPPORT.encode(),
        b"Subject": b"Password help",
        b"Message-ID": make_msgid(domain="customer.example").encode(),
    }
    mail = b"\r\n".join(name + b": " + value for name, value in (usual | headers).items())
    mail += b"\r\n\r\nHow do I reset my password?\r\n"
    try:
        await aiosmtplib.send(
            mail,
            sender="ana@customer.example",
            recipients=[SUPPORT],
            hostname="127.0.0.1",
            port=smtp_port,
            start_tls=False,
            timeout=30,
        )
    except aiosmtplib.SMTPResponseException as refused:
        assert refused.code >= 500 and refused.message.strip(), (refused.code, refused.message)
        assert not refused.message.startswith("Error: ("), refused.message  # aiosmtpd's unexpected exception
    no_errors_logged(caplog)
