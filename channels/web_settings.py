"""The `[web]` section of the settings: this channel's own model, declared through its entry point."""

from __future__ import annotations

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
