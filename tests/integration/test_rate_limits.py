"""`[limits]`: one sender cannot flood the hub; a refused message is never stored or answered."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from core.server import RUNTIME, create_app
from core.settings import LimitsSettings, Settings
from tests.integration.trusted import TRUSTED, trusted_api

REDIS_URL = "redis://127.0.0.1:6379/13"


async def _post(client: TestClient, contact: str, text: str = "How do I reset my password?") -> Any:
    return await client.post("/api/messages", json={"contact": contact, "text": text})


async def test_a_contact_over_its_limit_gets_429_with_retry_after_and_nothing_is_stored(
    aiohttp_client: Callable[..., Any], make_settings: Callable[..., Settings]
) -> None:
    settings = make_settings(limits=LimitsSettings(per_contact="3/minute", per_ip=""))
    client = await aiohttp_client(create_app(settings))
    questions = ["How do I reset my password?", "Can I pay by invoice?", "How do I export my data?"]
    answered = [await _post(client, "flooder", question) for question in questions]
    assert [r.status for r in answered] == [200, 200, 200]
    refused = await _post(client, "flooder", "one too many")
    assert refused.status == 429
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    assert "too many messages" in (await refused.json())["error"]
    assert (await _post(client, "someone-else")).status == 200
    conversation = (await answered[0].json())["conversation_id"]
    listed = await (await client.get(f"/api/conversations/{conversation}/messages")).json()
    assert "one too many" not in [m["text"] for m in listed["messages"]]
    assert len(listed["messages"]) == 6


async def test_without_a_token_one_address_is_limited_across_contacts(
    aiohttp_client: Callable[..., Any], make_settings: Callable[..., Settings]
) -> None:
    settings = make_settings(limits=LimitsSettings(per_contact="", per_ip="4/minute"))
    client = await aiohttp_client(create_app(settings))
    statuses = [(await _post(client, f"contact-{i}")).status for i in range(6)]
    assert statuses == [200, 200, 200, 200, 429, 429]


async def test_a_backend_calling_with_the_token_is_not_limited_by_its_address(
    aiohttp_client: Callable[..., Any], make_settings: Callable[..., Settings]
) -> None:
    settings = make_settings(api=trusted_api(), limits=LimitsSettings(per_contact="2/minute", per_ip="4/minute"))
    client = await aiohttp_client(create_app(settings), headers=TRUSTED)
    statuses = [(await _post(client, f"customer-{i % 3}")).status for i in range(6)]
    assert statuses == [200] * 6
    assert (await _post(client, "customer-0")).status == 429


@pytest.mark.parametrize("processes", [2])
async def test_processes_sharing_redis_share_one_count(
    aiohttp_client: Callable[..., Any], make_settings: Callable[..., Settings], processes: int
) -> None:
    settings = make_settings(redis_url=REDIS_URL, limits=LimitsSettings(per_contact="3/minute", per_ip=""))
    clients = [await aiohttp_client(create_app(settings)) for _ in range(processes)]
    contact = f"shared-{uuid.uuid4().hex}"
    statuses = [(await _post(clients[i % processes], contact)).status for i in range(6)]
    assert statuses.count(200) == 3 and statuses[3:] == [429, 429, 429]
    assert sum(c.app[RUNTIME].hub.refused_messages["api"] for c in clients) == 3
