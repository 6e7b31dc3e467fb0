"""The `[telegram]` section of the settings: this channel's own model, declared through its entry point."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, SecretStr, field_validator, model_validator

from core.languages import N_
from core.settings import Section

WELCOME = N_(
    "Hi! Ask me anything about our product and I'll answer from our help centre. Send /human to reach a person."
)
"""The answer to /start unless the operator writes their own; said in the customer's language
(a catalog translates the operator's own text too, when it holds it)."""


class TelegramSettings(Section):
    """Telegram as a customer channel; on when `bot_token` is set. With `public_url` updates
    arrive on `POST /telegram/webhook`, otherwise the hub long-polls `getUpdates`."""

    bot_token: SecretStr | None = Field(None, description="the bot's token from BotFather; set = Telegram is on")
    api_url: str = Field("https://api.telegram.org", description="Bot API base URL (tests and local Bot API servers)")
    public_url: str = Field("", description="the hub's public base URL; set = webhook mode, empty = long polling")
    webhook_secret: SecretStr | None = None
    """Telegram sends it in X-Telegram-Bot-Api-Secret-Token with every update (1–256 of A–Z a–z 0–9 _ -)."""
    welcome: str = Field(
        WELCOME,
        description="the answer to /start (said in the customer's language when a catalog has it)",
    )
    group_mode: Literal["mention", "all"] = Field(
        "mention", description="in groups: answer only when mentioned, replied to or commanded; or every message"
    )
    poll_timeout_s: int = Field(30, ge=1, le=50, description="how long one getUpdates call waits for news (seconds)")

    @field_validator("api_url")
    @classmethod
    def _base_url(cls, value: str) -> str:
        value = value.strip().rstrip("/")
        if not value.startswith(("http://", "https://")):
            raise ValueError(f"{value!r} is not an http(s) URL")
        return value

    @field_validator("public_url")
    @classmethod
    def _https_url(cls, value: str) -> str:
        value = value.strip().rstrip("/")
        if value and not value.startswith("https://"):
            raise ValueError(f"{value!r}: Telegram sends webhooks only to https:// URLs (ports 443, 80, 88 or 8443)")
        return value

    @field_validator("webhook_secret")
    @classmethod
    def _secret_token(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", value.get_secret_value()):
            raise ValueError("must be 1–256 characters of A–Z, a–z, 0–9, _ and - (Telegram's rule for secret_token)")
        return value

    @model_validator(mode="after")
    def _complete(self) -> TelegramSettings:
        if self.bot_token is not None and self.public_url and self.webhook_secret is None:
            raise ValueError("webhook mode (public_url is set) needs SUPPORTHUB_TELEGRAM__WEBHOOK_SECRET")
        return self
