"""The web channel through its real routes: a websocket client against an app holding only
the channel, with an in-memory hub standing in for core.pipeline.hub."""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from aiohttp import WSMsgType, WSServerHandshakeError, web
from itsdangerous import URLSafeSerializer

from channels.api.settings import ApiSettings
from channels.web.channel import WebChannel
from channels.web.sessions import SECRET_FILE, SessionTokens, load_or_create_secret
from channels.web.settings import WebSettings
from core.channel import Channel
from core.messages import Address, Author, SurveyPart
from core.pipeline.hub_gate import HubGate
from core.rate_limits import RateLimits
from core.settings import Settings
from tests.app_client import AppClient
from tests.fakes.hub import FakeHub

MAX_TEXT = 50
DAY = 86400.0
PERIOD_S = WebSettings().session_days * DAY


def tokens_of(settings: Settings, *, days_ago: float = 0) -> SessionTokens:
    """The channel's token format under its secret, on a clock `days_ago` in the past."""
    secret = (settings.data_dir / SECRET_FILE).read_text()
    return SessionTokens(secret, max_age_s=PERIOD_S, clock=lambda: time.time() - days_ago * DAY)


ClientFactory = Callable[[web.Application], Awaitable[AppClient]]


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path, api=ApiSettings(max_text_length=MAX_TEXT), web=WebSettings(history_limit=3))


@pytest.fixture
def gate() -> HubGate:
    return HubGate()


@pytest.fixture
async def channel(settings: Settings, gate: HubGate) -> AsyncIterator[WebChannel]:
    web_channel = WebChannel(settings, gate.port)
    yield web_channel
    await web_channel.stop()


@pytest.fixture
async def hub(channel: WebChannel, gate: HubGate) -> FakeHub:
    fake = FakeHub(channel)
    gate.open(fake)
    await channel.start()
    return fake


@pytest.fixture
async def client(aiohttp_client: ClientFactory, channel: WebChannel, hub: FakeHub) -> AppClient:
    app = web.Application()
    app.add_routes(channel.routes())
    return await aiohttp_client(app)


async def recv(ws: Any) -> dict[str, Any]:
    frame: dict[str, Any] = await ws.receive_json(timeout=3)
    return frame


async def session_frame(
    client: AppClient, token: str | None = None, after: int = 0, origin: str | None = None
) -> tuple[Any, dict[str, Any]]:
    ws = await client.ws_connect("/widget/ws", headers={"Origin": origin} if origin else None)
    await ws.send_json({"type": "hello", "token": token, "after": after})
    session = await recv(ws)
    assert session["type"] == "session"
    return ws, session


async def hello(client: AppClient, token: str | None = None, after: int = 0) -> tuple[Any, str]:
    ws, session = await session_frame(client, token, after)
    return ws, session["token"]


async def say(ws: Any, text: str, client_id: str = "c-1") -> None:
    await ws.send_json({"type": "message", "id": client_id, "text": text})


async def frames_until_reply(ws: Any) -> list[dict[str, Any]]:
    frames: list[dict[str, Any]] = []
    while not frames or frames[-1].get("author") != "bot":
        frames.append(await recv(ws))
    return frames


# --- the channel port --------------------------------------------------------------------


def test_satisfies_the_channel_port(settings: Settings) -> None:
    web_channel = WebChannel(settings, HubGate().port)
    assert isinstance(web_channel, Channel)
    assert web_channel.name == "web"
    caps = web_channel.capabilities
    assert (caps.max_text_length, caps.push, caps.streaming) == (MAX_TEXT, True, True)


# --- sessions ------------------------------------------------------------------------------


async def test_hello_without_token_starts_a_signed_session(client: AppClient, settings: Settings, hub: FakeHub) -> None:
    ws, token = await hello(client)
    session_id = tokens_of(settings).verify(token, "", None)
    assert session_id
    await say(ws, "hi")
    await frames_until_reply(ws)
    hub_message = hub.received[0]
    assert hub_message.address == Address("web", session_id)
    assert hub_message.sender_id == session_id
    assert hub_message.external_id == f"{session_id}:c-1"


