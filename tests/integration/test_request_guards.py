"""Slow, abandoned and oversized requests, probed with raw sockets against the real app."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from core.server import create_app
from core.settings import ServerSettings, Settings

HEADERS = b"POST /api/messages HTTP/1.1\r\nHost: hub\r\nContent-Type: application/json\r\nContent-Length: 100000000\r\n\r\n"


@pytest.fixture
async def impatient(aiohttp_client: Callable[..., Any], make_settings: Callable[..., Settings]) -> TestClient:
    settings = make_settings(server=ServerSettings(body_timeout_s=0.5))
    return await aiohttp_client(create_app(settings))  # type: ignore[no-any-return]


@pytest.fixture
async def production_server(make_settings: Callable[..., Settings]) -> AsyncIterator[tuple[str, int]]:
    """The app served as `supporthub serve` serves it: a handler runs on when its client hangs
    up (aiohttp's test server cancels it instead, hiding what happens in production)."""
    runner = web.AppRunner(create_app(make_settings()), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    try:
        yield host, port
    finally:
        await runner.cleanup()


async def _open(client: TestClient) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    return await asyncio.open_connection(client.server.host, client.server.port)


async def test_a_body_that_never_arrives_gets_408_and_its_connection_is_closed(impatient: TestClient) -> None:
    held = [await _open(impatient) for _ in range(20)]
    for _, writer in held:
        writer.write(HEADERS + b'{"contact": ')
        await writer.drain()
    for reader, writer in held:
        status = await asyncio.wait_for(reader.readline(), timeout=30)
        assert status.startswith(b"HTTP/1.1 408"), status
        await asyncio.wait_for(reader.read(), timeout=30)  # EOF: the server let go of the socket
        writer.close()
    ok = await impatient.post("/api/messages", json={"contact": "a", "text": "How do I reset my password?"})
    assert ok.status == 200


async def test_a_slow_body_that_arrives_in_time_is_answered(impatient: TestClient) -> None:
    body = b'{"contact": "slow", "text": "How do I reset my password?"}'
    reader, writer = await _open(impatient)
    writer.write(HEADERS.replace(b"100000000", str(len(body)).encode()) + body[:10])
    await writer.drain()
    await asyncio.sleep(0.2)
    writer.write(body[10:])
    await writer.drain()
    status = await asyncio.wait_for(reader.readline(), timeout=60)
    assert status.startswith(b"HTTP/1.1 200"), status
    writer.close()


async def test_a_client_that_hangs_up_mid_upload_is_one_debug_line(
    production_server: tuple[str, int], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    reader, writer = await asyncio.open_connection(*production_server)
    writer.write(HEADERS + b'{"contact": "a", "text": "')
    await writer.drain()
    await asyncio.sleep(0.3)  # the handler is reading the body
    writer.transport.abort()
    for _ in range(100):
        if any("went away" in r.getMessage() for r in caplog.records):
            break
        await asyncio.sleep(0.05)
    aborts = [r for r in caplog.records if "went away" in r.getMessage()]
    assert len(aborts) == 1 and aborts[0].levelno == logging.DEBUG
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert not [r for r in caplog.records if r.exc_info]
