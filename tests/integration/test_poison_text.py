"""Text no database keeps — NUL (PostgreSQL refuses it) and lone surrogates (not UTF-8: no
driver encodes them) — arrives on every channel, legally escaped in JSON, percent-encoded in a
form, decoded from a UTF-7 mail. On both databases the customer's message is stored, cleaned
(`core.clean_text`), and answered: never a 500, never a mail refused with 451 for ever, never
an update dropped, and no ERROR in the log (which would print the statement's parameters)."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from email.utils import make_msgid
from typing import Any

import aiosmtplib
import pytest
from pydantic import SecretStr
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

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
from core.store.db import Contact, Message
from tests.app_client import AppClient
from tests.fakes.dovecot import Dovecot
from tests.integration.mailbox_settings import mailbox_settings
from tests.settle import settled, until

POISON = "Nul\x00 and half an emoji \ud83d: how do I reset my password?"
CLEANED = "Nul and half an emoji \ufffd: how do I reset my password?"
NUL_ONLY = "Nul\x00 here: how do I reset my password?"
NUL_CLEANED = "Nul here: how do I reset my password?"
SLACK_SECRET = "signing-secret-for-tests"
TELEGRAM_SECRET = "webhook-secret_for-tests"
PUBLIC_URL = "https://hub.example.com"
SUPPORT = "support@example.com"
CUSTOMER = "ana@customer.example"
FAST_OUTBOX = OutboxSettings(poll_interval_s=0.2, backoff_base_s=0.2)


@pytest.fixture
def settings_on(
    make_settings: Callable[..., Settings], engine: AsyncEngine, database_url: str
) -> Callable[..., Settings]:
    """Settings for an app on the test's database (SQLite, or PostgreSQL emptied by `engine`)."""

    def make(**overrides: Any) -> Settings:
        return make_settings(database_url=database_url, outbox=FAST_OUTBOX, **overrides)

    return make


@pytest.fixture(autouse=True)
def no_errors_logged(caplog: pytest.LogCaptureFixture) -> Any:
    caplog.set_level(logging.WARNING)
    yield
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert not errors, errors


async def hub(aiohttp_client: Callable[..., Any], settings: Settings) -> AppClient:
    return await aiohttp_client(create_app(settings))  # type: ignore[no-any-return]


async def customer_texts(client: AppClient) -> list[str]:
    async with client.app[RUNTIME].sessionmaker() as session:
        rows = await session.execute(select(Message.text).where(Message.author == "customer").order_by(Message.id))
        return list(rows.scalars())


async def contact_names(client: AppClient) -> list[str | None]:
    async with client.app[RUNTIME].sessionmaker() as session:
        return list((await session.execute(select(Contact.display_name))).scalars())


# -- the API and the widget ------------------------------------------------------------------


async def test_the_api(aiohttp_client: Callable[..., Any], settings_on: Callable[..., Settings]) -> None:
    client = await hub(aiohttp_client, settings_on())
    response = await client.post(
        "/api/messages",
        data=json.dumps({"contact": "dana", "text": POISON}),
        headers={"Content-Type": "application/json"},
    )
    assert response.status == 200, await response.text()
    assert "password" in (await response.json())["reply"]["text"].lower()
    assert await customer_texts(client) == [CLEANED]


async def test_the_widget(aiohttp_client: Callable[..., Any], settings_on: Callable[..., Settings]) -> None:
    client = await hub(aiohttp_client, settings_on())
    ws = await client.ws_connect("/widget/ws")
    await ws.send_json({"type": "hello", "token": None, "after": 0})
    assert (await ws.receive_json(timeout=30))["type"] == "session"
    await ws.send_str(json.dumps({"type": "message", "id": "q1", "text": POISON}))
    frames: list[dict[str, Any]] = []
    while not any(f["type"] == "message" and f["author"] == "bot" for f in frames):
        frames.append(await ws.receive_json(timeout=30))
    echo = next(f for f in frames if f["type"] == "message" and f["author"] == "customer")
    assert echo["client_id"] == "q1" and echo["text"] == CLEANED
    assert await customer_texts(client) == [CLEANED]
    await ws.close()


