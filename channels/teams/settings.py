"""The `[teams]` section of the settings: this channel's own model, declared through its entry
point (`TeamsChannel.settings_model`), so core's settings name nothing of it."""

from __future__ import annotations

import re

from pydantic import Field, SecretStr, field_validator

from core.settings import Section

_GUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_DOMAIN = re.compile(r"(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}")
_HOST = re.compile(r"(?=.{1,253}$)[a-z0-9]([a-z0-9.-]*[a-z0-9])?|[0-9a-f:]*:[0-9a-f:]*")
MULTI_TENANT = "botframework.com"
"""The token endpoint's tenant for a multi-tenant bot (the Bot Framework's own)."""


class TeamsSettings(Section):
    """A bot (an Azure Bot resource or a Teams Developer Portal registration) customers write to in
    Microsoft Teams: on when `app_id` and `app_password` are set."""

    app_id: str = Field("", description="the bot's Microsoft App ID (its Entra app registration's client ID, a GUID)")
    app_password: SecretStr | None = Field(
        None, description="a client secret of that app registration (Certificates & secrets → Value)"
    )
    tenant_id: str = Field(
        "",
        description="the Entra tenant the app registration lives in (Directory (tenant) ID): required for a "
        "single-tenant bot; empty = a multi-tenant bot (tokens from the botframework.com tenant)",
    )
    login_url: str = Field(
        "https://login.microsoftonline.com",
        description="Entra's sign-in host; the app's tokens come from {login_url}/{tenant}/oauth2/v2.0/token (tests: a fake)",
    )
    openid_metadata_url: str = Field(
        "https://login.botframework.com/v1/.well-known/openidconfiguration",
        description="where the keys that sign Teams' requests are published (tests: a fake)",
    )
    service_url_hosts: list[str] = Field(
        default_factory=lambda: ["smba.trafficmanager.net", "botframework.com", "teams.microsoft.com"],
        description="hosts (each with its subdomains) a conversation's serviceUrl may name: the hub sends replies "
        "and its token only there",
    )
    file_hosts: list[str] = Field(
        default_factory=lambda: ["sharepoint.com"],
        description="hosts (each with its subdomains) the files customers send are fetched from (OneDrive and "
        "SharePoint); no token goes with the request",
    )
    typing_indicator: bool = Field(True, description='show "… is typing" in a chat while the bot writes an answer')

    @field_validator("app_id")
    @classmethod
    def _app_id(cls, value: str) -> str:
        value = value.strip()
        if value and not _GUID.fullmatch(value):
            raise ValueError(f"{value!r} is not a Microsoft App ID (a GUID: Azure Bot → Configuration)")
        return value.lower()

    @field_validator("tenant_id")
    @classmethod
    def _tenant(cls, value: str) -> str:
        value = value.strip().lower()
        if value and not (_GUID.fullmatch(value) or _DOMAIN.fullmatch(value)):
            raise ValueError(f"{value!r} is not a tenant (its Directory (tenant) ID, a GUID, or its domain)")
        return value

    @field_validator("login_url", "openid_metadata_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        value = value.strip().rstrip("/")
        if not value.startswith(("http://", "https://")):
            raise ValueError(f"{value!r} is not an http(s) URL")
        return value

    @field_validator("service_url_hosts", "file_hosts")
    @classmethod
    def _hosts(cls, value: list[str]) -> list[str]:
        hosts = [host.strip().lower().removeprefix("*.").rstrip(".").strip("[]") for host in value]
        for host in hosts:
            if not _HOST.fullmatch(host):
                raise ValueError(f"{host!r} is not a host name (like smba.trafficmanager.net, no scheme or path)")
        return hosts

    @property
    def tenant(self) -> str:
        """The tenant the app's tokens come from."""
        return self.tenant_id or MULTI_TENANT

    @property
    def token_url(self) -> str:
        return f"{self.login_url}/{self.tenant}/oauth2/v2.0/token"

    @property
    def enabled(self) -> bool:
        return bool(self.app_id) and self.app_password is not None
