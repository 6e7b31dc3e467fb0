"""Telegram in the sandbox: the person chats with the bot as Ada, and sees the HTML the adapter
sent through the Bot API stand-in."""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from typing import Any

from pydantic import SecretStr

from channels.telegram.settings import TelegramSettings
from channels.telegram.stand_in import BOT_TOKEN, FakeBotApi
from channels.telegram.stand_in_updates import private_message
from core.sandbox.pane import PaneField
from core.settings import Settings

CUSTOMER = 777
"""The Telegram user the person writes as (Ada)."""


class TelegramPane:
    name = "telegram"
    title = "Telegram"
    role = "you are Ada, chatting with the bot"
    for_staff = False
    fields: tuple[PaneField, ...] = ()

    def __init__(self) -> None:
        self.api = FakeBotApi()
        self._message_ids = itertools.count(1)

    async def start(self) -> None:
        await self.api.start()

    async def stop(self) -> None:
        await self.api.stop()

    def section(self, *, hub_url: str, operator: Settings) -> TelegramSettings:
        return TelegramSettings(bot_token=SecretStr(BOT_TOKEN), api_url=self.api.url, poll_timeout_s=5)

    async def says(self, text: str, fields: Mapping[str, str]) -> None:
        """An update the hub takes on its next long poll."""
        self.api.push_update(private_message(text, user_id=CUSTOMER, message_id=next(self._message_ids)))

    def sent(self) -> list[dict[str, Any]]:
        return [
            {"html": str(call.params.get("text", "")), "meta": "bot · Telegram HTML"}
            for call in self.api.calls_to("sendMessage")
            if call.ok
        ]
