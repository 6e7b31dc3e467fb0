"""Every route of the served application, with every channel and the dashboard on, asked with
bytes in a header that aiohttp's client will not send (not UTF-8, control characters, UTF-8
beyond ASCII), one header at a time, over a raw socket: each answer is below 500 (a 4xx says
why) and nothing is logged as an error. A raw non-ASCII byte in `X-Hub-Signature-256` or in
`Upgrade:` was a 500 and a traceback."""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import pytest
from aiohttp import web
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from pydantic import SecretStr

from channels.discord.settings import DiscordSettings
from channels.discord.stand_in import BOT_TOKEN as DISCORD_TOKEN
from channels.discord.stand_in import FakeDiscord
from channels.email.settings import EmailSettings
from channels.email.stand_in import SmtpRelay
from channels.messenger.settings import InstagramSettings, MessengerSettings
from channels.messenger.stand_in import APP_SECRET as META_APP_SECRET
from channels.messenger.stand_in import IG_ACCESS_TOKEN, IG_ACCOUNT_ID, PAGE_ACCESS_TOKEN, PAGE_ID, FakeMessaging
from channels.messenger.stand_in import VERIFY_TOKEN as META_VERIFY_TOKEN
from channels.slack.settings import SlackSettings
from channels.slack.stand_in import BOT_TOKEN, FakeSlack
from channels.sms.settings import SmsSettings
from channels.teams.stand_in import FakeTeams
from channels.telegram.stand_in import FakeBotApi
from channels.twilio.stand_in import ACCOUNT_SID, AUTH_TOKEN, HUB_NUMBER, FakeTwilio
from channels.whatsapp.settings import WhatsAppSettings
from channels.whatsapp.stand_in import ACCESS_TOKEN, APP_SECRET, PHONE_NUMBER_ID, VERIFY_TOKEN, FakeGraph
from core.cli.server import create_app
from core.settings import AdminSettings, LimitsSettings, Settings
from tests.app_client import AppClient
from tests.integration.test_msteams import teams_settings
from tests.integration.test_telegram import SECRET as TELEGRAM_SECRET
from tests.integration.test_telegram import ready, telegram_settings

ADMIN_TOKEN = "dashboard-token-for-header-bytes"
PUBLIC_URL = "https://hub.example.com"
SUPPORT = "support@example.com"

HEADERS = [
    b"Host",
    b"Authorization",
    b"Cookie",
    b"Content-Type",
    b"Accept",
    b"Accept-Language",
    b"Accept-Encoding",
    b"User-Agent",
    b"Origin",
    b"Referer",
    b"Sec-Fetch-Site",
    b"X-Forwarded-For",
    b"X-Forwarded-Proto",
    b"X-Forwarded-Host",
    b"Forwarded",
    b"X-Request-Id",
    b"If-None-Match",
    b"If-Modified-Since",
    b"Range",
    b"Last-Event-ID",
    b"Upgrade",
    b"Connection",
    b"Sec-WebSocket-Key",
    b"Sec-WebSocket-Version",
    b"Sec-WebSocket-Protocol",
    b"Sec-WebSocket-Extensions",
    b"X-Hub-Signature-256",
    b"X-Slack-Signature",
    b"X-Slack-Request-Timestamp",
    b"X-Slack-Retry-Num",
    b"X-Telegram-Bot-Api-Secret-Token",
    b"X-Twilio-Signature",
    b"X-Twilio-Webhooks-Signature-Settings",
]
"""What any route reads (the common ones, aiohttp's own) and what each route reads of its own
(signatures, the websocket handshake, the inbox's live stream)."""
HANDSHAKE = {
    b"Upgrade": b"websocket",
    b"Connection": b"Upgrade",
    b"Sec-WebSocket-Version": b"13",
    b"Sec-WebSocket-Key": b"dGhlIHNhbXBsZSBub25jZQ==",
}
ACT_WITHOUT_A_BODY = {(b"POST", b"/admin/knowledge/reindex")}
"""Asked without the admin's token: with it, each request would re-index the tests' shared index."""
VALUES = [
    pytest.param(b"sha256=\xff\xfe\xfd", id="not-utf8"),
    pytest.param("sha256=\u00e9\u00b2\u0661".encode(), id="utf8-not-ascii"),
    pytest.param(b"v0=\x01\x1b[0m\x7f", id="control"),
]


