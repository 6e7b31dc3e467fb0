"""The inbox's queue over HTTP past one page: 210 open cases, the links from page to page (they
work without script), a search from the page's box and on the JSON twin, "mine" kept from page
to page, and an address the queue cannot answer refused with the reason."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pydantic import SecretStr

from core.cli.server import RUNTIME, create_app
from core.settings import AdminSettings, Settings
from core.store.case_tables import Case
from core.store.db import Contact, Conversation, Message
from core.store.staff import TOKEN_ACTOR
from tests.app_client import AppClient

TOKEN = "dashboard-token-of-the-lead"
BEARER = {"Authorization": f"Bearer {TOKEN}"}
OPEN = 210


@pytest.fixture
async def hub(aiohttp_client: Callable[..., Any], make_settings: Callable[..., Settings]) -> AppClient:
    client: AppClient = await aiohttp_client(create_app(make_settings(admin=AdminSettings(token=SecretStr(TOKEN)))))
    opened = datetime.now(UTC) - timedelta(days=1)
    async with client.app[RUNTIME].sessionmaker.begin() as session:
        for n in range(OPEN):
            session.add(Contact(id=f"c{n}", display_name=name(n)))
            session.add(Conversation(id=f"v{n}", contact_id=f"c{n}", channel="web", chat_id=f"chat{n}"))
        await session.flush()
        for n in range(OPEN):
            session.add(
                Case(
                    id=f"{n:08x}{'0' * 24}",
                    conversation_id=f"v{n}",
                    state="human",
                    rule="asked",
                    reason="asked for a person",
                    owner=TOKEN_ACTOR if n % 2 else "Ana",  # the odd ones are the Bearer token's: "mine"
                    opened_at=opened + timedelta(minutes=n),
                )
            )
            session.add(Message(conversation_id=f"v{n}", channel="web", author="customer", text=f"about order {n}"))
    return client


def name(n: int) -> str:
    return "Rosa Díaz" if n == 205 else f"Customer {n}"


def customers(html: str) -> list[str]:
    return re.findall(r"<strong><bdi>([^<]*)</bdi></strong>", html)


def link(html: str, rel: str) -> str:
    found = re.search(rf'<a href="([^"]*)" rel="{rel}">', html)
    assert found is not None, rel
    return found.group(1).replace("&amp;", "&")


async def test_the_next_link_shows_the_cases_after_the_first_200(hub: AppClient) -> None:
    first = await (await hub.get("/admin/inbox", headers=BEARER)).text()
    assert "Cases 1–200 of 210." in first and len(customers(first)) == 200
    second = await (await hub.get(link(first, "next"), headers=BEARER)).text()
    assert "Cases 201–210 of 210." in second
    assert customers(second) == [name(n) for n in range(200, OPEN)]
    assert link(second, "prev") == "/admin/inbox" and 'rel="next"' not in second


async def test_mine_stays_on_the_next_page(hub: AppClient) -> None:
    first = await (await hub.get("/admin/inbox?mine=1", headers=BEARER)).text()
    assert "Cases 1–105 of 105." in first and 'rel="next"' not in first
    assert customers(first) == [name(n) for n in range(1, OPEN, 2)]
    found = await (await hub.get("/admin/inbox?mine=1&q=rosa", headers=BEARER)).text()
    assert customers(found) == ["Rosa Díaz"] and 'name="mine" value="1"' in found


async def test_the_search_box_finds_a_customer_and_the_json_twin_too(hub: AppClient) -> None:
    page = await (await hub.get("/admin/inbox", params={"q": "DÍAZ"}, headers=BEARER)).text()
    assert customers(page) == ["Rosa Díaz"] and "Cases 1–1 of 1 found." in page
    assert 'name="q" value="DÍAZ"' in page
    response = await hub.get("/admin/api/inbox", params={"q": "rosa order"}, headers=BEARER)
    entries = await response.json()
    assert [entry["customer"] for entry in entries] == ["Rosa Díaz"]  # her name, and a word she wrote
    assert response.headers["X-Total-Count"] == "1" and "Link" not in response.headers


async def test_the_json_twin_links_to_the_next_page(hub: AppClient) -> None:
    response = await hub.get("/admin/api/inbox", params={"q": "order", "mine": "1"}, headers=BEARER)
    assert len(await response.json()) == OPEN // 2
    response = await hub.get("/admin/api/inbox", headers=BEARER)
    assert response.headers["Link"] == '</admin/api/inbox?page=2>; rel="next"'
    assert response.headers["X-Total-Count"] == str(OPEN)


@pytest.mark.parametrize(
    ("query", "reason"),
    [
        ("page=0", "page is a number from 1 to 10000"),
        ("page=two", "page is a number from 1 to 10000"),
        ("page=10001", "page is a number from 1 to 10000"),
        ("page=99999999999999999999", "page is a number from 1 to 10000"),
        ("q=" + "+".join(f"w{n}" for n in range(11)), "search for at most 10 words"),
        ("q=" + "x" * 201, "search for at most 200 characters"),
    ],
)
@pytest.mark.parametrize("path", ["/admin/inbox", "/admin/api/inbox"])
async def test_an_address_the_queue_cannot_answer_is_refused_with_the_reason(
    hub: AppClient, path: str, query: str, reason: str
) -> None:
    response = await hub.get(f"{path}?{query}", headers=BEARER)
    assert (response.status, await response.text()) == (400, f"{reason}\n")


async def test_a_page_past_the_last_offers_the_last(hub: AppClient) -> None:
    page = await (await hub.get("/admin/inbox?page=7", headers=BEARER)).text()
    assert 'Page 7 is past the last (2): <a href="/admin/inbox?page=2">' in page
