"""The company API fake itself (tests/fakes/company_api.py), driven by a real aiohttp client, so
action tests can trust what they stand on."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from tests.fakes.company_api import (
    BROKEN_BODY,
    EFFECTIVE,
    HUGE_SIZE,
    METADATA_URL,
    SECRET_DETAIL,
    TOKEN,
    Cancellation,
    FakeCompanyApi,
    Resend,
)

AUTH = {"Authorization": f"Bearer {TOKEN}"}
MUG = {
    "number": "1001",
    "status": "shipped",
    "carrier": "DHL",
    "eta": "2026-12-03",
    "items": [{"name": "Mug", "qty": 2}],
}


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


@pytest.fixture
def api(company_api: FakeCompanyApi) -> FakeCompanyApi:
    company_api.add_order(
        "1001", email="ada@example.com", phone="+14155550123", status="shipped", carrier="DHL", eta="2026-12-03",
        items=[{"name": "Mug", "qty": 2}],
    )  # fmt: skip
    company_api.add_order("1002", email="ada@example.com", status="processing")
    company_api.add_order("2001", email="bob@example.com", status="delivered")
    return company_api


async def get(http: aiohttp.ClientSession, url: str, **options: Any) -> tuple[int, Any]:
    async with http.get(url, **options) as response:
        return response.status, await response.json()


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer wrong"}, {"Authorization": TOKEN}])
async def test_the_api_wants_the_bearer_token(
    api: FakeCompanyApi, http: aiohttp.ClientSession, headers: dict[str, str]
) -> None:
    for path in ("/api/orders/1001", "/api/orders"):
        assert await get(http, api.url + path, params={"email": "ada@example.com"}, headers=headers) == (
            401,
            {"error": "unauthorized"},
        )
    assert [(r.path, r.query) for r in api.requests] == [
        ("/api/orders/1001", {"email": "ada@example.com"}),
        ("/api/orders", {"email": "ada@example.com"}),
    ]


@pytest.mark.parametrize(
    ("number", "query", "expected"),
    [
        ("1001", {"email": "ada@example.com"}, (200, MUG)),
        ("1001", {"email": "Ada@Example.com"}, (200, MUG)),
        ("1001", {"phone": "+14155550123"}, (200, MUG)),
        ("1001", {"email": "bob@example.com"}, (404, {"error": "not found"})),
        ("1001", {"phone": "+14155550999"}, (404, {"error": "not found"})),
        ("1001", {"email": "ada@example.com", "phone": "+14155550999"}, (404, {"error": "not found"})),
        ("1001", {}, (404, {"error": "not found"})),
        ("9999", {"email": "ada@example.com"}, (404, {"error": "not found"})),
    ],
)
async def test_an_order_is_shown_to_its_owner_only(
    api: FakeCompanyApi,
    http: aiohttp.ClientSession,
    number: str,
    query: dict[str, str],
    expected: tuple[int, Any],
) -> None:
    assert await get(http, f"{api.url}/api/orders/{number}", params=query, headers=AUTH) == expected
    assert api.requests[0].headers["authorization"] == f"Bearer {TOKEN}"


async def test_the_list_holds_the_customers_orders_only(api: FakeCompanyApi, http: aiohttp.ClientSession) -> None:
    status, orders = await get(http, f"{api.url}/api/orders", params={"email": "ada@example.com"}, headers=AUTH)

    assert status == 200
    assert [(o["number"], o["status"]) for o in orders] == [("1001", "shipped"), ("1002", "processing")]
    assert await get(http, f"{api.url}/api/orders", headers=AUTH) == (200, [])


async def test_a_cancellation_and_a_resend_are_recorded(api: FakeCompanyApi, http: aiohttp.ClientSession) -> None:
    body = {"email": "ada@example.com", "reason": "moving abroad"}
    async with http.post(f"{api.url}/api/subscriptions/cancel", json=body, headers=AUTH) as response:
        assert (response.status, await response.json()) == (200, {"cancelled": True, "effective": EFFECTIVE})
    async with http.post(f"{api.url}/api/invoices/INV-7/resend", json={"email": "ada@example.com"}, headers=AUTH) as r:
        assert (r.status, await r.json()) == (202, {"sent_to": "ada@example.com"})

    assert api.cancellations == [Cancellation("ada@example.com", "moving abroad")]
    assert api.resends == [Resend("INV-7", "ada@example.com")]
    assert [(r.method, r.path, r.json) for r in api.requests] == [
        ("POST", "/api/subscriptions/cancel", body),
        ("POST", "/api/invoices/INV-7/resend", {"email": "ada@example.com"}),
    ]


async def test_received_wakes_on_a_request_still_unanswered(http: aiohttp.ClientSession) -> None:
    api = FakeCompanyApi()
    async with api:
        slow = asyncio.create_task(get(http, f"{api.url}/slow"))

        [request] = await api.received("/slow")

        assert request.method == "GET" and not slow.done()
        with pytest.raises(AssertionError, match=r"expected 2 request\(s\) to /slow within 0.05 s, got 1"):
            await api.received("/slow", count=2, timeout=0.05)
    assert await slow == (200, {"slow": True})  # closing let it answer


async def test_the_hostile_routes(company_api: FakeCompanyApi, http: aiohttp.ClientSession) -> None:
    async with http.get(f"{company_api.url}/broken") as response:
        text = await response.text()
    assert (response.status, text) == (500, BROKEN_BODY)
    assert "Traceback (most recent call last): secret-internal-detail" in text and SECRET_DETAIL in text
    for query in ({}, {"chunked": "1"}):
        async with http.get(f"{company_api.url}/huge", params=query) as response:
            assert response.content_length == (None if query else HUGE_SIZE)
            body = await response.read()
        assert len(body) == HUGE_SIZE and json.loads(body)["padding"].count("x") == HUGE_SIZE - 15
    async with http.get(f"{company_api.url}/redirect-away", allow_redirects=False) as response:
        assert (response.status, response.headers["Location"]) == (302, METADATA_URL)
    assert company_api.host_port == company_api.url.removeprefix("http://")