def whatsapp(route: str, graph: FakeGraph, twilio: FakeTwilio) -> WhatsAppSettings:
    if route == "cloud":
        return WhatsAppSettings(
            phone_number_id=PHONE_NUMBER_ID,
            access_token=SecretStr(ACCESS_TOKEN),
            app_secret=SecretStr(APP_SECRET),
            verify_token=SecretStr(VERIFY_TOKEN),
            graph_url=graph.api_url,
        )
    return WhatsAppSettings(
        route="twilio",
        account_sid=ACCOUNT_SID,
        auth_token=SecretStr(AUTH_TOKEN),
        from_number=HUB_NUMBER,
        api_url=twilio.api_url,
        public_url=PUBLIC_URL,
    )


@pytest.fixture
async def messaging() -> AsyncIterator[FakeMessaging]:
    """Meta's Graph API for Messenger and Instagram (both channels' calls go to one stand-in here)."""
    fake = FakeMessaging()
    await fake.start()
    yield fake
    await fake.stop()


@pytest.fixture(params=["cloud", "twilio"], ids=["whatsapp-cloud", "whatsapp-twilio"])
async def hub(
    request: pytest.FixtureRequest,
    aiohttp_client: Callable[..., Any],
    make_settings: Callable[..., Settings],
    slack: FakeSlack,
    telegram: FakeBotApi,
    twilio: FakeTwilio,
    graph: FakeGraph,
    messaging: FakeMessaging,
    discord_fake: FakeDiscord,
    teams: FakeTeams,
    relay: SmtpRelay,
    smtp_port: int,
) -> AppClient:
    """Every channel (WhatsApp on either route; Messenger, Instagram, Discord, Teams), and the dashboard."""
    settings = make_settings(
        channels=[
            "web",
            "api",
            "slack",
            "telegram",
            "sms",
            "email",
            "whatsapp",
            "messenger",
            "instagram",
            "discord",
            "teams",
        ],
        email=EmailSettings(
            address=SUPPORT, smtp_host=relay.host, smtp_port=relay.port, smtp_security="none", listen_port=smtp_port
        ),
        limits=LimitsSettings(per_contact="", per_ip="", sessions_per_ip=""),
        admin=AdminSettings(token=SecretStr(ADMIN_TOKEN)),
        slack=SlackSettings(
            bot_token=SecretStr(BOT_TOKEN), signing_secret=SecretStr("slack-secret"), api_url=slack.base_url
        ),
        telegram=telegram_settings(telegram.api_url),
        sms=SmsSettings(
            account_sid=ACCOUNT_SID,
            auth_token=SecretStr(AUTH_TOKEN),
            from_number=HUB_NUMBER,
            api_url=twilio.api_url,
            public_url=PUBLIC_URL,
        ),
        whatsapp=whatsapp(request.param, graph, twilio),
        messenger=MessengerSettings(
            page_id=PAGE_ID,
            access_token=SecretStr(PAGE_ACCESS_TOKEN),
            app_secret=SecretStr(META_APP_SECRET),
            verify_token=SecretStr(META_VERIFY_TOKEN),
            graph_url=messaging.api_url,
        ),
        discord=DiscordSettings(
            bot_token=SecretStr(DISCORD_TOKEN),
            public_key=Ed25519PrivateKey.generate().public_key().public_bytes(Encoding.Raw, PublicFormat.Raw).hex(),
            api_url=f"{discord_fake.url}/api",
            gateway_url=discord_fake.gateway_url,
        ),
        teams=teams_settings(teams),
        instagram=InstagramSettings(
            account_id=IG_ACCOUNT_ID,
            access_token=SecretStr(IG_ACCESS_TOKEN),
            app_secret=SecretStr(META_APP_SECRET),
            verify_token=SecretStr(META_VERIFY_TOKEN),
            graph_url=messaging.api_url,
        ),
    )
    client: AppClient = await aiohttp_client(create_app(settings))
    await ready(client)  # the Telegram channel has connected
    return client


