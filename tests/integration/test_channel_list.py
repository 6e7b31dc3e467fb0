"""`channels`, once set, is the one setting that decides which channels run: a platform's
credentials left in the environment do not switch on a channel it leaves out (a Telegram token
set for another deployment started long polling, and took that bot's updates)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from channels.telegram.stand_in import FakeBotApi
from core.cli.server import create_app
from core.settings import Settings
from tests.integration.test_telegram import telegram_settings


async def test_a_telegram_token_does_not_start_polling_when_channels_leaves_telegram_out(
    aiohttp_client: Callable[..., Any],
    make_settings: Callable[..., Settings],
    telegram: FakeBotApi,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level("INFO")
    settings = make_settings(channels=["web", "api"], telegram=telegram_settings(telegram.api_url, webhook=False))
    client = await aiohttp_client(create_app(settings))

    answered = await client.post("/api/messages", json={"contact": "ana", "text": "How do I reset my password?"})

    assert answered.status == 200 and (await answered.json())["reply"]["citations"]
    assert [call.method for call in telegram.calls] == []  # no getMe, no getUpdates
    said = [record.getMessage() for record in caplog.records]
    assert any(line.startswith("supporthub ready: channels web, api,") for line in said), said
    assert "telegram: off: its settings are set, but the channels setting does not list it" in said
