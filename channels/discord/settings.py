"""The `[discord]` section of the settings: this channel's own model, declared through its entry
point (`DiscordChannel.settings_model`), so core's settings name nothing of it."""

from __future__ import annotations

import re

from pydantic import Field, SecretStr, field_validator

from core.settings import Section

_SNOWFLAKE = re.compile(r"\d{15,21}")


class DiscordSettings(Section):
    """A Discord bot in the company's server: on when `bot_token` is set."""

    bot_token: SecretStr | None = Field(None, description="the bot's token (Developer Portal → your app → Bot)")
    support_channels: list[str] = Field(
        default_factory=list,
        description="IDs of the channels where every message is a question: each gets a thread of its own, "
        "answered there (elsewhere in the server the bot answers only when mentioned)",
    )
    public_key: str = Field(
        "",
        description="the app's Public Key (hex, General Information): with it, the survey's scores are buttons, "
        "pressed through the Interactions Endpoint URL https://YOUR-HUB/discord/interactions",
    )
    api_url: str = Field("https://discord.com/api", description="Discord's HTTP API base URL (tests: a fake)")
    gateway_url: str = Field("wss://gateway.discord.gg/", description="Discord's gateway URL (tests: a fake)")
    typing_indicator: bool = Field(True, description='show "Brightdesk Support is typing…" while the bot answers')

    @field_validator("support_channels")
    @classmethod
    def _snowflakes(cls, value: list[str]) -> list[str]:
        for channel in value:
            if not _SNOWFLAKE.fullmatch(channel):
                raise ValueError(f"{channel!r} is not a channel ID (its digits: Developer Mode → Copy Channel ID)")
        return value

    @field_validator("public_key")
    @classmethod
    def _hex_key(cls, value: str) -> str:
        if value and not re.fullmatch(r"[0-9a-fA-F]{64}", value):
            raise ValueError("the Public Key is 64 hex digits (General Information → Public Key)")
        return value.lower()

    @field_validator("api_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        value = value.strip().rstrip("/")
        if not value.startswith(("http://", "https://")):
            raise ValueError(f"{value!r} is not an http(s) URL")
        return value

    @field_validator("gateway_url")
    @classmethod
    def _ws_url(cls, value: str) -> str:
        value = value.strip()
        if not value.startswith(("ws://", "wss://")):
            raise ValueError(f"{value!r} is not a ws(s) URL")
        return value if value.endswith("/") else value + "/"

    @property
    def enabled(self) -> bool:
        return self.bot_token is not None
