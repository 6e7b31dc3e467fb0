"""A wrong answer on the dashboard, as a support lead meets it (issue 55, item 8): customers ask
through the REST channel and the bot answers each from the sample help centre; one of them
writes back "that's not it". The overview no longer calls every answer resolved — it says how
many look resolved, how many look wrong, and what the hub cannot know — and Knowledge gaps lists
the wrong-looking answer with its question, the article it cited and why, behind the staff
login like the rest of /admin. On SQLite and PostgreSQL."""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from typing import Any

import pytest
from pydantic import SecretStr

from core.cli.server import create_app
from core.settings import AdminSettings, Settings
from tests.app_client import AppClient
from tests.integration.test_admin_access import BEARER, TOKEN
from tests.integration.test_api import ask

pytestmark = pytest.mark.postgres

WRONG = "How do I export my projects to a spreadsheet?"
HELPED = ["How do I reset my password?", "How do I invite a teammate?"]


@pytest.fixture
async def hub(
    aiohttp_client: Callable[..., Any], make_settings: Callable[..., Settings], database_url: str
) -> AppClient:
    app = create_app(make_settings(database_url=database_url, admin=AdminSettings(token=SecretStr(TOKEN))))
    return await aiohttp_client(app)  # type: ignore[no-any-return]


async def test_an_answer_followed_by_thats_not_it_is_not_resolved_and_is_listed_beside_the_gaps(
    hub: AppClient,
) -> None:
    for number, question in enumerate(HELPED):
        reply = (await ask(hub, question, contact=f"helped{number}@example.com"))["reply"]
        assert reply["citations"] and not reply["handoff"], reply
        await ask(hub, "thanks, that worked!", contact=f"helped{number}@example.com")
    wrong = await ask(hub, WRONG, contact="dana@example.com")
    cited = wrong["reply"]["citations"][0]
    assert not wrong["reply"]["handoff"]
    await ask(hub, "that's not it", contact="dana@example.com")

    overview = await (await hub.get("/admin/api/overview?period=today", headers=BEARER)).json()
    answers = overview["outcomes"]["answered"]
    assert overview["resolution"] == {
        "answers": answers,
        "resolved": answers - 1,
        "looks_wrong": 1,
        "escalated_or_down": 0,
        "left_silent": 0,
        "rate": (answers - 1) / answers,
    }
    page = await (await hub.get("/admin?period=today", headers=BEARER)).text()
    counts = page[page.index('id="resolution-counts"') :]
    assert f"{answers} answers: {answers - 1} look resolved, 1 look wrong" in counts
    unknown = page[page.index('id="resolution-unknown"') :]
    assert "the hub cannot know whether they were helped" in unknown

    listed = await (await hub.get("/admin/api/wrong-answers?period=today", headers=BEARER)).json()
    assert listed["total"] == 1
    [row] = listed["answers"]
    assert (row["question"], row["signal"], row["next_message"], row["source"]) == (
        WRONG,
        "said it did not help",
        "that's not it",
        cited["source"],
    )
    assert row["conversation_id"] == wrong["conversation_id"]

    gaps = await (await hub.get("/admin/gaps?period=today", headers=BEARER)).text()
    table = gaps[gaps.index('<table id="wrong-answers">') : gaps.index("</table>", gaps.index("wrong-answers"))]
    cells = [
        html.unescape(re.sub(r"<[^>]+>", "", cell)).strip() for cell in re.findall(r"<td>(.*?)</td>", table, flags=re.S)
    ]
    assert cells[1] == WRONG and cells[2].startswith(cited["title"])
    assert cells[3] == "said it did not help: “that's not it”"
    assert f'href="/admin/conversations/{wrong["conversation_id"]}"' in table

    for path in ["/admin/gaps", "/admin/api/wrong-answers"]:
        assert (await hub.get(path)).status == 401, path