async def test_token_round_trip_keeps_the_session_and_its_history(
    client: AppClient, hub: FakeHub, settings: Settings
) -> None:
    ws, token = await hello(client)
    await say(ws, "first question")
    await frames_until_reply(ws)
    await ws.close()

    ws2, session = await session_frame(client, token)
    assert session["restarted"] is False
    assert tokens_of(settings).verify(session["token"], "", None) == tokens_of(settings).verify(token, "", None)
    history = [await recv(ws2), await recv(ws2)]
    assert [(f["author"], f["id"]) for f in history] == [("customer", 1), ("bot", 2)]
    assert hub.received[0].address == Address("web", hub.messages[0][0].chat_id)


@pytest.mark.parametrize(
    "forged",
    [
        "not-a-token",
        URLSafeSerializer("someone else's secret", salt="supporthub-widget").dumps({"sid": "victim"}),
        "",
    ],
)
async def test_forged_or_bad_token_starts_a_new_session(client: AppClient, settings: Settings, forged: str) -> None:
    _ws, token = await hello(client, forged)
    assert token != forged
    assert tokens_of(settings).verify(token, "", None) not in (None, "victim")


async def test_token_with_the_right_secret_but_another_salt_is_refused(settings: Settings, hub: FakeHub) -> None:
    secret = (settings.data_dir / SECRET_FILE).read_text()
    other = URLSafeSerializer(secret, salt="something-else").dumps(
        {"sid": "victim", "origin": "", "iat": int(time.time())}
    )
    assert tokens_of(settings).verify(other, "", None) is None
    assert (
        tokens_of(settings).verify(URLSafeSerializer(secret, salt="supporthub-widget").dumps(["victim"]), "", None)
        is None
    )
    without_issue_time = URLSafeSerializer(secret, salt="supporthub-widget").dumps({"sid": "victim", "origin": ""})
    assert tokens_of(settings).verify(without_issue_time, "", None) is None  # the format before tokens expired


def test_secret_file_is_private_and_survives_restarts(tmp_path: Path) -> None:
    path = tmp_path / "nested" / SECRET_FILE
    first = load_or_create_secret(path)
    assert len(first) >= 32
    assert path.stat().st_mode & 0o777 == 0o600
    assert load_or_create_secret(path) == first
    assert list(path.parent.iterdir()) == [path]  # no temporary file left behind


def test_an_empty_secret_file_is_replaced(tmp_path: Path) -> None:
    path = tmp_path / SECRET_FILE
    path.write_text("")
    secret = load_or_create_secret(path)
    assert secret and path.read_text() == secret


async def started_with_hub(
    aiohttp_client: ClientFactory, settings: Settings, *, limits: RateLimits | None = None
) -> tuple[AppClient, FakeHub]:
    """A client of a newly started web channel on its own app (a server process, in effect),
    and the hub behind it, admitting messages within `limits`."""
    gate = HubGate()
    web_channel = WebChannel(settings, gate.port)
    hub = FakeHub(web_channel, limits=limits)
    gate.open(hub)
    await web_channel.start()
    app = web.Application()
    app.add_routes(web_channel.routes())
    app.on_cleanup.append(lambda _: web_channel.stop())
    return await aiohttp_client(app), hub


async def started(aiohttp_client: ClientFactory, settings: Settings) -> AppClient:
    return (await started_with_hub(aiohttp_client, settings))[0]


async def test_tokens_survive_a_restart(aiohttp_client: ClientFactory, settings: Settings) -> None:
    _, token = await hello(await started(aiohttp_client, settings))
    _, session = await session_frame(await started(aiohttp_client, settings), token)
    assert session["restarted"] is False
    assert tokens_of(settings).verify(session["token"], "", None) == tokens_of(settings).verify(token, "", None)


async def test_configured_secret_is_used_and_nothing_is_written(aiohttp_client: ClientFactory, tmp_path: Path) -> None:
    configured = Settings(data_dir=tmp_path, web=WebSettings(session_secret="s3cret-from-env"))
    _, token = await hello(await started(aiohttp_client, configured))
    assert SessionTokens("s3cret-from-env", max_age_s=PERIOD_S).verify(token, "", None)
    assert not (tmp_path / SECRET_FILE).exists()


