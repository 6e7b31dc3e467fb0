"""Staff accounts under a hostile probe: many sign-ins at once for one email are counted
before any password is checked (five checked, the rest 429), password hashing takes only its
share of the machine while customers are answered, and an invitation used ten times at once
signs one person in."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from contextlib import AsyncExitStack
from typing import Any

import pytest
from argon2 import PasswordHasher
from pydantic import SecretStr
from sqlalchemy import func, select, text

from core.cli.server import RUNTIME, create_app
from core.ops import passwords
from core.ops.access import STAFF_COOKIE
from core.settings import AdminSettings, ServerSettings, Settings
from core.store.db import StaffAction, StaffMember, StaffSession
from tests.app_client import AppClient
from tests.integration.app_db import count
from tests.integration.staff_steps import PASSWORD, Person, browser, invitation, joined
from tests.settle import until

TOKEN = "dashboard-token-of-the-lead"
STORM = 20


@pytest.fixture
async def admin(aiohttp_client: Callable[..., Any], make_settings: Callable[..., Settings]) -> AppClient:
    """The hub behind a proxy it trusts, so each request can come from an address of its own."""
    settings = make_settings(
        admin=AdminSettings(token=SecretStr(TOKEN)), server=ServerSettings(trusted_proxies=["127.0.0.1"])
    )
    return await aiohttp_client(create_app(settings))  # type: ignore[no-any-return]


def from_address(n: int) -> dict[str, str]:
    return {"X-Forwarded-For": f"203.0.113.{n}"}


async def sign_in(person: Person, email: str, password: str, *, address: int) -> tuple[int, str, str | None]:
    response = await person.post("/admin/login", {"email": email, "password": password}, headers=from_address(address))
    return response.status, await response.text(), response.headers.get("Retry-After")


@pytest.mark.parametrize("addresses", [1, STORM], ids=["one address", "an address each"])
async def test_a_storm_of_wrong_passwords_for_one_email_has_five_checked_and_the_rest_refused(
    admin: AppClient, addresses: int
) -> None:
    async with joined(admin, "cy@example.com", name="Cy"):
        pass
    async with browser(admin) as guesser:
        answers = await asyncio.gather(
            *(sign_in(guesser, "cy@example.com", f"guess number {n}", address=n % addresses) for n in range(STORM))
        )
        checked = [answer for answer in answers if answer[0] == 401]
        refused = [answer for answer in answers if answer[0] == 429]
        assert (len(checked), len(refused)) == (5, STORM - 5), [answer[0] for answer in answers]
        assert all("Too many failed sign-ins" in body and int(wait or 0) >= 1 for _, body, wait in refused)
        right = await sign_in(guesser, "cy@example.com", PASSWORD, address=STORM + 1)
        assert right[0] == 429 and "Too many failed sign-ins" in right[1]
    assert await count(admin, StaffSession) == 1  # only the one from joining


async def test_colleagues_behind_one_address_sign_in_one_after_another(admin: AppClient) -> None:
    """Attempts are counted before the password is checked; a right one clears its address's
    count, so a sixth colleague signing in from the office in the same minute gets in."""
    office = 7
    for n in range(6):
        async with joined(admin, f"agent{n}@example.com", name=f"Agent {n}"):
            pass
    async with browser(admin) as desk:
        assert (await sign_in(desk, "agent0@example.com", "mistyped it", address=office))[0] == 401
        for n in range(6):
            assert (await sign_in(desk, f"agent{n}@example.com", PASSWORD, address=office))[0] == 303, n


async def test_customers_are_answered_while_a_storm_of_sign_ins_waits_for_hashing(
    admin: AppClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each sign-in from its own address for its own email, so none is throttled: every one is
    hashed, never more than `passwords.AT_ONCE` at a time, and while they are (held here until
    the customer has an answer) the customer's question is answered."""
    loop = asyncio.get_running_loop()
    hashing, release = asyncio.Event(), threading.Event()
    running, most = [0], [0]
    lock = threading.Lock()
    verify = PasswordHasher.verify

    def held_verify(self: PasswordHasher, hash: str | bytes, password: str | bytes) -> bool:
        with lock:
            running[0] += 1
            most[0] = max(most[0], running[0])
        loop.call_soon_threadsafe(hashing.set)
        try:
            release.wait()
            return verify(self, hash, password)
        finally:
            with lock:
                running[0] -= 1

    monkeypatch.setattr(PasswordHasher, "verify", held_verify)
    storm_size = 8  # more than the default thread pool of a 2-core machine (6)
    async with browser(admin) as guesser:
        storm = [
            asyncio.create_task(sign_in(guesser, f"guess{n}@example.com", "guess-guess", address=n))
            for n in range(storm_size)
        ]
        try:
            await hashing.wait()
            # before the bound, the storm held every worker thread and the answer never came
            reply = await answer_to(admin, "how do I reset my password?")
            assert "reset" in reply.lower()
            assert not any(task.done() for task in storm)
        finally:
            release.set()
        answers = await asyncio.gather(*storm)
    assert [status for status, _, _ in answers] == [401] * storm_size
    assert most[0] == passwords.AT_ONCE


