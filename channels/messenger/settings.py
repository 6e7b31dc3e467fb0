"""The `[messenger]` and `[instagram]` sections of the settings: each channel's own model,
declared through its entry point (`settings_model`), so core's settings name nothing of them."""

from __future__ import annotations

import re

from pydantic import Field, SecretStr, field_validator, model_validator

from core.settings import Section


class MetaMessagingSettings(Section):
    """What Messenger and Instagram messaging both take: Meta's Messenger Platform behind one
    Graph API account (a Facebook Page, or an Instagram professional account)."""

    access_token: SecretStr | None = Field(None, description="the access token messages are sent with")
    app_secret: SecretStr | None = Field(
        None, description="the Meta app's secret: every webhook's X-Hub-Signature-256 is checked with it"
    )
    verify_token: SecretStr | None = Field(None, description="the Verify token you typed in the app's webhook settings")
    graph_url: str = Field("https://graph.facebook.com", description="Graph API base URL (tests: a fake)")
    graph_version: str = Field("v23.0", description="the Graph API version called")
    human_agent: bool = Field(
        False,
        description="the app has Meta's Human Agent permission: a staff reply written 24 hours to 7 days after "
        "the customer's last message goes with the HUMAN_AGENT tag instead of waiting for them to write again",
    )
    read_receipts: bool = Field(True, description='mark each customer message seen ("Seen" under it)')
    typing_indicator: bool = Field(True, description="show the typing bubble while the bot writes an answer")

    @property
    def account(self) -> str:
        """The Graph API node messages are sent from."""
        raise NotImplementedError

    @property
    def enabled(self) -> bool:
        return bool(self.account) and self.access_token is not None

    @field_validator("graph_url")
    @classmethod
    def _url(cls, value: str) -> str:
        value = value.strip().rstrip("/")
        if not value.startswith(("http://", "https://")):
            raise ValueError(f"{value!r} is not an http(s) URL")
        return value

    @field_validator("graph_version")
    @classmethod
    def _version(cls, value: str) -> str:
        if not re.fullmatch(r"v\d{1,3}\.\d{1,2}", value):
            raise ValueError(f"{value!r} is not a Graph API version like v23.0")
        return value

    @model_validator(mode="after")
    def _complete(self) -> MetaMessagingSettings:
        if self.enabled and (self.app_secret is None or self.verify_token is None):
            raise ValueError("set app_secret (webhook signatures) and verify_token (the webhook handshake) as well")
        return self


def _node_id(value: str, what: str) -> str:
    if value and not re.fullmatch(r"\d{5,25}", value):
        raise ValueError(f"{value!r} is not {what} (its digits)")
    return value


class MessengerSettings(MetaMessagingSettings):
    """Facebook Messenger: customers who message the company's Facebook Page; on when `page_id`
    and `access_token` (a Page access token) are set."""

    page_id: str = Field(
        "", description="the Facebook Page's ID (digits, from the Page's About or Meta Business Suite)"
    )

    @property
    def account(self) -> str:
        return self.page_id

    @field_validator("page_id")
    @classmethod
    def _page(cls, value: str) -> str:
        return _node_id(value, "a Page ID")


class InstagramSettings(MetaMessagingSettings):
    """Instagram messaging: customers who message the company's Instagram professional account;
    on when `account_id` and `access_token` are set. With Instagram Login the token is an
    Instagram User access token and `graph_url` is graph.instagram.com (the default); with
    Facebook Login, the linked Page's access token and graph.facebook.com."""

    account_id: str = Field("", description="the Instagram professional account's ID (digits)")
    graph_url: str = Field(
        "https://graph.instagram.com",
        description="Graph API base URL: graph.instagram.com (Instagram Login) or graph.facebook.com (Facebook Login)",
    )

    @property
    def account(self) -> str:
        return self.account_id

    @field_validator("account_id")
    @classmethod
    def _account(cls, value: str) -> str:
        return _node_id(value, "an Instagram account ID")
