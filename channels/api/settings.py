"""The `[api]` section of the settings: this channel's own model, declared through its entry point."""

from __future__ import annotations

from pydantic import Field, SecretStr

from core.settings import Section


class ApiSettings(Section):
    token: SecretStr | None = Field(
        None, description="bearer token for /api/*; required to serve the API beyond localhost"
    )
    public: bool = Field(False, description="serve the API without a token on a non-loopback address, on purpose")
    max_text_length: int = Field(
        4000, ge=1, le=100_000, description="characters one message's text may have; longer is refused with 413"
    )
