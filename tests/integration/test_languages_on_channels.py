"""A customer in each shipped language, on the widget, in a Telegram chat and by email, hears
the hub's greeting, its decline and its handoff notice in that language: the browser's and the
Telegram app's language set the conversation's before a message is sure of one (so a first
"Hallo" is greeted in German), and a mail is sure of its own."""

from __future__ import annotations

import html
from collections.abc import Callable
from typing import Any

import pytest

from channels.email.settings import EmailSettings
from channels.email.stand_in import SmtpRelay
from channels.telegram.stand_in import FakeBotApi
from channels.telegram.stand_in_updates import private_message
from core.answering.offline_responder import GREETING_REPLY, NOT_FOUND
from core.cli.server import create_app
from core.handoff.reach import where_to_reach
from core.languages import _, speaking
from core.settings import HandoffSettings, OutboxSettings, Settings
from core.store.db import Conversation, utcnow
from tests.app_client import AppClient
from tests.integration.app_db import count
from tests.integration.test_email import SUPPORT, body_text, deliver, mail
from tests.integration.test_telegram import deliver as telegram_deliver
from tests.integration.test_telegram import ready, telegram_settings, update
from tests.ports import free_port
from tests.unit.test_catalogs import FIRST_QUESTION, KEYWORDS, LAWYER, TRANSLATED

HELLO = {"de": "Hallo!", "es": "¡Hola!", "fr": "Bonjour !", "pt": "Olá!"}


def said(language: str) -> tuple[str, str, str]:
    """The greeting, the decline and what a customer who needs a person is told, in `language`
    (no staff desk here: where to reach the team, never a person offered)."""
    with speaking(language):
        reach = where_to_reach(HandoffSettings(), now=utcnow())
        return _(GREETING_REPLY), f"{_(NOT_FOUND)} {reach}", reach


@pytest.fixture
def port() -> int:
    return free_port()


@pytest.fixture
async def client(
    aiohttp_client: Callable[..., Any],
    make_settings: Callable[..., Settings],
    telegram: FakeBotApi,
    relay: SmtpRelay,
    port: int,
) -> AppClient:
    settings = make_settings(
        telegram=telegram_settings(telegram.api_url),
        email=EmailSettings(
            address=SUPPORT, smtp_host=relay.host, smtp_port=relay.port, smtp_security="none", listen_port=port
        ),
        handoff=HandoffSettings(keywords=KEYWORDS),
        outbox=OutboxSettings(poll_interval_s=0.2, backoff_base_s=0.2),
    )
    app_client: AppClient = await aiohttp_client(create_app(settings))
    await telegram.wait_for_calls("getWebhookInfo", 1)
    await ready(app_client)
    return app_client


async def _bot_message(ws: Any) -> dict[str, Any]:
    while True:
        frame = await ws.receive_json(timeout=60)
        if frame["type"] == "message" and frame["author"] == "bot":
            return frame  # type: ignore[no-any-return]


@pytest.mark.parametrize("language", TRANSLATED)
async def test_the_widget_speaks_the_visitors_language(client: AppClient, language: str) -> None:
    greeting, decline, handoff = said(language)
    ws = await client.ws_connect("/widget/ws", headers={"Accept-Language": f"{language};q=0.9,en;q=0.5"})
    await ws.send_json({"type": "hello", "token": None, "after": 0, "language": language})
    assert (await ws.receive_json())["type"] == "session"
    replies = []
    for number, text in enumerate([HELLO[language], FIRST_QUESTION[language], LAWYER[language]]):
        await ws.send_json({"type": "message", "id": f"q{number}", "text": text})
        replies.append(await _bot_message(ws))
    await ws.close()
    assert [reply["text"] for reply in replies] == [greeting, decline, handoff]
    assert [reply["language"] for reply in replies] == [language] * 3
    assert replies[2]["handoff"]


@pytest.mark.parametrize("language", TRANSLATED)
async def test_a_telegram_chat_speaks_the_apps_language(client: AppClient, telegram: FakeBotApi, language: str) -> None:
    greeting, decline, handoff = said(language)
    sender = {"id": 940, "is_bot": False, "first_name": "Ana", "language_code": language}
    for number, text in enumerate([HELLO[language], FIRST_QUESTION[language], LAWYER[language]], start=1):
        payload = update(private_message(text, user_id=940, message_id=number, **{"from": sender}))
        assert await telegram_deliver(client, payload) == 200
        await telegram.wait_for_calls("sendMessage", number)
    sent = [html.unescape(call.params["text"]) for call in telegram.calls_to("sendMessage")]
    assert sent == [greeting, decline, handoff]
    assert await count(client, Conversation, Conversation.language == language) == 1


@pytest.mark.parametrize("language", TRANSLATED)
async def test_a_mail_is_answered_in_its_language(
    client: AppClient, relay: SmtpRelay, port: int, language: str
) -> None:
    greeting, decline, handoff = said(language)
    first = mail(FIRST_QUESTION[language], subject="?")
    await deliver(port, first)
    (answer,) = await relay.wait_for(1, timeout=60)
    assert decline in body_text(answer.message).replace("\r\n", "\n")
    await deliver(port, mail(HELLO[language], subject="Re: ?", in_reply_to=first["Message-ID"].strip("<>")))
    greeted = (await relay.wait_for(2, timeout=60))[1]
    assert greeting in body_text(greeted.message).replace("\r\n", "\n")
    await deliver(port, mail(LAWYER[language], subject="Re: ?", in_reply_to=first["Message-ID"].strip("<>")))
    handed = (await relay.wait_for(3, timeout=60))[2]
    assert handoff in body_text(handed.message).replace("\r\n", "\n")
