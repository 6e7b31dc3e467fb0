"""The inbox's live streams under many open pages: one look at the database per change for all
of them (not one per page), and a cap on the pages one person keeps open."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AsyncExitStack, contextmanager
from functools import partial
from typing import Any

import aiohttp
import pytest
from pydantic import SecretStr
from sqlalchemy import event, select
from sqlalchemy.engine import Engine

from core.cli.server import RUNTIME, create_app
from core.handoff.inbox_store import note
from core.settings import AdminSettings, Settings
from core.store.case_tables import Case
from core.store.db import StaffRole
from tests.app_client import AppClient
from tests.integration.staff_steps import Person, joined, next_event

TOKEN = "the-lead-s-admin-token"
CAP = 3


@pytest.fixture
async def hub(aiohttp_client: Callable[..., Any], make_settings: Callable[..., Settings]) -> AppClient:
    settings = make_settings(admin=AdminSettings(token=SecretStr(TOKEN), live_streams_per_person=CAP))
    client: AppClient = await aiohttp_client(create_app(settings))
    return client


@pytest.fixture
async def case_id(hub: AppClient) -> str:
    """A case waiting in the inbox: someone on the staff, and a customer who asked for a person."""
    async with joined(hub, "sam@example.com", name="Sam"):
        asked = await hub.post(
            "/api/messages", json={"contact": "rosa@example.com", "text": "I want to talk to a human"}
        )
        assert asked.status == 200 and (await asked.json())["reply"]["handoff"] is True
    async with hub.app[RUNTIME].sessionmaker() as session:
        return (await session.execute(select(Case.id))).scalar_one()


@contextmanager
def streams_queries() -> Iterator[list[str]]:
    """The statements that read what the live pages show (cases' events) or check a page's
    session, as the database receives them."""
    seen: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if "case_events" in statement or "staff_sessions" in statement:
            seen.append(statement)

    event.listen(Engine, "before_cursor_execute", record)  # every engine: SQLite's transactions have their own
    try:
        yield seen
    finally:
        event.remove(Engine, "before_cursor_execute", record)


class Pages:
    """Open live streams, each read past its first event."""

    def __init__(self, stack: AsyncExitStack) -> None:
        self._stack = stack
        self.open: list[aiohttp.ClientResponse] = []

    async def add(self, person: Person, path: str) -> aiohttp.ClientResponse:
        stream = await self._stack.enter_async_context(await person.get(path))
        assert stream.status == 200, await stream.text()
        await next_event(stream)
        self.open.append(stream)
        return stream


@pytest.fixture
async def pages() -> AsyncIterator[Pages]:
    async with AsyncExitStack() as stack:
        yield Pages(stack)


async def queries_for_one_change(hub: AppClient, case_id: str, pages: Pages) -> int:
    """A note on the case, then a beat: the statements the streams run until every one of them
    has shown the change."""
    runtime = hub.app[RUNTIME]
    await runtime.transactions.run(partial(note, case_id=case_id, actor="test", text="on it"))
    with streams_queries() as seen:
        runtime.hub.pulse.beat()
        for stream in pages.open:
            await next_event(stream)
    return len(seen)


async def test_one_change_costs_the_same_queries_for_thirty_open_pages_as_for_two(
    hub: AppClient, case_id: str, pages: Pages
) -> None:
    async with AsyncExitStack() as people:
        staff = [
            await people.enter_async_context(joined(hub, f"agent{n}@example.com", name=f"Agent {n}")) for n in range(10)
        ]
        await pages.add(staff[0], "/admin/inbox/events")
        await pages.add(staff[0], f"/admin/inbox/{case_id}/events")
        two = await queries_for_one_change(hub, case_id, pages)
        for person in staff[1:]:
            await pages.add(person, "/admin/inbox/events")
            await pages.add(person, f"/admin/inbox/{case_id}/events")
        assert await pages.add(staff[0], "/admin/inbox/events")
        assert len(pages.open) == 21
        twenty_one = await queries_for_one_change(hub, case_id, pages)
    assert two <= 5
    assert twenty_one == two


async def test_a_persons_pages_past_the_cap_are_refused_with_the_reason(
    hub: AppClient, case_id: str, pages: Pages
) -> None:
    async with joined(hub, "ana@example.com", name="Ana") as ana, joined(hub, "bo@example.com", name="Bo") as bo:
        first = await pages.add(ana, "/admin/inbox/events")
        for _ in range(CAP - 1):
            await pages.add(ana, f"/admin/inbox/{case_id}/events")
        refused = await ana.get("/admin/inbox/events")
        assert refused.status == 429
        assert f"{CAP} live inbox pages open already" in await refused.text()
        assert (await ana.get(f"/admin/inbox/{case_id}/events")).status == 429
        assert (await ana.get("/admin/inbox")).status == 200  # the page itself still opens
        await pages.add(bo, "/admin/inbox/events")  # someone else's pages count apart

        first.close()  # a tab closed: its place is free for the next page
        await pages.add(ana, "/admin/inbox/events")


async def test_a_removed_persons_open_page_stops_at_once(hub: AppClient, case_id: str, pages: Pages) -> None:
    async with (
        joined(hub, "lead@example.com", name="Lead", role=StaffRole.ADMIN) as lead,
        joined(hub, "dee@example.com", name="Dee") as dee,
    ):
        stream = await pages.add(dee, "/admin/inbox/events")
        removed = await lead.form("/admin/staff/remove", "/admin/staff", email="dee@example.com")
        assert removed.status == 303
        async with asyncio.timeout(30):
            rest = await stream.content.read()  # until the stream ends
        assert b"data:" not in rest
