"""The API as a company's own backend calls it: with `api.token`, so claimed emails and phones
link identities."""

from __future__ import annotations

from pydantic import SecretStr

from channels.api.settings import ApiSettings

API_TOKEN = "integration-token"
TRUSTED = {"Authorization": f"Bearer {API_TOKEN}"}


def trusted_api() -> ApiSettings:
    return ApiSettings(token=SecretStr(API_TOKEN))
