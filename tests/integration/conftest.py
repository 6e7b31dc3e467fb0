"""The real app, through aiohttp's test client."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from pydantic import SecretStr

from channels.email.stand_in import SmtpRelay
from core.cli.server import create_app
from core.settings import AdminSettings, Settings
from tests.app_client import AppClient
from tests.fakes.tcp_proxy import CuttableProxy
from tests.integration.staff_steps import on_staff
from tests.integration.trusted import TRUSTED, trusted_api
from tests.ports import free_port


@pytest.fixture
async def client(aiohttp_client: Callable[..., Any], make_settings: Callable[..., Settings]) -> AppClient:
    return await aiohttp_client(create_app(make_settings()))  # type: ignore[no-any-return]


@pytest.fixture
async def trusted_client(aiohttp_client: Callable[..., Any], make_settings: Callable[..., Settings]) -> AppClient:
    """The app with `api.token` set, called with it."""
    app = create_app(make_settings(api=trusted_api()))
    return await aiohttp_client(app, headers=TRUSTED)  # type: ignore[no-any-return]


@pytest.fixture
async def staffed_client(aiohttp_client: Callable[..., Any], make_settings: Callable[..., Settings]) -> AppClient:
    """The app with a desk that takes cases: the inbox, with one person on the staff who has joined
    (without one, nobody is handed over: `core.pipeline.staffing`)."""
    client: AppClient = await aiohttp_client(create_app(make_settings(admin=AdminSettings(token=SecretStr("staffed")))))
    await on_staff(client.app)
    return client


@pytest.fixture
async def relay() -> AsyncIterator[SmtpRelay]:
    """A mail server the hub's replies go to (`relay.wait_for` returns what it received)."""
    async with SmtpRelay() as server:
        yield server


@pytest.fixture
def smtp_port() -> int:
    """Where the hub's SMTP listener takes mail."""
    return free_port()


@pytest.fixture
async def redis_line() -> AsyncIterator[CuttableProxy]:
    """The way to the test Redis, which a test can make hang (accept, read, never answer)."""
    proxy = CuttableProxy("127.0.0.1", 6379)
    await proxy.start()
    yield proxy
    await proxy.close()
