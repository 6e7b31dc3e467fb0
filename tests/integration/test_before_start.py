"""Before the hub runs (routes are served from the moment the app is built; the runtime opens
after), every channel refuses the same way: 503 with Retry-After, nothing stored, so the
platform or the caller sends again. A channel holds the hub's ports from the moment it is built
(`core.pipeline.hub_gate`), never None until start."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from aiohttp import web
from pydantic import SecretStr

from channels.api.settings import ApiSettings
from channels.slack.settings import SlackSettings
from channels.slack.stand_in import BOT_TOKEN, FakeSlack
from channels.slack.stand_in_events import message_event, signed_headers
from core.ops.request_guards import storage_unavailable
from core.pipeline.hub_gate import HubGate
from core.registry import load_channels
from core.settings import Settings
from tests.app_client import AppClient
from tests.integration.trusted import API_TOKEN, TRUSTED

SECRET = "signing-secret-for-tests"


async def served_before_start(aiohttp_client: Callable[..., Any], settings: Settings) -> AppClient:
    """The channels' routes with the server's guard, their hub not running yet."""
    app = web.Application(middlewares=[storage_unavailable])
    for channel in load_channels(settings, HubGate().port).values():
        app.add_routes(channel.routes())
    return await aiohttp_client(app)  # type: ignore[no-any-return]


async def test_every_channel_answers_503_with_retry_after_until_the_hub_runs(
    aiohttp_client: Callable[..., Any], slack: FakeSlack, tmp_path: Path
) -> None:
    settings = Settings(
        data_dir=tmp_path,
        channels=["api", "slack"],
        api=ApiSettings(token=SecretStr(API_TOKEN)),
        slack=SlackSettings(bot_token=SecretStr(BOT_TOKEN), signing_secret=SecretStr(SECRET), api_url=slack.base_url),
    )
    client = await served_before_start(aiohttp_client, settings)

    api = await client.post("/api/messages", json={"contact": "c-1", "text": "hello"}, headers=TRUSTED)
    body = json.dumps(message_event(channel="D0CUSTOMER", user="U0CUSTOMER", text="hello", ts="1700000000.000100"))
    slack_event = await client.post("/slack/events", data=body, headers=signed_headers(SECRET, body))

    assert (api.status, api.headers.get("Retry-After")) == (503, "5")
    assert (slack_event.status, slack_event.headers.get("Retry-After")) == (503, "5")
