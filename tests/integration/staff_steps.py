"""A person on the staff as tests drive them: invited through the store (as `supporthub staff
invite` does), joining through the invitation page, and browsing the hub with a cookie jar of
their own, so two people can work at once against one app (or against real hub processes)."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import partial
from typing import Any

import aiohttp
from aiohttp import web

from core.cli.server import RUNTIME
from core.store import staff
from core.store.db import StaffRole
from tests.app_client import AppClient

PASSWORD = "a long enough password"


async def invitation(client: AppClient, email: str, *, name: str = "", role: StaffRole = StaffRole.AGENT) -> str:
    """The invitation link's path, as `supporthub staff invite` would print it."""
    token = await client.app[RUNTIME].transactions.run(
        partial(staff.invite, email=email, name=name, role=role, actor="test")
    )
    return f"/admin/invite/{token}"


async def on_staff(app: web.Application) -> None:
    """Someone on the staff who has joined, so the inbox takes cases (the app has `admin.token`):
    without a desk nobody is handed over (`core.pipeline.staffing`)."""
    run = app[RUNTIME].transactions.run
    token = await run(partial(staff.invite, email="sam@example.com", name="Sam", role=StaffRole.AGENT, actor="test"))
    await run(partial(staff.accept, token=token, name="Sam", password_hash="not checked here"))


class Person:
    """One browser: its own cookies, the hub's origin on its forms (as a browser sends it)."""

    def __init__(self, origin: str, session: aiohttp.ClientSession) -> None:
        self.origin = origin.rstrip("/")
        self.session = session

    def url(self, path: str) -> str:
        return self.origin + path

    async def get(self, path: str, **kwargs: Any) -> aiohttp.ClientResponse:
        return await self.session.get(self.url(path), **kwargs)

    async def post(self, path: str, data: dict[str, str], **kwargs: Any) -> aiohttp.ClientResponse:
        headers = {"Origin": self.origin, **kwargs.pop("headers", {})}
        return await self.session.post(self.url(path), data=data, headers=headers, allow_redirects=False, **kwargs)

    async def csrf(self, page: str = "/admin/inbox") -> str:
        html = await (await self.get(page)).text()
        found = re.search(r'name="csrf" value="([^"]+)"', html)
        assert found is not None, html[:500]
        return found.group(1)

    async def form(self, path: str, page: str, **fields: str) -> aiohttp.ClientResponse:
        """Post a form of `page`, with the page's CSRF value."""
        return await self.post(path, {"csrf": await self.csrf(page), **fields})


async def next_event(stream: aiohttp.ClientResponse, *, timeout: float = 30) -> str:
    """The next server-sent event's data on an inbox page's stream, past the keep-alive comments."""
    async with asyncio.timeout(timeout):
        while True:
            line = (await stream.content.readline()).decode()
            if line.startswith("data: "):
                return line.removeprefix("data: ").strip()


@asynccontextmanager
async def browser(hub: AppClient | str) -> AsyncIterator[Person]:
    """A browser of its own on the app `hub` serves, or on the hub at an origin (a real process's URL)."""
    origin = hub if isinstance(hub, str) else str(hub.make_url("/"))
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as session:
        yield Person(origin, session)


@asynccontextmanager
async def joined(
    client: AppClient, email: str, *, name: str, role: StaffRole = StaffRole.AGENT
) -> AsyncIterator[Person]:
    """A person invited, who chose their name and password, signed in in a browser of their own."""
    link = await invitation(client, email, role=role)
    async with browser(client) as person:
        response = await person.post(link, {"name": name, "password": PASSWORD, "again": PASSWORD})
        assert (response.status, response.headers.get("Location")) == (303, "/admin/inbox"), await response.text()
        yield person
