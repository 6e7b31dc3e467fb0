"""The SLA counted in business hours, on SQLite and PostgreSQL, with the clock frozen: the SLA
job, the breach gauge /metrics serves, the dashboard's count and its case queue find the same
cases past the SLA — a case opened Friday 17:25 with 30 minutes is due Monday 09:25, not
Friday 17:55."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from functools import partial
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from pydantic import SecretStr
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from core.admin.queries.operations import case_queue
from core.admin.queries.overview import open_cases
from core.admin.views.render import when
from core.cli.server import create_app
from core.handoff.desk_store import remind_overdue
from core.handoff.hours import Sla
from core.ops.metrics_snapshot import sla_breaches
from core.settings import AdminSettings, HandoffSettings, HoursSettings, Settings
from core.store.case_tables import Case
from core.store.db import Contact, Conversation, Message
from core.store.transactions import Transactions
from tests.app_client import AppClient
from tests.integration.staff_steps import on_staff

pytestmark = pytest.mark.postgres

BERLIN = ZoneInfo("Europe/Berlin")
WEEKDAYS = dict.fromkeys(("monday", "tuesday", "wednesday", "thursday", "friday"), "09:00-17:30")
TOKEN = "dashboard-token-of-the-lead"
SLA = Sla.of(HandoffSettings(sla_minutes=30, hours=HoursSettings(timezone="Europe/Berlin", **WEEKDAYS)))


def berlin(day: int, hour: int, minute: int = 0) -> datetime:
    """A moment in the week of Friday 24 October 2025 (Berlin leaves summer time that Sunday)."""
    return datetime(2025, 10, day, hour, minute, tzinfo=BERLIN)


CASES = {
    "friday-1600": berlin(24, 16),  # due Friday 16:30
    "friday-1725": berlin(24, 17, 25),  # due Monday 09:25
    "friday-1729": berlin(24, 17, 29),  # due Monday 09:29
    "saturday": berlin(25, 10),  # opened out of hours: due Monday 09:30
    "answered": berlin(24, 15),  # staff replied at 15:10: never past the SLA
}


@pytest.fixture
async def cases(sessionmaker: async_sessionmaker[AsyncSession]) -> async_sessionmaker[AsyncSession]:
    async with sessionmaker.begin() as session:
        session.add(Contact(id="c1"))
        for case_id in CASES:
            session.add(Conversation(id=f"conv-{case_id}", contact_id="c1", channel="api", chat_id=case_id))
        await session.flush()
        for case_id, opened_at in CASES.items():
            session.add(
                Case(
                    id=case_id,
                    conversation_id=f"conv-{case_id}",
                    state="waiting",
                    rule="human_request",
                    reason="r",
                    opened_at=opened_at,
                )
            )
        session.add(
            Message(
                conversation_id="conv-answered",
                channel="api",
                author="staff",
                text="on it",
                created_at=berlin(24, 15, 10),
            )
        )
    return sessionmaker


@pytest.mark.parametrize(
    ("now", "past"),
    [
        (berlin(24, 17, 50), {"friday-1600"}),  # wall-clock time would add nothing yet either
        (berlin(25, 12), {"friday-1600"}),  # Saturday: Friday 17:25 waited 18 h, but 5 min of business time
        (berlin(27, 9, 26), {"friday-1600", "friday-1725"}),
        (berlin(27, 9, 30), {"friday-1600", "friday-1725", "friday-1729", "saturday"}),
    ],
)
async def test_the_sla_job_the_gauge_and_the_dashboard_agree_in_business_time(
    cases: async_sessionmaker[AsyncSession],
    engine: AsyncEngine,
    transactions: Transactions,
    now: datetime,
    past: set[str],
) -> None:
    async with cases() as session:
        counts = await open_cases(session, now=now, sla=SLA)
        queue = await case_queue(session, now=now, sla=SLA)
    async with engine.connect() as connection:
        gauge = await sla_breaches(connection, now=now, sla=SLA)
    reminded = await transactions.run(partial(remind_overdue, now=now, sla=SLA, push=frozenset()))

    assert {case.case_id for case in reminded} == past
    assert gauge == counts.breached == len(past)
    assert {case.id for case in queue if case.sla_breached} == past


async def test_the_case_queue_says_when_each_case_is_due(cases: async_sessionmaker[AsyncSession]) -> None:
    async with cases() as session:
        queue = await case_queue(session, now=berlin(25, 12), sla=SLA)
    due = {case.id: case.due_at.astimezone(BERLIN) for case in queue}
    assert due["friday-1725"] == berlin(27, 9, 25)  # not Friday 17:55
    assert due["saturday"] == berlin(27, 9, 30)
    assert due["friday-1600"] == berlin(24, 16, 30)


async def test_without_hours_the_sla_counts_every_minute(
    cases: async_sessionmaker[AsyncSession], transactions: Transactions
) -> None:
    always = Sla(timedelta(minutes=30))
    reminded = await transactions.run(partial(remind_overdue, now=berlin(25, 12), sla=always, push=frozenset()))
    assert {case.case_id for case in reminded} == {"friday-1600", "friday-1725", "friday-1729", "saturday"}


async def test_the_dashboard_names_the_sla_in_business_hours_and_when_a_waiting_case_is_due(
    aiohttp_client: Callable[..., Any], make_settings: Callable[..., Settings]
) -> None:
    settings = make_settings(
        admin=AdminSettings(token=SecretStr(TOKEN)),
        handoff=HandoffSettings(hours=HoursSettings(timezone="Europe/Berlin", **WEEKDAYS)),
    )
    client: AppClient = await aiohttp_client(create_app(settings))
    await on_staff(client.app)  # a desk takes the case
    await client.post("/api/messages", json={"contact": "olga", "text": "I want to talk to a human please"})
    bearer = {"Authorization": f"Bearer {TOKEN}"}

    overview = await (await client.get("/admin", headers=bearer)).text()
    cases_page = await (await client.get("/admin/cases", headers=bearer)).text()
    (queued,) = await (await client.get("/admin/api/cases", headers=bearer)).json()

    assert "past the SLA (30 minutes of business hours), no staff reply yet" in overview
    assert "waiting longer than 30 minutes of business hours" in cases_page
    assert f"(due {when(datetime.fromisoformat(queued['due_at']))})" in cases_page  # just opened: within
