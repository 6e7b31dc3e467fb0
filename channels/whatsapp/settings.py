"""The `[whatsapp]` section of the settings: this channel's own model, declared through its
entry point (`WhatsAppChannel.settings_model`), so core's settings name nothing of it."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, SecretStr, ValidationInfo, field_validator, model_validator

from core.settings import Section

E164 = re.compile(r"\+[1-9]\d{6,14}")


class WhatsAppSettings(Section):
    """WhatsApp Business through Meta's Cloud API (`route = "cloud"`) or Twilio's WhatsApp
    sender (`route = "twilio"`); on when the chosen route's credentials are set."""

    route: Literal["cloud", "twilio"] = Field(
        "cloud", description="cloud: Meta's Cloud API; twilio: a Twilio WhatsApp sender"
    )

    # -- Meta's Cloud API -------------------------------------------------------------------
    phone_number_id: str = Field("", description="cloud: the business number's Phone number ID (digits)")
    access_token: SecretStr | None = Field(None, description="cloud: a system user's access token")
    app_secret: SecretStr | None = Field(
        None, description="cloud: the Meta app's secret: every webhook's X-Hub-Signature-256 is checked with it"
    )
    verify_token: SecretStr | None = Field(
        None, description="cloud: the Verify token you typed in the app's webhook settings"
    )
    graph_url: str = Field("https://graph.facebook.com", description="cloud: Graph API base URL (tests: a fake)")
    graph_version: str = Field("v23.0", description="cloud: the Graph API version called")

    # -- Twilio -----------------------------------------------------------------------------
    account_sid: str = Field("", description="twilio: the account (AC…)")
    auth_token: SecretStr | None = Field(None, description="twilio: the auth token (API calls, webhook signatures)")
    webhook_signing_key: SecretStr | None = None
    """twilio: the secret of a Webhooks SharedKey, for webhooks Twilio signs with HMAC-SHA256."""
    from_number: str = Field("", description="twilio: the WhatsApp sender's number, E.164 (+15551234567)")
    messaging_service_sid: str = Field("", description="twilio: or a Messaging Service (MG…) holding the sender")
    api_url: str = Field("https://api.twilio.com", description="twilio: REST API base URL (tests: a fake)")
    public_url: str = Field("", description="twilio: the hub's public base URL exactly as Twilio calls it")
    status_callbacks: bool = Field(True, description="twilio: ask Twilio to report each reply's delivery")

    # -- the 24-hour rule -------------------------------------------------------------------
    template: str = Field(
        "",
        description="an approved template for replies written more than 24 hours after the customer's last "
        "message: its name (cloud) or Content SID HX… (twilio); empty = such replies are held until the "
        "customer writes again, and staff are told",
    )
    template_language: str = Field("en", description="cloud: the template's approved language code (en, en_US)")
    template_languages: dict[str, str] = Field(
        default_factory=dict,
        description="per customer language, the template in it: a language code (cloud: the same template "
        'approved in that language, {de = "de", pt = "pt_BR"}) or a Content SID (twilio)',
    )
    template_parameter: bool = Field(
        True, description="the template's body has one parameter {{1}}: it gets the reply's first line"
    )

    # -- what customers see -----------------------------------------------------------------
    read_receipts: bool = Field(True, description="cloud: mark each customer message read (blue ticks)")
    typing_indicator: bool = Field(True, description='cloud: show "typing…" while the bot writes an answer')

    @field_validator("graph_url", "api_url", "public_url")
    @classmethod
    def _base_url(cls, value: str, info: ValidationInfo) -> str:
        value = value.strip().rstrip("/")
        if (value or info.field_name != "public_url") and not value.startswith(("http://", "https://")):
            raise ValueError(f"{value!r} is not an http(s) URL")
        return value

    @field_validator("graph_version")
    @classmethod
    def _version(cls, value: str) -> str:
        if not re.fullmatch(r"v\d{1,3}\.\d{1,2}", value):
            raise ValueError(f"{value!r} is not a Graph API version like v23.0")
        return value

    @field_validator("phone_number_id")
    @classmethod
    def _digits(cls, value: str) -> str:
        if value and not re.fullmatch(r"\d{5,20}", value):
            raise ValueError(f"{value!r} is not a Phone number ID (its digits, from WhatsApp Manager)")
        return value

    @field_validator("from_number")
    @classmethod
    def _e164(cls, value: str) -> str:
        value = value.removeprefix("whatsapp:")
        if value and not E164.fullmatch(value):
            raise ValueError(f"{value!r} is not an E.164 number like +15551234567")
        return value

    @property
    def enabled(self) -> bool:
        if self.route == "cloud":
            return bool(self.phone_number_id) and self.access_token is not None
        return (
            bool(self.account_sid)
            and self.auth_token is not None
            and bool(self.from_number or self.messaging_service_sid)
        )

    def template_for(self, language: str | None) -> tuple[str, str] | None:
        """The template (name or Content SID) and its language code for a customer speaking
        `language`; None when no template is configured."""
        if not self.template:
            return None
        chosen = self.template_languages.get(language or "")
        if self.route == "twilio":
            return (chosen or self.template), language or self.template_language
        return self.template, chosen or self.template_language

    @model_validator(mode="after")
    def _complete(self) -> WhatsAppSettings:
        if not self.enabled:
            return self
        if self.route == "cloud" and (self.app_secret is None or self.verify_token is None):
            raise ValueError(
                "the Cloud API route needs SUPPORTHUB_WHATSAPP__APP_SECRET (webhook signatures) and "
                "SUPPORTHUB_WHATSAPP__VERIFY_TOKEN (the webhook handshake)"
            )
        if self.route == "twilio" and not self.public_url:
            raise ValueError(
                "set whatsapp.public_url (SUPPORTHUB_WHATSAPP__PUBLIC_URL): Twilio's signatures are checked against it"
            )
        return self