async def history_of(client: AppClient, token: str, origin: str | None = None) -> tuple[dict[str, Any], list[str]]:
    """The session frame a hello with `token` gets, and the texts of the history replayed."""
    ws, session = await session_frame(client, token, origin=origin)
    await ws.send_json({"type": "message", "id": "probe", "text": "probe"})  # answered after the replay
    texts = []
    while (frame := await recv(ws)).get("client_id") != "probe":
        texts.append(frame["text"])
    return session, texts


async def a_session_with_history(client: AppClient, settings: Settings, *, days_ago: float, origin: str = "") -> str:
    """A visitor's token issued `days_ago`, for a session that holds one answered question."""
    session_id, token = tokens_of(settings, days_ago=days_ago).issue(origin, None)
    ws, _ = await session_frame(client, tokens_of(settings).sign(session_id, origin, None), origin=origin or None)
    await say(ws, "where is my order 1234?")
    await frames_until_reply(ws)
    await ws.close()
    return token


async def test_a_session_unused_for_session_days_starts_anew_without_its_history(
    client: AppClient, settings: Settings
) -> None:
    expired = await a_session_with_history(client, settings, days_ago=PERIOD_S / DAY + 1)

    session, history = await history_of(client, expired)

    assert session["restarted"] is True and session["token"] != expired
    assert history == []


async def test_a_returning_visitor_gets_a_fresh_token_and_the_period_starts_again(
    client: AppClient, settings: Settings
) -> None:
    token = await a_session_with_history(client, settings, days_ago=PERIOD_S / DAY - 5)

    session, history = await history_of(client, token)

    assert session["restarted"] is False
    assert history == ["where is my order 1234?", "**Answer** to: where is my order 1234?"]
    later = tokens_of(settings, days_ago=-10)  # ten days on: the old token is past its period, the new one not
    assert later.verify(token, "", None) is None
    assert later.verify(session["token"], "", None) == tokens_of(settings).verify(token, "", None)


async def test_a_token_copied_to_another_site_starts_a_new_session_there(client: AppClient, settings: Settings) -> None:
    token = await a_session_with_history(client, settings, days_ago=0, origin="https://shop.example")

    session, history = await history_of(client, token, origin="https://evil.example")
    assert session["restarted"] is True and history == []
    _, own_site = await history_of(client, token, origin="https://shop.example")
    assert own_site == ["where is my order 1234?", "**Answer** to: where is my order 1234?"]


async def test_with_allowed_origins_other_sites_cannot_open_the_widget(
    aiohttp_client: ClientFactory, tmp_path: Path
) -> None:
    settings = Settings(data_dir=tmp_path, web=WebSettings(allowed_origins=["https://Shop.example/"]))
    client = await started(aiohttp_client, settings)

    with pytest.raises(WSServerHandshakeError) as refused:
        await client.ws_connect("/widget/ws", headers={"Origin": "https://evil.example"})
    assert refused.value.status == 403
    with pytest.raises(WSServerHandshakeError):
        await client.ws_connect("/widget/ws")  # no Origin: not a page of the site
    _, session = await session_frame(client, origin="https://shop.example")
    assert session["restarted"] is False


async def test_a_visitor_over_the_limit_is_asked_to_slow_down_and_nothing_is_stored(
    aiohttp_client: ClientFactory, settings: Settings
) -> None:
    client, hub = await started_with_hub(aiohttp_client, settings, limits=RateLimits(per_contact="2/minute", per_ip=""))
    ws, _ = await hello(client)
    for n in (1, 2):
        await say(ws, f"question {n}", client_id=f"c-{n}")
        await frames_until_reply(ws)

    await say(ws, "question 3", client_id="c-3")

    refused = await recv(ws)
    assert refused["type"] == "slow_down" and refused["client_id"] == "c-3"
    assert 1 <= refused["retry_after"] <= 60
    assert [m.text for m in hub.received] == ["question 1", "question 2"]


# --- messages ------------------------------------------------------------------------------


async def test_message_is_echoed_then_typing_then_the_reply(client: AppClient, hub: FakeHub) -> None:
    ws, _ = await hello(client)
    hub.gate.clear()
    await say(ws, "  how do I reset my password?  ", client_id="abc-123")

    echo = await recv(ws)
    assert echo == {
        "type": "message",
        "id": 1,
        "author": "customer",
        "text": "how do I reset my password?",
        "citations": [],
        "handoff": False,
        "created_at": "2025-01-02T03:04:05+00:00",
        "reply_to": None,
        "client_id": "abc-123",
    }
    assert await recv(ws) == {"type": "typing", "message_id": 1}

    hub.gate.set()
    reply = await recv(ws)
    assert reply["author"] == "bot" and reply["id"] == 2
    assert reply["text"] == "**Answer** to: how do I reset my password?"
    assert reply["citations"] == [
        {
            "source": "reset-your-password.md",
            "title": "Reset your password",
            "section": "How to reset",
            "score": 0.81,
            "url": "",
        }
    ]
    assert "client_id" not in reply


