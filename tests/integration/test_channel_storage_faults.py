"""The database cannot take a message — SQLite locked by another process, PostgreSQL out of
reach (its port closed: nothing listens) — and every channel says "try again" to whoever sent
it (503 with Retry-After, 451 for SMTP, a widget frame, an update left unconfirmed, a mail left
unread), acknowledges nothing it did not store, and takes the message when it comes again."""

from __future__ import annotations

import json
import logging
import sqlite3
import uuid
from collections.abc import AsyncIterator, Callable
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path
from typing import Any, Protocol

import aiosmtplib
import asyncpg
import pytest
from pydantic import SecretStr
from sqlalchemy import select
from sqlalchemy.engine import make_url

from channels.email.settings import EmailSettings
from channels.email.stand_in import SmtpRelay
from channels.slack.settings import SlackSettings
from channels.slack.stand_in import BOT_TOKEN, FakeSlack
from channels.slack.stand_in_events import message_event, signed_headers
from channels.sms.settings import SmsSettings
from channels.telegram.settings import TelegramSettings
from channels.telegram.stand_in import BOT_TOKEN as TELEGRAM_TOKEN
from channels.telegram.stand_in import FakeBotApi
from channels.telegram.stand_in_updates import private_message
from channels.twilio.stand_in import ACCOUNT_SID, AUTH_TOKEN, HUB_NUMBER, FakeTwilio, incoming_sms, signed_form
from core.cli.server import RUNTIME, create_app
from core.settings import OutboxSettings, Settings
from core.store.db import ChannelValue, Message, libpq_url
from tests.app_client import AppClient
from tests.fakes.dovecot import Dovecot
from tests.fakes.tcp_proxy import CuttableProxy
from tests.integration.app_db import count
from tests.integration.mailbox_settings import mailbox_settings
from tests.postgres import postgres_url
from tests.settle import settled, until

pytestmark = pytest.mark.slow(
    "each channel's message meets a database held locked or unreachable, is refused, then is taken once it recovers"
)

QUESTION = "How do I reset my password?"
SLACK_SECRET = "signing-secret-for-tests"
TELEGRAM_SECRET = "webhook-secret_for-tests"
PUBLIC_URL = "https://hub.example.com"
SUPPORT = "support@example.com"
CUSTOMER = "ana@customer.example"
FAST_OUTBOX = OutboxSettings(poll_interval_s=0.2, backoff_base_s=0.2)


class DatabaseFault(Protocol):
    url: str
    """The app's database_url."""

    async def begin(self) -> None: ...

    async def end(self) -> None: ...


