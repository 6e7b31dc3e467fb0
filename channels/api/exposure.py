"""Who can reach the REST API, decided before `serve` listens.

The API trusts its caller to say which contact it speaks for, so without `api.token` anyone
who can reach it can read any contact's history and memory. On a loopback address only this
machine can; anywhere else the operator must set a token, or say `api.public = true` on
purpose (e.g. a private network they trust).
"""

from __future__ import annotations

from channels.api.settings import ApiSettings
from core.cli.exposure import is_loopback
from core.settings import Settings, SettingsError


def api_exposure(settings: Settings, host: str) -> str:
    """The start-up line saying who may call the API; SettingsError when the API would be
    open to the network by accident."""
    if "api" not in settings.channels:
        return "REST API: off"
    api = settings.section(ApiSettings)
    if api.token is not None:
        return "REST API: callers need the bearer token (api.token)"
    if is_loopback(host):
        return f"REST API: no token, reachable from this machine only ({host})"
    if api.public:
        return (
            f"REST API: OPEN to anyone who can reach {host} — no token, api.public = true; "
            "any caller can read any contact's conversations"
        )
    raise SettingsError(
        f"api.token: required to listen on {host}, a non-loopback address (set SUPPORTHUB_API__TOKEN, "
        "or api.public = true to serve the API without one on purpose)"
    )