async def test_the_survey_question_shows_the_scale_and_every_tab_sees_the_score_kept_once(
    client: AppClient, hub: FakeHub
) -> None:
    ws, token = await hello(client)
    await say(ws, "thanks, that fixed it")
    await frames_until_reply(ws)
    address = hub.received[-1].address
    question = hub.add(address, Author.BOT, "How did we do?", survey=SurveyPart.QUESTION)
    await hub.channel.send(address, question)
    assert (await recv(ws))["survey"] == "question"
    other_tab, _ = await session_frame(client, token, after=question.id)

    await ws.send_json({"type": "rating", "message_id": question.id, "score": 4})
    assert await recv(ws) == {"type": "rating", "message_id": question.id, "score": 4}
    assert await recv(other_tab) == {"type": "rating", "message_id": question.id, "score": 4}
    await other_tab.send_json({"type": "rating", "message_id": question.id, "score": 1})
    closed = {"type": "rating", "message_id": question.id, "score": None}
    assert await recv(other_tab) == closed and await recv(ws) == closed
    await ws.send_json({"type": "rating", "message_id": 1, "score": 2})  # the customer's own message
    assert (await recv(ws))["type"] == "error"
    assert hub.ratings == {question.id: 4}


async def test_a_reply_that_overtakes_the_receipt_gets_no_typing_frame(client: AppClient, hub: FakeHub) -> None:
    hub.answer_inline = True  # the reply is pushed before receive() even returns
    ws, _ = await hello(client)
    await say(ws, "quick one")
    frames = [await recv(ws), await recv(ws)]
    assert sorted(f["author"] for f in frames) == ["bot", "customer"]
    await say(ws, "next", client_id="c-2")  # the next frame proves nothing else was queued
    assert (await recv(ws))["text"] in {"next", "**Answer** to: next"}


async def test_a_message_to_a_person_gets_no_typing_frame(client: AppClient, hub: FakeHub) -> None:
    hub.with_person = True  # the conversation waits for staff: the bot will not answer
    ws, _ = await hello(client)
    await say(ws, "are you there?", client_id="c-1")
    assert (await recv(ws))["text"] == "are you there?"
    await say(ws, "hello?", client_id="c-2")  # the next frame proves nothing was sent in between
    assert (await recv(ws))["text"] == "hello?"


async def test_duplicate_client_id_reaches_the_hub_with_the_same_external_id(client: AppClient, hub: FakeHub) -> None:
    ws, token = await hello(client)
    await say(ws, "once", client_id="same")
    await frames_until_reply(ws)
    await ws.close()

    ws2, _ = await hello(client, token, after=2)  # a reconnect that resends its queue
    await say(ws2, "once", client_id="same")
    echo = await recv(ws2)
    assert (echo["id"], echo["client_id"]) == (1, "same")

    await say(ws2, "probe", client_id="probe")  # no typing frame and no second answer came first
    assert (await recv(ws2))["text"] == "probe"
    assert [m.external_id for m in hub.received[:2]] == [hub.received[0].external_id] * 2
    assert len([m for _, m in hub.messages if m.text == "**Answer** to: once"]) == 1


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("not json", "not JSON"),
        ("[1, 2]", "a frame must be a JSON object"),
        ('{"type": "shout"}', "unknown frame type 'shout'"),
        ('{"text": "hi"}', "missing frame type"),
        ('{"type": "message", "id": "c", "text": "   "}', "empty text"),
        ('{"type": "message", "id": "c", "text": 5}', "text must be a string"),
        (
            '{"type": "message", "id": "c", "text": "' + "x" * (MAX_TEXT + 1) + '"}',
            f"text longer than {MAX_TEXT} characters",
        ),
        ('{"type": "message", "id": "<b>", "text": "hi"}', "id must be 1-100 characters of [A-Za-z0-9_-]"),
        ('{"type": "message", "text": "hi"}', "id must be 1-100 characters of [A-Za-z0-9_-]"),
        ('{"type": "hello", "token": null, "after": 0}', "hello was already sent"),
        # deep enough to overflow the JSON parser, yet under the socket's frame size limit
        ("[" * 30000 + "]" * 30000, "frame nested too deeply"),
        (
            '{"type": "message", "id": "c", "text": "bell\\u0007here"}',
            "text holds control characters or invalid unicode",
        ),
    ],
    ids=lambda value: value[:60] if isinstance(value, str) else None,
)
async def test_bad_frames_get_an_error_and_the_socket_stays_usable(client: AppClient, raw: str, reason: str) -> None:
    ws, _ = await hello(client)
    await ws.send_str(raw)
    assert await recv(ws) == {"type": "error", "reason": reason}
    await say(ws, "still there?")
    assert (await recv(ws))["text"] == "still there?"