@pytest.mark.parametrize(
    "path",
    ["/api/conversations/ab%00cd", "/api/conversations/ab%00cd/messages", "/api/conversations/%ED%A0%80/messages"],
)
async def test_an_id_looked_up_with_a_nul_is_not_found(
    aiohttp_client: Callable[..., Any], settings_on: Callable[..., Settings], path: str
) -> None:
    client = await hub(aiohttp_client, settings_on())
    response = await client.get(path)
    assert response.status == 404, await response.text()


# -- Slack and Telegram ----------------------------------------------------------------------


async def test_slack(
    aiohttp_client: Callable[..., Any], settings_on: Callable[..., Settings], slack: FakeSlack
) -> None:
    client = await hub(
        aiohttp_client,
        settings_on(
            slack=SlackSettings(
                bot_token=SecretStr(BOT_TOKEN), signing_secret=SecretStr(SLACK_SECRET), api_url=slack.base_url
            )
        ),
    )
    body = json.dumps(message_event(channel="D0DANA", user="U0DANA", text=POISON, ts="1700000001.000100"))
    response = await client.post("/slack/events", data=body, headers=signed_headers(SLACK_SECRET, body))
    assert response.status == 200, await response.text()
    await settled(client.app[RUNTIME].sessionmaker)
    (reply,) = slack.calls("chat.postMessage")
    assert reply["channel"] == "D0DANA" and "password" in json.dumps(reply["blocks"]).lower()
    assert await customer_texts(client) == [CLEANED]


def telegram_update(update_id: int | None = None) -> dict[str, Any]:
    update = private_message(POISON, user_id=903, message_id=1)
    update["message"]["from"]["first_name"] = "Ada\x00 \udce9"  # the sender's name is stored too
    return update if update_id is None else {"update_id": update_id, **update}


async def test_the_telegram_webhook(
    aiohttp_client: Callable[..., Any], settings_on: Callable[..., Settings], telegram: FakeBotApi
) -> None:
    client = await hub(
        aiohttp_client,
        settings_on(
            telegram=TelegramSettings(
                bot_token=SecretStr(TELEGRAM_TOKEN),
                api_url=telegram.api_url,
                public_url=PUBLIC_URL,
                webhook_secret=SecretStr(TELEGRAM_SECRET),
            )
        ),
    )
    headers = {"X-Telegram-Bot-Api-Secret-Token": TELEGRAM_SECRET}

    async def connected() -> bool:  # the webhook answers 503 "starting" until then
        return (await client.post("/telegram/webhook", json={}, headers=headers)).status != 503

    await until(connected, what="the Telegram channel connected")
    response = await client.post(
        "/telegram/webhook",
        data=json.dumps(telegram_update(6001)),
        headers={**headers, "Content-Type": "application/json"},
    )
    assert response.status == 200 and (await response.json()) == {"ok": True}
    (reply,) = await telegram.wait_for_calls("sendMessage", 1, timeout=30)
    assert "password" in reply.params["text"].lower()
    assert await customer_texts(client) == [CLEANED]
    assert await contact_names(client) == ["Ada \ufffd"]


async def test_telegram_polling(
    aiohttp_client: Callable[..., Any], settings_on: Callable[..., Settings], telegram: FakeBotApi
) -> None:
    telegram.push_update(telegram_update())
    client = await hub(
        aiohttp_client,
        settings_on(
            telegram=TelegramSettings(bot_token=SecretStr(TELEGRAM_TOKEN), api_url=telegram.api_url, poll_timeout_s=1)
        ),
    )
    (reply,) = await telegram.wait_for_calls("sendMessage", 1, timeout=30)
    assert "password" in reply.params["text"].lower()
    assert await customer_texts(client) == [CLEANED]


