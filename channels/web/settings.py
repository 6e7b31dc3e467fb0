"""The `[web]` section of the settings: this channel's own model, declared through its entry point."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, SecretStr, field_validator

from core.settings import Section


class WebSettings(Section):
    session_secret: SecretStr | None = Field(
        None, description="signs widget sessions; unset = generated once into data_dir"
    )
    identity_secret: SecretStr | None = None
    """Shared with the embedding site, which signs a visitor's email with it (HMAC-SHA256)."""
    title: str = Field("Help", description="the widget panel's title (a page's data-title wins)")
    history_limit: int = Field(200, ge=1, le=5000, description="messages a returning visitor's widget shows again")
    session_days: int = Field(30, ge=1, le=3650, description="a visitor's session ends after this long away")
    allowed_origins: list[str] = Field(
        default_factory=list,
        description="sites (https://www.example.com) whose pages may open the widget; empty = any site",
    )
    color: str = Field(
        "#3157d5",
        description="the brand colour (#rrggbb) of the launcher, the header, the customer's bubbles and the send "
        "button; the text on it is white or black, whichever keeps WCAG AA contrast (a page's data-color wins)",
    )
    launcher_text: str = Field(
        "", max_length=40, description='text beside the launcher\'s icon ("Chat with us"); empty = the round icon'
    )
    greeting: str = Field(
        "Ask us anything \u2014 we usually answer right away.",
        min_length=1,
        max_length=300,
        description="what an empty conversation shows (data-greeting)",
    )
    avatar_url: str = Field("", description="an image URL (https://…/logo.png) shown round in the header (data-avatar)")
    position: Literal["right", "left"] = Field(
        "right", description="the page corner the launcher sits in (data-position)"
    )

    @field_validator("color")
    @classmethod
    def _color(cls, value: str) -> str:
        colour = value.strip().lower()
        if re.fullmatch(r"#[0-9a-f]{3}", colour):
            colour = "#" + "".join(2 * c for c in colour[1:])
        if not re.fullmatch(r"#[0-9a-f]{6}", colour):
            raise ValueError(f"{value!r} is not a colour like '#0a7d32'")
        return colour

    @field_validator("avatar_url")
    @classmethod
    def _avatar(cls, value: str) -> str:
        url = value.strip()
        if url and not url.startswith(("https://", "http://")):
            raise ValueError(f"{value!r} is not an image URL like 'https://www.example.com/logo.png'")
        return url

    @property
    def branding(self) -> dict[str, str]:
        """What the widget script starts with (`channels.web.assets`); the page's data-* win."""
        return {
            "color": self.color,
            "launcher_text": self.launcher_text,
            "greeting": self.greeting,
            "avatar_url": self.avatar_url,
            "position": self.position,
        }

    @field_validator("allowed_origins")
    @classmethod
    def _origins(cls, values: list[str]) -> list[str]:
        origins = []
        for value in values:
            origin = value.strip().rstrip("/").lower()
            scheme, _, host = origin.partition("://")
            if scheme not in ("http", "https") or not host or "/" in host:
                raise ValueError(f"{value!r} is not an origin like 'https://www.example.com'")
            origins.append(origin)
        return origins
