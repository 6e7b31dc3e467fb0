"""What the browser tests share: the real hub served on a free port."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass

import pytest
from aiohttp import web

from core.cli.server import create_app
from core.settings import Settings


@dataclass
class Live:
    url: str
    app: web.Application


async def serve(app: web.Application) -> tuple[web.AppRunner, str]:
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    return runner, f"http://{host}:{port}"


Launch = Callable[..., Awaitable[Live]]


@pytest.fixture
async def launch(make_settings: Callable[..., Settings]) -> AsyncIterator[Launch]:
    """Starts `core.cli.server.create_app` on a free port, its knowledge base holding the sample
    help centre, serving the web channel; keyword arguments override settings."""
    runners: list[web.AppRunner] = []

    async def start(**overrides: object) -> Live:
        app = create_app(make_settings(**{"channels": ["web"], **overrides}))
        runner, url = await serve(app)
        runners.append(runner)
        return Live(url=url, app=app)

    try:
        yield start
    finally:
        for runner in reversed(runners):
            await runner.cleanup()