async def answer_to(client: AppClient, question: str) -> str:
    """The bot's answer to a customer's question: in the API's response, or (when it took longer
    than the API waits) in the conversation once it is there."""
    asked = await client.post("/api/messages", json={"contact": "alice@example.com", "text": question})
    assert asked.status in (200, 202), await asked.text()
    body = await asked.json()
    if body["reply"] is not None:
        return str(body["reply"]["text"])
    path = f"/api/conversations/{body['conversation_id']}/messages?after={body['message_id']}"

    async def bot_said() -> str | None:
        messages = (await (await client.get(path)).json())["messages"]
        return next((str(m["text"]) for m in messages if m["author"] == "bot"), None)

    return str(await until(bot_said, timeout=60, what="the answer to the customer"))


async def _waiting_for_a_lock(client: AppClient) -> int:
    async with client.app[RUNTIME].sessionmaker() as session:
        waiting = text(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
        )
        return int((await session.execute(waiting)).scalar_one())


async def test_an_invitation_used_ten_times_at_once_signs_in_one_person(
    aiohttp_client: Callable[..., Any], make_settings: Callable[..., Settings], database_url: str
) -> None:
    """On PostgreSQL the person's row is held while the ten arrive, so that every one has read
    the invitation as valid before any of them writes: the database decides which one won."""
    settings = make_settings(database_url=database_url, admin=AdminSettings(token=SecretStr(TOKEN)))
    client: AppClient = await aiohttp_client(create_app(settings))
    link = await invitation(client, "ana@example.com")
    async with AsyncExitStack() as stack:
        people = [await stack.enter_async_context(browser(client)) for _ in range(10)]
        form = {"name": "Ana", "password": PASSWORD, "again": PASSWORD}
        if database_url.startswith("postgresql"):
            async with client.app[RUNTIME].sessionmaker() as holder, holder.begin():
                await holder.execute(select(StaffMember).with_for_update())
                accepts = [asyncio.create_task(person.post(link, form)) for person in people]

                async def all_waiting() -> bool:
                    return any(t.done() for t in accepts) or await _waiting_for_a_lock(client) == len(people)

                await until(all_waiting, what="all ten waiting to write the invitation")
                assert not any(t.done() for t in accepts)
            answers = await asyncio.gather(*accepts)
        else:
            answers = await asyncio.gather(*(person.post(link, form) for person in people))
        statuses = [answer.status for answer in answers]
        assert statuses.count(303) == 1, statuses
        refused = [answer for answer in answers if answer.status != 303]
        assert all(answer.status in (404, 409) for answer in refused), statuses
        assert all("not valid any more" in body for body in [await answer.text() for answer in refused])
        winner = people[statuses.index(303)]
        assert (await winner.get("/admin/api/inbox")).status == 200
        assert STAFF_COOKIE in {cookie.key for cookie in winner.session.cookie_jar}
    assert await count(client, StaffSession) == 1
    assert await count(client, StaffAction, StaffAction.action == "accept invitation") == 1
    async with client.app[RUNTIME].sessionmaker() as session:
        assert (await session.execute(select(func.count()).select_from(StaffMember))).scalar_one() == 1
