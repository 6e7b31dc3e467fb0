"""Teams from outside: `supporthub staff team` makes and lists them as docs/inbox.md shows, and the
inbox's JSON twin answers a team that does not exist with 400 and the reason."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

from pydantic import SecretStr

from core.cli.server import RUNTIME, create_app
from core.handoff.teams import save_team
from core.settings import AdminSettings, Settings
from tests.app_client import AppClient

TOKEN = "dashboard-token-of-the-lead"


async def test_a_team_that_does_not_exist_is_a_bad_request(
    aiohttp_client: Callable[..., Any], make_settings: Callable[..., Settings]
) -> None:
    client: AppClient = await aiohttp_client(create_app(make_settings(admin=AdminSettings(token=SecretStr(TOKEN)))))
    await client.app[RUNTIME].transactions.run(partial(save_team, name="german", languages="de", actor="lead"))
    headers = {"Authorization": f"Bearer {TOKEN}"}

    missing = await client.get("/admin/api/inbox?team=french", headers=headers)
    assert (missing.status, await missing.text()) == (400, "there is no team 'french'\n")
    german = await client.get("/admin/api/inbox?team=german", headers=headers)
    assert german.status == 200 and await german.json() == []