# -- SMS and email ---------------------------------------------------------------------------


async def test_sms(
    aiohttp_client: Callable[..., Any], settings_on: Callable[..., Settings], twilio: FakeTwilio
) -> None:
    """A form decodes as strict UTF-8, which has no surrogates: those bytes are a 400 with a reason."""
    client = await hub(
        aiohttp_client,
        settings_on(
            sms=SmsSettings(
                account_sid=ACCOUNT_SID,
                auth_token=SecretStr(AUTH_TOKEN),
                from_number=HUB_NUMBER,
                api_url=twilio.api_url,
                public_url=PUBLIC_URL,
            )
        ),
    )
    form = incoming_sms(NUL_ONLY, from_="+14155550124")
    response = await client.post("/sms/twilio", data=form, headers=signed_form(f"{PUBLIC_URL}/sms/twilio", form))
    assert response.status == 200, await response.text()
    (sent,) = await twilio.wait_for_sent(1, timeout=30)
    assert "password" in str(sent.params["Body"]).lower()
    assert await customer_texts(client) == [NUL_CLEANED]
    surrogate = await client.post(
        "/sms/twilio",
        data=b"Body=%ED%A0%BD&From=%2B14155550124&MessageSid=SM1",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert surrogate.status == 400 and "not UTF-8" in (await surrogate.json())["error"]


def utf7_mail() -> bytes:
    """A mail in UTF-7 — body, subject and the sender's name — holding a NUL (+AAA-) and the
    first half of an emoji (+2D0-), which Python's UTF-7 decoder turns into a lone surrogate."""
    return (
        "From: =?utf-7?Q?Ana_+2D0-?= <" + CUSTOMER + ">\r\n"
        "To: " + SUPPORT + "\r\n"
        "Subject: =?utf-7?Q?Password_help_+2D0-?=\r\n"
        "Message-ID: " + make_msgid(domain="customer.example") + "\r\n"
        "MIME-Version: 1.0\r\n"
        'Content-Type: text/plain; charset="utf-7"\r\n'
        "Content-Transfer-Encoding: 7bit\r\n"
        "\r\n"
        "Nul+AAA- and half an emoji +2D0-: how do I reset my password?\r\n"
    ).encode("ascii")


async def test_email_through_the_smtp_listener(
    aiohttp_client: Callable[..., Any], settings_on: Callable[..., Settings], relay: SmtpRelay, smtp_port: int
) -> None:
    client = await hub(
        aiohttp_client,
        settings_on(
            email=EmailSettings(
                address=SUPPORT, smtp_host=relay.host, smtp_port=relay.port, smtp_security="none", listen_port=smtp_port
            )
        ),
    )
    errors, reply = await aiosmtplib.send(
        utf7_mail(),
        sender=CUSTOMER,
        recipients=[SUPPORT],
        hostname="127.0.0.1",
        port=smtp_port,
        start_tls=False,
        timeout=30,
    )
    assert errors == {} and reply.startswith("2.0.0"), reply  # 250: stored
    (answer,) = await relay.wait_for(1, timeout=30)
    assert answer.rcpt_tos == (CUSTOMER,) and answer.message["Subject"] == "Re: Password help \ufffd"
    assert await customer_texts(client) == [CLEANED]
    assert await contact_names(client) == ["Ana \ufffd"]


async def test_email_from_an_imap_mailbox(
    aiohttp_client: Callable[..., Any], settings_on: Callable[..., Settings], relay: SmtpRelay, dovecot: Dovecot
) -> None:
    uid = await dovecot.append(utf7_mail())
    client = await hub(
        aiohttp_client,
        settings_on(email=mailbox_settings(SUPPORT, relay, dovecot, poll_interval_s=60)),
    )
    (answer,) = await relay.wait_for(1, timeout=60)
    assert answer.rcpt_tos == (CUSTOMER,)
    assert "\\Seen" in await dovecot.flags(uid)
    assert await customer_texts(client) == [CLEANED]
