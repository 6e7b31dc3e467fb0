"""The channels' own words in the customer's language, end to end: a German customer's reply
is delivered by the outbox with its sources headed in German (SMS through the fake Twilio,
Telegram through the fake Bot API, email through a real SMTP relay), and what a channel says
on its own — SMS HELP, Telegram's /help — is German once the conversation is."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from channels.email.settings import EmailSettings
from channels.email.stand_in import SmtpRelay
from channels.sms.settings import HELP_TEXT
from channels.telegram.stand_in import FakeBotApi
from channels.telegram.stand_in_updates import private_message
from channels.twilio.stand_in import FakeTwilio
from core.cli.server import create_app
from core.languages import _, speaking
from core.settings import OutboxSettings, Settings
from core.store.db import Conversation, Message
from tests.app_client import AppClient
from tests.integration.app_db import count
from tests.integration.test_email import SUPPORT, body_text, deliver, mail
from tests.integration.test_sms import sms_settings, text_in
from tests.integration.test_telegram import deliver as telegram_deliver
from tests.integration.test_telegram import ready, telegram_settings, update
from tests.ports import free_port

GERMAN_QUESTION = "Wie richte ich Single Sign-on mit SAML und Okta für unser Team ein? Wir haben den Enterprise-Plan."
"""German for sure (lingua), and about a help-centre article in English (sso-saml.md), so it is answered with sources."""


@pytest.fixture
def port() -> int:
    return free_port()


@pytest.fixture
async def client(
    aiohttp_client: Callable[..., Any],
    make_settings: Callable[..., Settings],
    twilio: FakeTwilio,
    telegram: FakeBotApi,
    relay: SmtpRelay,
    port: int,
) -> AppClient:
    settings = make_settings(
        sms=sms_settings(twilio),
        telegram=telegram_settings(telegram.api_url),
        email=EmailSettings(
            address=SUPPORT, smtp_host=relay.host, smtp_port=relay.port, smtp_security="none", listen_port=port
        ),
        outbox=OutboxSettings(poll_interval_s=0.2, backoff_base_s=0.2),
    )
    app_client: AppClient = await aiohttp_client(create_app(settings))
    await telegram.wait_for_calls("getWebhookInfo", 1)  # connected: the bot knows who it is
    await ready(app_client)
    return app_client


async def test_a_german_text_gets_its_sms_sources_line_in_german_and_help_in_german(
    client: AppClient, twilio: FakeTwilio
) -> None:
    assert (await text_in(client, GERMAN_QUESTION))[0] == 200
    (sent,) = await twilio.wait_for_sent(1)
    body = str(sent.params["Body"])
    assert "\nQuelle: " in body or "\nQuellen: " in body
    assert "Source" not in body
    assert await count(client, Conversation, Conversation.language == "de") == 1

    status, twiml = await text_in(client, "HELP")
    with speaking("de"):
        german_help = _(HELP_TEXT)
    assert status == 200 and german_help.startswith("Stellen Sie eine Frage") and german_help in twiml


async def test_a_german_telegram_question_gets_german_sources_and_a_german_app_gets_german_help(
    client: AppClient, telegram: FakeBotApi
) -> None:
    assert await telegram_deliver(client, update(private_message(GERMAN_QUESTION, user_id=901, message_id=1))) == 200
    (answer,) = await telegram.wait_for_calls("sendMessage", 1)
    assert "<b>Quellen:</b>" in answer.params["text"] and "Sources" not in answer.params["text"]

    newcomer = {"id": 902, "is_bot": False, "first_name": "Jonas", "language_code": "de-AT"}
    assert (
        await telegram_deliver(
            client, update(private_message("/help", user_id=902, message_id=1, **{"from": newcomer}))
        )
        == 200
    )
    help_text = (await telegram.wait_for_calls("sendMessage", 2))[1].params["text"]
    assert help_text.startswith("Stellen Sie mir Ihre Frage in eigenen Worten") and "/human" in help_text
    assert await count(client, Message) == 2  # the German question and its answer; /help is not kept


async def test_a_german_mail_gets_its_sources_headed_in_german_in_both_parts(
    client: AppClient, relay: SmtpRelay, port: int
) -> None:
    await deliver(port, mail(GERMAN_QUESTION, subject="Passwort"))
    (answer,) = await relay.wait_for(1, timeout=30)
    reply = answer.message
    html_part = reply.get_body(("html",))
    assert html_part is not None
    text = body_text(reply).replace("\r\n", "\n")
    assert "\nQuellen:\n" in text and "Sources" not in text
    assert "<strong>Quellen</strong>" in str(html_part.get_content())
    assert reply["Subject"] == "Re: Passwort"


async def test_an_english_text_keeps_its_english_sources_line(client: AppClient, twilio: FakeTwilio) -> None:
    assert (await text_in(client, "How do I reset my password?"))[0] == 200
    (sent,) = await twilio.wait_for_sent(1)
    assert "Source" in str(sent.params["Body"]) and "Quelle" not in str(sent.params["Body"])
