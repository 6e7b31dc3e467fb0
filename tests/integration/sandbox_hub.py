"""The sandbox as `supporthub sandbox` runs it, in the test's process: the stand-ins, the hub on
a free loopback port with the sandbox's settings, and the page's routes."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from aiohttp import web

from core.cli.sandbox_command import sandbox_settings
from core.cli.server import create_app
from core.sandbox.page import install_sandbox
from core.sandbox.session import Sandbox
from core.settings import Settings


@asynccontextmanager
async def running_sandbox(settings: Settings, database: Path) -> AsyncIterator[str]:
    """The sandbox's base URL (`http://127.0.0.1:PORT`) while it runs, on the SQLite file
    `database` (the tests' data dir, with its index, is shared by every test)."""
    listening = socket.create_server(("127.0.0.1", 0))
    url = f"http://127.0.0.1:{listening.getsockname()[1]}"
    stand_ins = Sandbox()
    await stand_ins.start()
    app = create_app(sandbox_settings(settings, stand_ins, hub_url=url, database=database))
    install_sandbox(app, stand_ins)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.SockSite(runner, listening).start()
    try:
        yield url
    finally:
        await runner.cleanup()
        await stand_ins.stop()
