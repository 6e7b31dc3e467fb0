"""The `[sms]` section of the settings: this channel's own model, declared through its entry point."""

from __future__ import annotations

import re

from pydantic import Field, SecretStr, ValidationInfo, field_validator, model_validator

from core.languages import N_
from core.settings import Section

HELP_TEXT = N_("Ask a question and we'll answer by text. Reply STOP to stop messages, START to resume.")
"""The answer to HELP unless the operator writes their own; said in the conversation's
language (a catalog translates the operator's own text too, when it holds it)."""


class SmsSettings(Section):
    """SMS through Twilio; on when the account, its auth token and a sender are set."""

    account_sid: str = Field("", description="the Twilio account (AC…)")
    auth_token: SecretStr | None = Field(
        None, description="the Twilio auth token: API calls, and the webhooks' signatures"
    )
    webhook_signing_key: SecretStr | None = None
    """The secret of a Twilio Webhooks SharedKey, for webhooks Twilio signs with HMAC-SHA256
    (X-Twilio-Webhooks-Signature-Settings); the classic signature uses the auth token."""
    from_number: str = Field("", description="the Twilio number replies come from, E.164 (+15551234567)")
    messaging_service_sid: str = Field("", description="or a Messaging Service (MG…) that picks the number")
    api_url: str = Field("https://api.twilio.com", description="REST API base URL (tests point it at a fake)")
    public_url: str = Field("", description="the hub's public base URL exactly as Twilio calls it")
    max_segments: int = Field(4, ge=1, le=10, description="SMS segments one reply may take (each is billed)")
    plain_letters: bool = Field(
        True,
        description="write letters GSM-7 lacks without their accent (ã → a, ç → c), so a reply in Portuguese, "
        "Spanish or French costs GSM-7 segments (160 characters), not UCS-2 (70); false sends them as written",
    )
    help_text: str = Field(
        HELP_TEXT,
        min_length=1,
        max_length=320,
        description="the answer to HELP (said in the customer's language when a catalog has it)",
    )
    status_callbacks: bool = Field(True, description="ask Twilio to report each reply's delivery")

    @field_validator("api_url", "public_url")
    @classmethod
    def _base_url(cls, value: str, info: ValidationInfo) -> str:
        value = value.strip().rstrip("/")
        if (value or info.field_name == "api_url") and not value.startswith(("http://", "https://")):
            raise ValueError(f"{value!r} is not an http(s) URL")
        return value

    @field_validator("from_number")
    @classmethod
    def _e164(cls, value: str) -> str:
        if value and not re.fullmatch(r"\+[1-9]\d{6,14}", value):
            raise ValueError(f"{value!r} is not an E.164 number like +15551234567")
        return value

    @property
    def enabled(self) -> bool:
        return (
            bool(self.account_sid)
            and self.auth_token is not None
            and bool(self.from_number or self.messaging_service_sid)
        )

    @model_validator(mode="after")
    def _complete(self) -> SmsSettings:
        if self.enabled and not self.public_url:
            raise ValueError(
                "set sms.public_url (SUPPORTHUB_SMS__PUBLIC_URL): Twilio's signatures are checked against it"
            )
        return self