class SQLiteLocked:
    """Another process holds SQLite's write lock (a long CLI job would): every write waits out
    the busy timeout, then fails."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self.url = f"sqlite+aiosqlite:///{path}"
        self._holder: sqlite3.Connection | None = None

    async def begin(self) -> None:
        self._holder = sqlite3.connect(self._path, isolation_level=None)
        self._holder.execute("BEGIN IMMEDIATE")

    async def end(self) -> None:
        if self._holder is not None:
            self._holder.execute("ROLLBACK")
            self._holder.close()
            self._holder = None


class PostgresUnreachable:
    """The app reaches its own PostgreSQL database through a proxy whose port closes: pooled
    connections drop, and every new one is refused, as when the server is down."""

    def __init__(self, server: str, name: str, proxy: CuttableProxy) -> None:
        self._proxy = proxy
        self.url = (
            make_url(server).set(host="127.0.0.1", port=proxy.port, database=name).render_as_string(hide_password=False)
        )

    async def begin(self) -> None:
        await self._proxy.close_port()

    async def end(self) -> None:
        await self._proxy.start()


async def _admin(server: str, sql: str) -> None:
    dsn = libpq_url(server)
    assert dsn is not None
    connection = await asyncpg.connect(dsn)
    try:
        await connection.execute(sql)
    finally:
        await connection.close()


@pytest.fixture(params=["sqlite locked", "postgres unreachable"])
async def fault(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[DatabaseFault]:
    if request.param == "sqlite locked":
        locked = SQLiteLocked(tmp_path / "hub.db")
        yield locked
        await locked.end()
        return
    server = postgres_url("the PostgreSQL fault tests")
    name = f"supporthub_{uuid.uuid4().hex[:12]}"
    await _admin(server, f'CREATE DATABASE "{name}"')
    target = make_url(server)
    proxy = CuttableProxy(target.host or "127.0.0.1", target.port or 5432)
    await proxy.start()
    try:
        yield PostgresUnreachable(server, name, proxy)
    finally:
        await proxy.close()
        await _admin(server, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def customer_texts(client: AppClient) -> list[str]:
    async with client.app[RUNTIME].sessionmaker() as session:
        rows = await session.execute(select(Message.text).where(Message.author == "customer").order_by(Message.id))
        return list(rows.scalars())


async def hub(aiohttp_client: Callable[..., Any], settings: Settings) -> AppClient:
    return await aiohttp_client(create_app(settings))  # type: ignore[no-any-return]


# -- the API and the widget ------------------------------------------------------------------


async def test_the_api_answers_503_and_takes_the_retry(
    aiohttp_client: Callable[..., Any], make_settings: Callable[..., Settings], fault: DatabaseFault
) -> None:
    client = await hub(aiohttp_client, make_settings(database_url=fault.url))
    question = {"contact": "dana", "text": QUESTION, "id": "q1"}
    await fault.begin()
    try:
        refused = await client.post("/api/messages", json=question)
        assert refused.status == 503, await refused.text()
        assert refused.headers["Retry-After"].isdigit() and "try again" in (await refused.json())["error"]
    finally:
        await fault.end()
    answered = await client.post("/api/messages", json=question)  # the client's retry
    assert answered.status == 200 and "password" in (await answered.json())["reply"]["text"].lower()
    assert await customer_texts(client) == [QUESTION]


async def test_the_widget_is_told_to_send_again_and_its_resend_is_taken(
    aiohttp_client: Callable[..., Any], make_settings: Callable[..., Settings], fault: DatabaseFault
) -> None:
    client = await hub(aiohttp_client, make_settings(database_url=fault.url))
    ws = await client.ws_connect("/widget/ws")
    await ws.send_json({"type": "hello", "token": None, "after": 0})
    assert (await ws.receive_json(timeout=30))["type"] == "session"
    await ws.send_json({"type": "hello", "token": None, "after": 0})  # answered once the first is done
    assert (await ws.receive_json(timeout=30))["reason"] == "hello was already sent"
    await fault.begin()
    try:
        await ws.send_json({"type": "message", "id": "q1", "text": QUESTION})
        frame = await ws.receive_json(timeout=30)
        assert frame["type"] == "try_again" and frame["client_id"] == "q1" and frame["retry_after"] >= 1, frame
    finally:
        await fault.end()
    await ws.send_json({"type": "message", "id": "q1", "text": QUESTION})  # what the widget does after the wait
    frames: list[dict[str, Any]] = []
    while not any(f["type"] == "message" and f["author"] == "bot" for f in frames):
        frames.append(await ws.receive_json(timeout=30))
    echo = next(f for f in frames if f["type"] == "message" and f["author"] == "customer")
    assert echo["client_id"] == "q1" and echo["text"] == QUESTION
    assert await customer_texts(client) == [QUESTION]
    await ws.close()


# -- Slack and Telegram ------------------------------------------------------------------


async def test_slack_events_get_503_and_the_redelivery_is_answered_once(
    aiohttp_client: Callable[..., Any],
    make_settings: Callable[..., Settings],
    slack: FakeSlack,
    fault: DatabaseFault,
) -> None:
    settings = make_settings(
        database_url=fault.url,
        outbox=FAST_OUTBOX,
        slack=SlackSettings(
            bot_token=SecretStr(BOT_TOKEN), signing_secret=SecretStr(SLACK_SECRET), api_url=slack.base_url
        ),
    )
    client = await hub(aiohttp_client, settings)
    body = json.dumps(message_event(channel="D0DANA", user="U0DANA", text=QUESTION, ts="1700000001.000100"))
    await fault.begin()
    try:
        refused = await client.post("/slack/events", data=body, headers=signed_headers(SLACK_SECRET, body))
        assert refused.status == 503 and refused.headers["Retry-After"].isdigit(), await refused.text()
    finally:
        await fault.end()
    retried = await client.post("/slack/events", data=body, headers=signed_headers(SLACK_SECRET, body, retry_num=1))
    assert retried.status == 200
    await settled(client.app[RUNTIME].sessionmaker)
    (reply,) = slack.calls("chat.postMessage")
    assert reply["channel"] == "D0DANA"
    assert await customer_texts(client) == [QUESTION]


def telegram_settings(telegram: FakeBotApi, *, webhook: bool) -> TelegramSettings:
    extra: dict[str, Any] = {"public_url": PUBLIC_URL, "webhook_secret": SecretStr(TELEGRAM_SECRET)} if webhook else {}
    return TelegramSettings(bot_token=SecretStr(TELEGRAM_TOKEN), api_url=telegram.api_url, poll_timeout_s=1, **extra)


async def test_the_telegram_webhook_gets_503_and_the_redelivery_is_answered_once(
    aiohttp_client: Callable[..., Any],
    make_settings: Callable[..., Settings],
    telegram: FakeBotApi,
    fault: DatabaseFault,
) -> None:
    settings = make_settings(
        database_url=fault.url, outbox=FAST_OUTBOX, telegram=telegram_settings(telegram, webhook=True)
    )
    client = await hub(aiohttp_client, settings)
    headers = {"X-Telegram-Bot-Api-Secret-Token": TELEGRAM_SECRET}

    async def connected() -> bool:  # the webhook answers 503 "starting" until then
        return (await client.post("/telegram/webhook", json={}, headers=headers)).status != 503

    await until(connected, what="the Telegram channel connected")
    update = {"update_id": 5001, **private_message(QUESTION, user_id=901, message_id=1)}
    await fault.begin()
    try:
        refused = await client.post("/telegram/webhook", json=update, headers=headers)
        assert refused.status == 503 and refused.headers["Retry-After"].isdigit(), await refused.text()
    finally:
        await fault.end()
    assert (await client.post("/telegram/webhook", json=update, headers=headers)).status == 200  # Telegram's retry
    await telegram.wait_for_calls("sendMessage", 1, timeout=30)
    await settled(client.app[RUNTIME].sessionmaker)
    assert len(telegram.calls_to("sendMessage")) == 1
    assert await customer_texts(client) == [QUESTION]


def _fetched(telegram: FakeBotApi, update_id: int) -> int:
    """How many getUpdates answers carried the update."""
    return sum(
        1
        for call in telegram.calls_to("getUpdates")
        if any(u.get("update_id") == update_id for u in call.response.get("result") or ())
    )


async def test_telegram_polling_confirms_no_update_it_could_not_store(
    aiohttp_client: Callable[..., Any],
    make_settings: Callable[..., Settings],
    telegram: FakeBotApi,
    fault: DatabaseFault,
) -> None:
    settings = make_settings(
        database_url=fault.url, outbox=FAST_OUTBOX, telegram=telegram_settings(telegram, webhook=False)
    )
    client = await hub(aiohttp_client, settings)
    await telegram.wait_for_calls("getUpdates", 1, ok_only=False)  # polling
    await fault.begin()
    try:
        update_id = telegram.push_update(private_message(QUESTION, user_id=902, message_id=1))
        # fetched, not stored, so not confirmed: the next getUpdates brings it again
        await until(lambda: _fetched(telegram, update_id) >= 2, timeout=60, what="the update fetched twice")
        assert not telegram.calls_to("sendMessage")
    finally:
        await fault.end()
    await telegram.wait_for_calls("sendMessage", 1, timeout=60)
    await settled(client.app[RUNTIME].sessionmaker)
    assert len(telegram.calls_to("sendMessage")) == 1
    assert await customer_texts(client) == [QUESTION]


# -- SMS and email -------------------------------------------------------------------------


async def test_an_sms_gets_503_and_twilios_retry_is_answered_once(
    aiohttp_client: Callable[..., Any],
    make_settings: Callable[..., Settings],
    twilio: FakeTwilio,
    fault: DatabaseFault,
) -> None:
    sms = SmsSettings(
        account_sid=ACCOUNT_SID,
        auth_token=SecretStr(AUTH_TOKEN),
        from_number=HUB_NUMBER,
        api_url=twilio.api_url,
        public_url=PUBLIC_URL,
    )
    client = await hub(aiohttp_client, make_settings(database_url=fault.url, outbox=FAST_OUTBOX, sms=sms))
    form = incoming_sms(QUESTION, from_="+14155550123", message_sid="SM" + "d" * 32)
    headers = signed_form(f"{PUBLIC_URL}/sms/twilio", form)
    await fault.begin()
    try:
        refused = await client.post("/sms/twilio", data=form, headers=headers)
        assert refused.status == 503 and refused.headers["Retry-After"].isdigit(), await refused.text()
    finally:
        await fault.end()
    assert (await client.post("/sms/twilio", data=form, headers=headers)).status == 200
    await twilio.wait_for_sent(1, timeout=30)
    await settled(client.app[RUNTIME].sessionmaker)
    assert len(twilio.sent()) == 1
    assert await customer_texts(client) == [QUESTION]


def question_mail() -> EmailMessage:
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = f"Ana <{CUSTOMER}>", SUPPORT, "Password help"
    message["Message-ID"] = make_msgid(domain="customer.example")
    message.set_content(QUESTION)
    return message


async def test_smtp_gets_451_and_the_senders_retry_is_answered_once(
    aiohttp_client: Callable[..., Any],
    make_settings: Callable[..., Settings],
    relay: SmtpRelay,
    smtp_port: int,
    fault: DatabaseFault,
) -> None:
    email = EmailSettings(
        address=SUPPORT, smtp_host=relay.host, smtp_port=relay.port, smtp_security="none", listen_port=smtp_port
    )
    client = await hub(aiohttp_client, make_settings(database_url=fault.url, outbox=FAST_OUTBOX, email=email))
    mail = question_mail()

    async def deliver() -> None:
        await aiosmtplib.send(
            mail,
            sender=CUSTOMER,
            recipients=[SUPPORT],
            hostname="127.0.0.1",
            port=smtp_port,
            start_tls=False,
            timeout=30,
        )

    await fault.begin()
    try:
        with pytest.raises(aiosmtplib.SMTPDataError) as refused:
            await deliver()
        assert refused.value.code == 451
    finally:
        await fault.end()
    await deliver()  # the sender's server tries again later
    await relay.wait_for(1, timeout=30)
    await settled(client.app[RUNTIME].sessionmaker)
    assert len(relay.messages) == 1
    assert await customer_texts(client) == [QUESTION]


async def test_an_imap_mail_stays_unread_until_it_is_stored(
    aiohttp_client: Callable[..., Any],
    make_settings: Callable[..., Settings],
    relay: SmtpRelay,
    dovecot: Dovecot,
    fault: DatabaseFault,
    caplog: pytest.LogCaptureFixture,
) -> None:
    email = mailbox_settings(SUPPORT, relay, dovecot, poll_interval_s=1)
    client = await hub(aiohttp_client, make_settings(database_url=fault.url, outbox=FAST_OUTBOX, email=email))
    await until(
        lambda: count(client, ChannelValue, ChannelValue.key.startswith("imap:")), what="the poller's first pass"
    )
    await fault.begin()
    try:
        warned = len([r for r in caplog.records if r.levelno >= logging.WARNING])
        uid = await dovecot.append(bytes(question_mail()))
        await until(
            lambda: len([r for r in caplog.records if r.levelno >= logging.WARNING]) > warned,
            timeout=60,
            what="the poller failing to hand the mail over",
        )
        assert "\\Seen" not in await dovecot.flags(uid) and not relay.messages
    finally:
        await fault.end()
    await relay.wait_for(1, timeout=60)
    await until(lambda: _seen(dovecot, uid), what="\\Seen on the mail")
    await settled(client.app[RUNTIME].sessionmaker)
    assert len(relay.messages) == 1
    assert await customer_texts(client) == [QUESTION]


async def _seen(dovecot: Dovecot, uid: int) -> bool:
    return "\\Seen" in await dovecot.flags(uid)


# -- the log ---------------------------------------------------------------------------------


async def test_a_database_out_of_reach_is_said_once_by_the_sweep_and_its_return_once(
    aiohttp_client: Callable[..., Any],
    make_settings: Callable[..., Settings],
    fault: DatabaseFault,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The sweep runs every `outbox.poll_interval_s` (0.2 s here): while PostgreSQL is out of
    reach it warns once, not a traceback each pass, and says when the database answers again."""
    if isinstance(fault, SQLiteLocked):
        pytest.skip("a locked SQLite still answers the sweep's reads")
    await hub(aiohttp_client, make_settings(database_url=fault.url, outbox=FAST_OUTBOX))
    caplog.set_level(logging.INFO, logger="core.pipeline.sweeper")

    def said(words: str) -> list[logging.LogRecord]:
        return [r for r in caplog.records if r.name == "core.pipeline.sweeper" and words in r.getMessage()]

    await fault.begin()
    try:
        await until(lambda: said("cannot reach the database"), what="the sweep's warning")
    finally:
        await fault.end()
    await until(lambda: said("answers the sweep again"), what="the sweep's all-clear")
    assert len(said("cannot reach the database")) == 1
    assert [
        r.getMessage()
        for r in caplog.records
        if r.name in ("core.pipeline.hub", "core.pipeline.sweeper") and r.levelno >= logging.ERROR
    ] == []
