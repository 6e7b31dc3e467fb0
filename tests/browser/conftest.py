"""What the browser tests share: one headless Chromium for the whole session, a browser context
of each test's own in it, and the real hub served on a free port.

Chromium starts once, with a DevTools port (`shared_chromium`); each test connects to it
through Playwright (`browser`), and what the test opened there (contexts, pages, cookies,
storage) is closed with that connection. Starting a Chromium per test cost a launch and a
shutdown each time, and the processes of one not yet gone overlapped the next test's.
"""

from __future__ import annotations

import os
import signal
import subprocess
import tempfile
import time
import urllib.request
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from playwright.async_api import async_playwright, expect

from core.cli.server import create_app
from core.settings import Settings
from tests.ports import free_port

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
AS_PLAYWRIGHT_LAUNCHES = [
    "--disable-background-timer-throttling",
    "--disable-backgrounding-occluded-windows",
    "--disable-renderer-backgrounding",
    "--disable-ipc-flooding-protection",
    "--disable-hang-monitor",
    "--disable-dev-shm-usage",
    "--disable-back-forward-cache",
    "--disable-popup-blocking",
    "--disable-features=PaintHolding",
]
"""What Playwright's own launch adds, which a browser started by hand must be given: pages of
other contexts are not slowed down as background tabs, /dev/shm's size does not matter."""
REQUIRE_ENV = "SUPPORTHUB_REQUIRE_BROWSER"
START_TIMEOUT_S = 60.0
TIMEOUT_MS = 30_000

expect.set_options(timeout=TIMEOUT_MS)


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


def _devtools_answers(endpoint: str) -> bool:
    try:
        with urllib.request.urlopen(f"{endpoint}/json/version", timeout=2) as response:
            return bool(response.status == 200)
    except OSError:
        return False


@pytest.fixture(scope="session")
def shared_chromium() -> Iterator[str]:
    """One headless Chromium for the session; yields its DevTools endpoint (http://127.0.0.1:PORT).
    Skips the browser tests where Chromium is missing; fails them instead when CI requires it."""
    if not CHROMIUM.exists():
        reason = f"browser tests need Debian's chromium at {CHROMIUM} (apt-get install -y chromium)"
        if os.environ.get(REQUIRE_ENV):
            pytest.fail(f"{reason} ({REQUIRE_ENV} is set)")
        pytest.skip(reason)
    with tempfile.TemporaryDirectory(prefix="chromium-") as profile, (Path(profile) / "log").open("w+") as log:
        port = free_port()
        process = subprocess.Popen(
            [
                str(CHROMIUM),
                "--headless",
                f"--remote-debugging-port={port}",
                f"--user-data-dir={profile}/data",
                *CHROMIUM_ARGS,
                *AS_PLAYWRIGHT_LAUNCHES,
                "about:blank",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        endpoint = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + START_TIMEOUT_S
            while not _devtools_answers(endpoint):
                if process.poll() is not None or time.monotonic() > deadline:
                    log.seek(0)
                    pytest.fail(f"Chromium did not open its DevTools port {port}:\n{log.read()[-2000:]}")
                time.sleep(0.05)
            yield endpoint
        finally:
            # the whole group: a helper process (a download's writer) outliving the browser
            # would still be writing into the profile while it is removed
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
            with suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)


@pytest.fixture
async def browser(shared_chromium: str) -> AsyncIterator[Any]:
    """The session's Chromium, for this test: every context and page the test opens in it is
    closed when the test ends (closing a connected browser closes only what it created)."""
    async with async_playwright() as pw:
        chromium = await pw.chromium.connect_over_cdp(shared_chromium)
        try:
            yield chromium
        finally:
            await chromium.close()