async def test_text_of_exactly_the_limit_is_accepted(client: AppClient) -> None:
    ws, _ = await hello(client)
    await say(ws, "y" * MAX_TEXT)
    assert (await recv(ws))["author"] == "customer"


async def test_message_before_hello_is_refused(client: AppClient, hub: FakeHub) -> None:
    ws = await client.ws_connect("/widget/ws")
    await say(ws, "hi")
    assert await recv(ws) == {"type": "error", "reason": "send hello first"}
    assert hub.received == []


@pytest.mark.parametrize("after", [-1, "3", True, 1.5, 2**31, 2**63])
async def test_hello_with_a_bad_after_is_refused(client: AppClient, hub: FakeHub, after: Any) -> None:
    ws = await client.ws_connect("/widget/ws")
    await ws.send_str(json.dumps({"type": "hello", "token": None, "after": after}))
    assert await recv(ws) == {"type": "error", "reason": "after must be an integer from 0 to 2147483647"}
    ws2, _ = await hello(client, after=2**31 - 1)  # the largest 32-bit message id is fine
    await say(ws2, "hi")
    assert (await recv(ws2))["text"] == "hi"


async def test_a_hello_whose_replay_fails_leaves_nothing_registered(
    client: AppClient, channel: WebChannel, hub: FakeHub, monkeypatch: pytest.MonkeyPatch
) -> None:
    ws, token = await hello(client)
    await say(ws, "before")
    await frames_until_reply(ws)
    await ws.close()
    await _until_no_sessions(channel)

    real_history = hub.history
    calls = 0

    async def failing_once(address: Address, *, after: int = 0, limit: int = 200) -> list[Any]:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise RuntimeError("database went away")
        return await real_history(address, after=after, limit=limit)

    monkeypatch.setattr(hub, "history", failing_once)
    ws2 = await client.ws_connect("/widget/ws")
    await ws2.send_json({"type": "hello", "token": token, "after": 0})
    assert (await recv(ws2))["type"] == "session"
    assert await recv(ws2) == {"type": "error", "reason": "internal error, please try again"}
    # not half-registered: a push to the session does not reach this socket (the frame after
    # the push is the answer to a probe sent later, not the push)
    assert channel.connected_sessions == 0
    pushed = replace(hub.messages[-1][1], id=99, text="pushed to nobody")
    await channel.send(hub.messages[0][0], pushed)
    await ws2.send_bytes(b"probe")
    assert await recv(ws2) == {"type": "error", "reason": "frames must be JSON text"}

    await ws2.send_json({"type": "hello", "token": token, "after": 0})  # the retry works
    assert (await recv(ws2))["type"] == "session"
    assert [(await recv(ws2))["text"] for _ in range(2)] == ["before", "**Answer** to: before"]
    await say(ws2, "after", client_id="c-2")
    assert (await recv(ws2))["text"] == "after"
    await ws2.close()
    await _until_no_sessions(channel)


async def test_a_closed_socket_leaves_its_session(client: AppClient, channel: WebChannel) -> None:
    ws, _ = await hello(client)
    assert channel.connected_sessions == 1
    await ws.close()
    await _until_no_sessions(channel)


async def _until_no_sessions(channel: WebChannel) -> None:
    for _ in range(300):
        if not channel.connected_sessions:
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"{channel.connected_sessions} sessions still connected")


