"""PostgreSQL stops answering for a moment while Telegram updates arrive (issue 56: through a
proxy that swallowed traffic for 5 s, every pooled connection waited forever, updates got 503
for minutes and /readyz said "database unavailable" until a restart). Here the stall holds every
pooled connection of a running hub in a statement the database never receives; once it answers
again, /readyz is ready again, and every update Telegram delivers again is stored and answered
once."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from pydantic import SecretStr
from sqlalchemy import select

from channels.telegram.settings import TelegramSettings
from channels.telegram.stand_in import BOT_TOKEN, FakeBotApi
from channels.telegram.stand_in_updates import private_message
from core.cli.server import RUNTIME, create_app
from core.settings import OutboxSettings, PostgresSettings, Settings
from core.store.db import POSTGRES_POOL_SIZE, Message
from tests.app_client import AppClient
from tests.fakes.tcp_proxy import CuttableProxy, line_to
from tests.schema_templates import SchemaTemplates
from tests.settle import settled, until

pytestmark = pytest.mark.slow("waits out the statement timeout of every pooled connection of a running hub")

SECRET = "webhook-secret_for-tests"
HEADERS = {"X-Telegram-Bot-Api-Secret-Token": SECRET}
BURST = POSTGRES_POOL_SIZE + 5
"""Updates arriving during the stall: one for each pooled connection, and some that queue."""
QUESTION = "How do I reset my password?"


@pytest.fixture
def migrated_database(schema_templates: SchemaTemplates) -> str:
    return schema_templates.postgres("the PostgreSQL stall test")


@pytest.fixture
async def stalling_database(migrated_database: str) -> AsyncIterator[tuple[CuttableProxy, str]]:
    """A migrated database of the test's own behind a line that can stall: (the proxy, its URL)."""
    async with line_to(migrated_database) as line:
        yield line


def update(n: int) -> dict[str, Any]:
    return {"update_id": 7000 + n, **private_message(f"{QUESTION} ({n})", user_id=9000 + n, message_id=1)}


async def deliver(client: AppClient, body: dict[str, Any]) -> int:
    return (await client.post("/telegram/webhook", json=body, headers=HEADERS)).status


async def redeliver_until_taken(client: AppClient, body: dict[str, Any], status: int) -> None:
    """Telegram's way: an update not answered 200 is delivered again."""
    while status != 200:
        status = await deliver(client, body)


async def test_a_stall_holding_every_pooled_connection_is_over_when_postgres_answers_again(
    aiohttp_client: Callable[..., Any],
    make_settings: Callable[..., Settings],
    telegram: FakeBotApi,
    stalling_database: tuple[CuttableProxy, str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    proxy, url = stalling_database
    settings = make_settings(
        database_url=url,
        postgres=PostgresSettings(statement_timeout_s=1, connect_timeout_s=1),
        outbox=OutboxSettings(poll_interval_s=0.2, backoff_base_s=0.2),
        telegram=TelegramSettings(
            bot_token=SecretStr(BOT_TOKEN),
            api_url=telegram.api_url,
            public_url="https://hub.example.com",
            webhook_secret=SecretStr(SECRET),
        ),
    )
    client: AppClient = await aiohttp_client(create_app(settings))

    async def connected() -> bool:  # the webhook answers 503 "starting" until then
        return await deliver(client, {}) != 503

    await until(connected, what="the Telegram channel connected")
    engine = client.app[RUNTIME].engine
    pooled = [await engine.connect() for _ in range(POSTGRES_POOL_SIZE)]
    for connection in pooled:
        await connection.close()  # every pooled connection open, as under load
    proxy.hung = True
    burst = [asyncio.create_task(deliver(client, update(n))) for n in range(BURST)]
    try:
        await until(
            lambda: engine.pool.checkedout() == POSTGRES_POOL_SIZE,  # type: ignore[attr-defined]
            what="every pooled connection taken during the stall",
        )
        await proxy.swallowing(POSTGRES_POOL_SIZE)
        assert (await client.get("/readyz")).status == 503
        proxy.hung = False  # the database answers again

        async def ready() -> bool:
            return (await client.get("/readyz")).status == 200

        await until(ready, what="/readyz ready again")
        statuses = await asyncio.gather(*burst)
    finally:
        for task in burst:
            task.cancel()
    assert set(statuses) <= {200, 503}, statuses
    assert "not ready: the database did not answer within 2 s" in caplog.messages  # the operator's log says why
    await asyncio.gather(*(redeliver_until_taken(client, update(n), s) for n, s in enumerate(statuses)))
    await telegram.wait_for_calls("sendMessage", BURST, timeout=60)
    await settled(client.app[RUNTIME].sessionmaker)
    async with client.app[RUNTIME].sessionmaker() as session:
        stored = (await session.execute(select(Message.text).where(Message.author == "customer"))).scalars()
        assert sorted(stored) == sorted(f"{QUESTION} ({n})" for n in range(BURST))
    assert sorted(str(call.params["chat_id"]) for call in telegram.calls_to("sendMessage")) == sorted(
        str(9000 + n) for n in range(BURST)
    )