def targets(app: web.Application) -> list[tuple[bytes, bytes]]:
    """(method, path) of every route, a value in each variable part of its path."""
    found: set[tuple[bytes, bytes]] = set()
    for route in app.router.routes():
        canonical = route.resource.canonical if route.resource is not None else "/"
        path = re.sub(r"\{[^}]*\}", "1", canonical)
        methods = ["GET", "POST"] if route.method == "*" else [route.method]
        found |= {(method.encode(), path.encode()) for method in methods}
    return sorted(found)


@dataclass(frozen=True, slots=True)
class Answer:
    """A status and its body (empty for HEAD, 101, 204, 304 and an event stream, left open)."""

    status: int
    body: bytes


async def answer(hub: AppClient, method: bytes, target: bytes, headers: dict[bytes, bytes]) -> Answer:
    """A request written byte for byte on a connection of its own, and its answer, read to its
    end (its length, its last chunk, or the server closing) so that a handler failing after its
    first bytes has logged it before the next request."""
    reader, writer = await asyncio.open_connection(hub.server.host, hub.server.port)
    fields = {
        b"host": f"{hub.server.host}:{hub.server.port}".encode(),
        b"connection": b"close",
        b"content-length": b"0",
    } | {name.lower(): value for name, value in headers.items()}
    head = b"\r\n".join([method + b" " + target + b" HTTP/1.1", *(n + b": " + v for n, v in fields.items())])
    try:
        writer.write(head + b"\r\n\r\n")
        await writer.drain()
        status = int((await reader.readline()).split()[1])
        answered: dict[bytes, bytes] = {}
        while (line := await reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.partition(b":")
            answered[name.strip().lower()] = value.strip().lower()
        if method == b"HEAD" or status in (101, 204, 304):
            return Answer(status, b"")
        if answered.get(b"content-type", b"").startswith(b"text/event-stream"):
            return Answer(status, b"")  # never ends
        if b"content-length" in answered:
            return Answer(status, await reader.readexactly(int(answered[b"content-length"])))
        if answered.get(b"transfer-encoding") == b"chunked":
            return Answer(status, await reader.readuntil(b"\r\n0\r\n\r\n"))
        return Answer(status, await reader.read())
    finally:
        writer.close()


async def usual_headers(hub: AppClient, method: bytes, target: bytes) -> dict[bytes, bytes]:
    """What the route takes, so that the header tried in its place gets as far as the route reads
    it: the admin's token, a fresh Slack timestamp and Telegram's secret (each read only where it
    belongs), the websocket handshake where the route switches to one, and for a POST, JSON
    unless the route refuses it as the wrong type (then a form)."""
    usual = {
        b"Authorization": b"" if (method, target) in ACT_WITHOUT_A_BODY else f"Bearer {ADMIN_TOKEN}".encode(),
        b"X-Slack-Request-Timestamp": str(int(time.time())).encode(),
        b"X-Telegram-Bot-Api-Secret-Token": TELEGRAM_SECRET.encode(),
    }
    if method == b"GET" and (await answer(hub, method, target, usual | HANDSHAKE)).status == 101:
        return usual | HANDSHAKE
    if method == b"POST":
        json_type = usual | {b"Content-Type": b"application/json"}
        if (await answer(hub, method, target, json_type)).status != 415:
            return json_type
        return usual | {b"Content-Type": b"application/x-www-form-urlencoded"}
    return usual


@pytest.mark.slow("about 2,700 requests to a hub with every channel on, for each kind of byte")
@pytest.mark.parametrize("value", VALUES)
async def test_every_route_answers_a_header_of_odd_bytes_below_500(
    hub: AppClient, caplog: pytest.LogCaptureFixture, value: bytes
) -> None:
    failures = []
    for method, target in targets(hub.app):
        usual = await usual_headers(hub, method, target)
        for header in HEADERS:
            caplog.clear()
            answered = await answer(hub, method, target, usual | {header: value})
            errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
            unexplained = answered.status >= 400 and method != b"HEAD" and not answered.body.strip()
            if answered.status >= 500 or errors or unexplained:
                failures.append((method.decode(), target.decode(), header.decode(), answered.status, errors[:1]))
    assert not failures, "\n".join(map(str, failures))
