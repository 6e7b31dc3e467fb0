"""Two teams of three in Chromium, on SQLite and PostgreSQL, with two hubs serving one database (as
two processes of a deployment do): German customers' cases go to the German team by its language
rule and, by round robin, to its members in turn among those signed in and under capacity;
Telegram customers' cases go to the Telegram team by its channel rule. An admin sees both queues
and each one alone; an agent sees only their team's, and is refused the other team's case."""

from __future__ import annotations

from datetime import timedelta
from functools import partial
from typing import Any

import aiohttp
import pytest
from playwright.async_api import expect
from pydantic import SecretStr
from sqlalchemy import select

from channels.telegram.stand_in import FakeBotApi
from channels.telegram.stand_in_updates import private_message
from core.cli.server import RUNTIME
from core.handoff.teams import join_team, save_team
from core.settings import AdminSettings, OutboxSettings
from core.store import staff
from core.store.case_tables import Case
from core.store.db import StaffRole
from tests.browser.conftest import Launch, Live
from tests.browser.test_inbox_browser import OpenPage, join, new_page, telegram_update
from tests.integration.test_telegram import telegram_settings, update
from tests.settle import until

pytestmark = pytest.mark.browser
__all__ = ["new_page"]  # the inbox tests' fixture: a page in a browser context of its own

TOKEN = "dashboard-token-of-the-lead"
GERMAN = "Guten Tag, ich möchte bitte mit einem Menschen sprechen, es geht um meine Rechnung."
ENGLISH = "Hello, can I talk to a person about my invoice please?"


async def two_hubs(launch: Launch, telegram: FakeBotApi, database_url: str) -> tuple[Live, Live]:
    """Two hubs on one database, each with the widget, the REST API, Telegram and the dashboard."""
    hubs = []
    for _ in range(2):
        hubs.append(
            await launch(
                channels=["web", "api", "telegram"],
                database_url=database_url,
                admin=AdminSettings(token=SecretStr(TOKEN)),
                telegram=telegram_settings(telegram.api_url),
                outbox=OutboxSettings(poll_interval_s=0.2, backoff_base_s=0.2),
            )
        )
    await until(lambda: telegram_update(hubs[0], {}), what="the Telegram webhook to answer")
    return hubs[0], hubs[1]


async def on_the_staff(live: Live, name: str, *, signed_in: bool) -> None:
    """Someone who joined (as through their invitation); signed in elsewhere when `signed_in`."""
    run = live.app[RUNTIME].transactions.run
    email = f"{name.lower()}@example.com"
    token = await run(partial(staff.invite, email=email, name=name, role=StaffRole.AGENT, actor="test"))
    person = await run(partial(staff.accept, token=token, name=name, password_hash="not checked here"))
    if signed_in:
        await run(partial(staff.open_session, person=person, ttl=timedelta(hours=8)))


async def hand_over(live: Live, contact: str, text: str) -> str:
    """A REST API customer asks for a person; the case that opened."""
    async with (
        aiohttp.ClientSession() as http,
        http.post(f"{live.url}/api/messages", json={"contact": contact, "text": text}) as response,
    ):
        assert response.status in (200, 202), await response.text()
    return await newest_case(live)


async def newest_case(live: Live) -> str:
    async with live.app[RUNTIME].sessionmaker() as session:
        found = await session.execute(select(Case.id).order_by(Case.opened_at.desc(), Case.id.desc()).limit(1))
        return str(found.scalar_one())


async def case_count(live: Live) -> int:
    async with live.app[RUNTIME].sessionmaker() as session:
        return len((await session.execute(select(Case.id))).all())


@pytest.mark.slow("two hubs, two browser contexts and five customers handed over, on each database")
async def test_two_teams_route_by_language_and_channel_and_each_agent_sees_their_own_queue(
    launch: Launch,
    telegram: FakeBotApi,
    database_url: str,
    new_page: OpenPage,
) -> None:
    first, second = await two_hubs(launch, telegram, database_url)
    run = first.app[RUNTIME].transactions.run
    await run(partial(save_team, name="german", languages="de", round_robin=True, capacity=1, actor="lead"))
    await run(partial(save_team, name="telegram", channels="telegram", actor="lead"))

    lead, ana = await new_page(), await new_page()
    await join(lead, first, email="lead@example.com", name="Lea", role=StaffRole.ADMIN)
    await join(ana, second, email="ana@example.com", name="Ana")
    await on_the_staff(first, "Bo", signed_in=True)
    await on_the_staff(first, "Cy", signed_in=False)
    for name in ("Dee", "Eve", "Fay"):
        await on_the_staff(first, name, signed_in=name != "Fay")
    for member in ("ana", "bo", "cy"):
        await run(partial(join_team, name="german", email=f"{member}@example.com", actor="lead"))
    for member in ("dee", "eve", "fay"):
        await run(partial(join_team, name="telegram", email=f"{member}@example.com", actor="lead"))

    # German customers, on either hub: round robin gives Ana one (she is signed in in the
    # browser), Bo the next (Ana is at her capacity of one), and nobody the third.
    to_ana = await hand_over(first, "klara@example.com", GERMAN)
    to_bo = await hand_over(second, "jonas@example.com", GERMAN)
    unassigned = await hand_over(first, "mia@example.com", GERMAN)
    assert len({to_ana, to_bo, unassigned}) == 3
    assert await telegram_update(second, update(private_message(ENGLISH, message_id=1)))
    await until(lambda: _more_than(first, 3), what="the Telegram customer's case to open")
    on_telegram = await newest_case(first)

    await lead.goto(f"{first.url}/admin/inbox")
    for case_id in (to_ana, to_bo, unassigned):
        await expect(entry(lead, case_id)).to_contain_text("team german")
    await expect(entry(lead, to_ana)).to_contain_text("waiting for Ana")
    await expect(entry(lead, to_bo)).to_contain_text("waiting for Bo")
    await expect(entry(lead, unassigned)).to_contain_text("waiting for a person")
    await expect(lead.locator("#queue li.queued", has_text="team telegram")).to_have_count(1)
    await lead.get_by_role("link", name="Team telegram").click()
    await expect(lead.locator("#queue li.queued")).to_have_count(1)
    await expect(lead.locator("#queue li.queued")).to_contain_text("team telegram")

    await lead.goto(f"{first.url}/admin/inbox/{unassigned}")
    await expect(lead.locator("#history")).to_contain_text(
        "sent the case to the team german (language de); nobody assigned: "
        "Ana at capacity (1), Bo at capacity (1), Cy not signed in"
    )

    await ana.goto(f"{second.url}/admin/inbox")
    await expect(ana.locator("#queue li.queued")).to_have_count(3)
    await expect(ana.locator("#queue li.queued", has_text="team telegram")).to_have_count(0)
    await expect(ana.get_by_role("link", name="My teams' open cases")).to_be_visible()
    await ana.get_by_role("link", name="Mine").click()
    await expect(ana.locator("#queue li.queued")).to_have_count(1)
    await expect(entry(ana, to_ana)).to_be_visible()
    refused = await ana.goto(f"{second.url}/admin/inbox/{on_telegram}")
    assert refused is not None and refused.status == 403
    await expect(ana.locator("body")).to_contain_text("This case is in the team telegram's queue")


def entry(page: Any, case_id: str) -> Any:
    """The case's row in the queue."""
    return page.locator(f'#queue li.queued:has(a[href="/admin/inbox/{case_id}"])')


async def _more_than(live: Live, count: int) -> bool:
    return await case_count(live) > count
