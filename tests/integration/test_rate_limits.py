"""`[limits]`: one sender cannot flood the hub; a refused message is never stored or answered."""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Callable
from time import monotonic
from typing import Any

import pytest
from pydantic import SecretStr
from sqlalchemy import func, select

from channels.slack.settings import SlackSettings
from channels.slack.stand_in import BOT_TOKEN, FakeSlack
from channels.slack.stand_in_events import message_event, signed_headers
from core import rate_limits
from core.cli.server import RUNTIME, create_app
from core.settings import LimitsSettings, Settings
from core.store.db import Message
from tests.app_client import AppClient
from tests.fakes.tcp_proxy import CuttableProxy
from tests.integration.trusted import TRUSTED, trusted_api
from tests.readings import rate_limited
from tests.settle import settled

REDIS_URL = "redis://127.0.0.1:6379/13"
SLACK_SECRET = "signing-secret-for-tests"


async def _post(client: AppClient, contact: str, text: str = "How do I reset my password?") -> Any:
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
    refused_before = rate_limited("api")
    statuses = [(await _post(clients[i % processes], contact)).status for i in range(6)]
    assert statuses.count(200) == 3 and statuses[3:] == [429, 429, 429]
    assert rate_limited("api") - refused_before == 3


async def test_a_slack_sender_over_the_limit_is_dropped_and_counted_never_limited_by_slacks_address(
    aiohttp_client: Callable[..., Any],
    make_settings: Callable[..., Settings],
    slack: FakeSlack,
    caplog: pytest.LogCaptureFixture,
) -> None:
    settings = make_settings(
        slack=SlackSettings(
            bot_token=SecretStr(BOT_TOKEN), signing_secret=SecretStr(SLACK_SECRET), api_url=slack.base_url
        ),
        limits=LimitsSettings(per_contact="2/minute", per_ip="1/minute"),
    )
    client = await aiohttp_client(create_app(settings))
    refused_before = rate_limited("slack")
    events = [
        message_event(channel="D0FLOOD", user="U0FLOOD", text="How do I reset my password?", ts=f"1700000100.00010{i}")
        for i in range(4)
    ]
    events.append(message_event(channel="D0CALM", user="U0CALM", text="Can I pay by invoice?", ts="1700000101.000100"))
    for event in events:
        body = json.dumps(event)
        response = await client.post("/slack/events", data=body, headers=signed_headers(SLACK_SECRET, body))
        assert response.status == 200  # Slack must not send a dropped event again
    await settled(client.app[RUNTIME].sessionmaker)
    async with client.app[RUNTIME].sessionmaker() as session:
        stored = await session.execute(select(func.count()).select_from(Message).where(Message.author == "customer"))
        assert stored.scalar_one() == 3
    assert rate_limited("slack") - refused_before == 2
    assert len([r for r in caplog.records if "rate limits" in r.getMessage()]) == 1


async def test_a_hung_redis_holds_up_one_message_then_is_left_alone_then_tried_again(
    aiohttp_client: Callable[..., Any],
    make_settings: Callable[..., Settings],
    redis_line: CuttableProxy,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    caplog.set_level(logging.INFO, logger="core.rate_limits")
    redis_url = f"redis://127.0.0.1:{redis_line.port}/13"
    client = await aiohttp_client(
        create_app(make_settings(redis_url=redis_url, limits=LimitsSettings(per_contact="3/minute", per_ip="")))
    )
    contact = f"hung-{uuid.uuid4().hex}"
    assert (await _post(client, contact)).status == 200  # counted in Redis

    redis_line.hung = True
    assert (await _post(client, contact)).status == 200  # waited REDIS_TIMEOUT_S, then let through
    asked = redis_line.swallowed
    assert asked > 0
    statuses = [(await _post(client, contact)).status for _ in range(4)]
    assert statuses == [200] * 4  # unlimited meanwhile (4 more would be over 3/minute)
    assert redis_line.swallowed == asked  # and Redis was not asked again: no wait for any of them
    failing = [r for r in caplog.records if "counter store fails" in r.getMessage()]
    assert len(failing) == 1 and failing[0].levelno == logging.WARNING

    redis_line.hung = False
    later = monotonic() + rate_limits.REDIS_PAUSE_S + 1
    monkeypatch.setattr(rate_limits, "monotonic", lambda: later)  # the pause is over
    statuses = [(await _post(client, contact)).status for _ in range(3)]
    assert statuses == [200, 200, 429]  # counted in Redis again: one earlier, two now, then over
    assert any("answers again" in r.getMessage() for r in caplog.records)