async def test_binary_frames_are_refused(client: AppClient) -> None:
    ws, _ = await hello(client)
    await ws.send_bytes(b"\x00\x01")
    assert await recv(ws) == {"type": "error", "reason": "frames must be JSON text"}


async def test_a_hub_failure_is_an_error_frame_not_a_dead_socket(
    client: AppClient, hub: FakeHub, caplog: pytest.LogCaptureFixture
) -> None:
    ws, _ = await hello(client)
    hub.fail_next = True
    await say(ws, "first try")
    assert await recv(ws) == {"type": "error", "reason": "internal error, please try again"}
    assert "failed to handle" in caplog.text
    await say(ws, "first try")  # the widget resends with the same client id
    assert (await recv(ws))["text"] == "first try"


async def test_reconnect_with_after_gets_only_newer_messages(client: AppClient, hub: FakeHub) -> None:
    ws, token = await hello(client)
    await say(ws, "one", client_id="c-1")
    await frames_until_reply(ws)
    await ws.close()
    # Meanwhile the bot (or staff) says more, with no socket open: send() still succeeds.
    address = hub.messages[0][0]
    for text in ("while you were away", "and one more", "and another"):
        late = hub.add(address, Author.STAFF, text)
        assert await hub.channel.send(address, late) == str(late.id)

    ws2, _ = await hello(client, token, after=2)
    # history_limit is 3 in these tests, so this also crosses a page boundary
    got = [await recv(ws2) for _ in range(3)]
    assert [(f["id"], f["author"], f["text"]) for f in got] == [
        (3, "staff", "while you were away"),
        (4, "staff", "and one more"),
        (5, "staff", "and another"),
    ]
    await say(ws2, "probe", client_id="p")
    assert (await recv(ws2))["text"] == "probe"


async def test_every_tab_of_a_session_sees_the_echo_and_the_reply(client: AppClient, hub: FakeHub) -> None:
    tab1, token = await hello(client)
    tab2, _ = await hello(client, token)
    hub.gate.clear()
    await say(tab1, "from tab one")
    frames = [await recv(tab2), await recv(tab2)]
    hub.gate.set()
    frames += await frames_until_reply(tab2)
    assert [f["type"] for f in frames] == ["message", "typing", "message"]
    assert frames[0]["text"] == "from tab one"


async def test_other_sessions_see_nothing(client: AppClient) -> None:
    alice, _ = await hello(client)
    bob, _ = await hello(client)
    await say(alice, "private")
    await frames_until_reply(alice)
    await say(bob, "mine", client_id="b")
    assert (await recv(bob))["text"] == "mine"


async def test_stop_closes_open_sockets(client: AppClient, channel: WebChannel) -> None:
    ws, _ = await hello(client)
    await channel.stop()
    msg = await ws.receive(timeout=3)
    assert msg.type in (WSMsgType.CLOSE, WSMsgType.CLOSED, WSMsgType.CLOSING)
    assert channel.connected_sessions == 0


async def test_socket_refused_before_start(aiohttp_client: ClientFactory, settings: Settings) -> None:
    app = web.Application()
    app.add_routes(WebChannel(settings, HubGate().port).routes())
    client = await aiohttp_client(app)
    resp = await client.get("/widget/ws")
    assert resp.status == 503


# --- pages ---------------------------------------------------------------------------------


async def test_demo_page_embeds_the_widget_with_exactly_one_tag(client: AppClient) -> None:
    resp = await client.get("/")
    assert resp.status == 200
    assert resp.content_type == "text/html"
    page = await resp.text()
    assert "Brightdesk" in page
    assert re.findall(r"<script\b[^>]*>", page) == ['<script src="/widget.js" data-color="#c2531c" defer>']


async def test_widget_script_is_served_as_javascript_with_a_cache_header(client: AppClient) -> None:
    resp = await client.get("/widget.js")
    assert resp.status == 200
    assert resp.content_type == "application/javascript"
    assert "max-age" in resp.headers["Cache-Control"]
    body = await resp.text()
    assert "attachShadow" in body and "innerHTML" not in body  # no HTML parsing in the widget
    again = await client.get("/widget.js", headers={"If-None-Match": resp.headers["ETag"]})
    assert again.status == 304
