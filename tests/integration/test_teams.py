"""Teams from outside: `supporthub staff team` makes and lists them as docs/inbox.md shows; the
inbox's JSON twin answers a team that does not exist with 400 and the reason; an agent is refused
another team's case — its page, its JSON, its live stream and every action on it — and nothing
they tried is recorded."""

from __future__ import annotations

import re
import shlex
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

from pydantic import SecretStr

from core.cli.server import RUNTIME, create_app
from core.handoff.teams import save_team
from core.settings import AdminSettings, Settings
from tests.app_client import AppClient
from tests.cli_runner import supporthub
from tests.integration.staff_steps import joined

TOKEN = "dashboard-token-of-the-lead"
DOCS = Path(__file__).parents[2] / "docs"


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


async def test_an_agent_is_refused_another_teams_case_and_changes_nothing(
    aiohttp_client: Callable[..., Any], make_settings: Callable[..., Settings]
) -> None:
    client: AppClient = await aiohttp_client(create_app(make_settings(admin=AdminSettings(token=SecretStr(TOKEN)))))
    await client.app[RUNTIME].transactions.run(partial(save_team, name="api", channels="api", actor="lead"))
    headers = {"Authorization": f"Bearer {TOKEN}"}
    async with joined(client, "ana@example.com", name="Ana") as ana:  # on no team
        asked = await client.post("/api/messages", json={"contact": "rosa", "text": "Can I talk to a person?"})
        assert (await asked.json())["reply"]["handoff"] is True
        [case] = await (await client.get("/admin/api/inbox", headers=headers)).json()
        assert case["case"]["team"] == "api"
        page = f"/admin/inbox/{case['case']['id']}"

        assert await (await ana.get("/admin/api/inbox")).json() == []
        for refused in (await ana.get(page), await ana.get(f"/admin/api/inbox/{case['case']['id']}")):
            assert (refused.status, await refused.text()) == (
                403,
                "This case is in the team api's queue; you are not on that team.\n",
            )
        assert (await ana.get(f"{page}/events")).status == 403
        csrf = await ana.csrf()
        for action, fields in (("note", {"text": "mine now"}), ("reply", {"text": "Hello!"}), ("claim", {})):
            tried = await ana.post(f"{page}/{action}", {"csrf": csrf, **fields})
            assert tried.status == 403, action

        seen = await (await client.get(f"/admin/api/inbox/{case['case']['id']}", headers=headers)).json()
        assert seen["case"]["case"]["state"] == "waiting"
        assert [message["author"] for message in seen["conversation"]["messages"]] == ["customer", "bot"]
        assert all(event["actor"] != "Ana" for summary in seen["conversation"]["cases"] for event in summary["events"])


def test_the_command_line_makes_teams_as_the_inbox_docs_show(make_settings: Callable[..., Settings]) -> None:
    settings = make_settings(admin=AdminSettings(token=SecretStr(TOKEN)))
    env = {
        "SUPPORTHUB_DATA_DIR": str(settings.data_dir),
        "SUPPORTHUB_ADMIN__TOKEN": TOKEN,
        "SUPPORTHUB_DATABASE_URL": settings.resolved_database_url,
    }
    for email, name in (("ana@example.com", "Ana"), ("bo@example.com", "Bo")):
        assert supporthub("staff", "invite", email, "--name", name, env=env).exit_code == 0
    doc = (DOCS / "inbox.md").read_text(encoding="utf-8").split("## Teams and routing", 1)[1]
    commands, listed = re.findall(r"```sh\n(.*?)```\n\n```\n(.*?)```", doc, re.S)[0]

    for line in commands.splitlines()[:-1]:
        ran = supporthub(*shlex.split(line)[1:], env=env)
        assert ran.exit_code == 0, ran.output
    assert supporthub("staff", "team", "list", env=env).stdout == listed

    refused = supporthub("staff", "team", "set", "night", "--hours", "monday=22:00-30:00", env=env)
    assert refused.exit_code == 2 and "the hours: monday" in refused.stderr
