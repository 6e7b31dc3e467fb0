"""Discord in the sandbox: the person writes as a member of the company's server in its support
channel (their first message opens a thread, later ones go in it), through the gateway of the
Discord stand-in, and sees each message the bot posted."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import SecretStr

from channels.discord.settings import DiscordSettings
from channels.discord.stand_in import BOT_TOKEN, SUPPORT_CHANNEL_ID, FakeDiscord
from core.sandbox.pane import PaneField
from core.settings import Settings


class DiscordPane:
    name = "discord"
    title = "Discord"
    role = "you are Ada, writing in the server's #support channel"
    for_staff = False
    fields: tuple[PaneField, ...] = ()

    def __init__(self) -> None:
        self.discord = FakeDiscord()

    async def start(self) -> None:
        await self.discord.start()

    async def stop(self) -> None:
        await self.discord.stop()

    def section(self, *, hub_url: str, operator: Settings) -> DiscordSettings:
        return DiscordSettings(
            bot_token=SecretStr(BOT_TOKEN),
            support_channels=[SUPPORT_CHANNEL_ID],
            api_url=f"{self.discord.url}/api",
            gateway_url=self.discord.gateway_url,
        )

    async def says(self, text: str, fields: Mapping[str, str]) -> None:
        threads = [thread for thread in self.discord.threads if thread["parent_id"] == SUPPORT_CHANNEL_ID]
        if threads:
            await self.discord.dispatch_in_thread(threads[0]["id"], text)
        else:
            await self.discord.dispatch_message(channel_id=SUPPORT_CHANNEL_ID, content=text)

    def sent(self) -> list[dict[str, Any]]:
        return [{"text": str(message.get("content", ""))} for message in self.discord.sent]
