"""Slow, abandoned, oversized and malformed requests, probed with raw sockets against the real
app; and who may call the API: servers, not other sites' pages, by a known host name."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from aiohttp import web
from pydantic import SecretStr

from channels.api.settings import ApiSettings
from core.cli.server import create_app
from core.settings import AdminSettings, AttachmentSettings, LimitsSettings, ServerSettings, Settings
from tests.app_client import AppClient
from tests.integration.trusted import TRUSTED, trusted_api

HEADERS = (
    b"POST /api/messages HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
    b"Content-Length: 1000000\r\n\r\n"
)
"""A megabyte announced: within what a message with files may take."""


@pytest.fixture
async def impatient(aiohttp_client: Callable[..., Any], make_settings: Callable[..., Settings]) -> AppClient:
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


async def _open(client: AppClient) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    return await asyncio.open_connection(client.server.host, client.server.port)


@pytest.mark.slow("waits out the server's deadline for a request body")
async def test_a_body_that_never_arrives_gets_408_and_its_connection_is_closed(impatient: AppClient) -> None:
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


async def test_a_slow_body_that_arrives_in_time_is_answered(impatient: AppClient) -> None:
    body = b'{"contact": "slow", "text": "How do I reset my password?"}'
    reader, writer = await _open(impatient)
    writer.write(HEADERS.replace(b"1000000", str(len(body)).encode()) + body[:10])
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
    _reader, writer = await asyncio.open_connection(*production_server)
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


async def answer_to(client: AppClient, head: bytes, body: bytes = b"") -> tuple[bytes, bytes]:
    """The status line and the rest of the answer (headers, blank line, body) to `head` (+
    `body`) on a connection of its own, however long it takes: the body as far as its
    Content-Length, or until the server closes; none after a switch to a websocket."""
    reader, writer = await _open(client)
    try:
        writer.write(head + body)
        await writer.drain()
        status = await reader.readline()
        headers = b""
        while (line := await reader.readline()) not in (b"\r\n", b""):
            headers += line
        lengths = [
            int(line.partition(b":")[2]) for line in headers.splitlines() if line.lower().startswith(b"content-length:")
        ]
        if b" 101 " in status:
            content = b""
        else:
            content = await reader.readexactly(lengths[0]) if lengths else await reader.read()
    finally:
        writer.close()
    return status, headers + b"\r\n" + content


async def test_a_form_or_a_vote_larger_than_a_few_kb_is_refused(
    aiohttp_client: Callable[..., Any], make_settings: Callable[..., Settings]
) -> None:
    client = await aiohttp_client(create_app(make_settings(admin=AdminSettings(token=SecretStr("the-token")))))
    sign_in = await client.post("/admin/login", data={"token": "x" * 1_000_000})
    assert sign_in.status == 413
    assert "Maximum request body size" in await sign_in.text()
    vote = await client.post(
        "/api/feedback", json={"contact": "a", "message_id": 1, "rating": "up", "comment": "x" * 1_000_000}
    )
    assert vote.status == 413
    assert "larger than" in (await vote.json())["error"]


async def test_an_api_message_past_what_its_files_allow_is_refused_unread(
    aiohttp_client: Callable[..., Any], make_settings: Callable[..., Settings]
) -> None:
    settings = make_settings(
        attachments=AttachmentSettings(max_bytes=1000, max_files=1), server=ServerSettings(body_timeout_s=30)
    )
    client = await aiohttp_client(create_app(settings))
    status, rest = await answer_to(client, HEADERS)  # a megabyte announced, nothing sent
    assert status.startswith(b"HTTP/1.1 413"), status
    assert b"the body is larger than" in rest


async def test_the_api_counts_a_caller_before_reading_its_body(
    aiohttp_client: Callable[..., Any], make_settings: Callable[..., Settings]
) -> None:
    settings = make_settings(
        limits=LimitsSettings(per_contact="", per_ip="1/minute"), server=ServerSettings(body_timeout_s=30)
    )
    client = await aiohttp_client(create_app(settings))
    assert (
        await client.post("/api/messages", json={"contact": "a", "text": "How do I reset my password?"})
    ).status == 200
    status, rest = await answer_to(client, HEADERS)  # its body never comes
    assert status.startswith(b"HTTP/1.1 429"), status
    assert b"Retry-After: " in rest and b"too many messages" in rest


async def test_the_api_takes_json_only(client: AppClient) -> None:
    body = '{"contact": "a", "text": "How do I reset my password?"}'
    for content_type in ("text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x"):
        response = await client.post("/api/messages", data=body, headers={"Content-Type": content_type})
        assert response.status == 415, content_type
        assert "Content-Type: application/json" in (await response.json())["error"]
    assert (await client.post("/api/messages", data=body, headers={"Content-Type": "application/json"})).status == 200


async def test_a_json_body_that_is_not_utf8_is_refused(client: AppClient) -> None:
    body = '{"contact": "a", "text": "How do I reset my password?"}'
    for encoding in ("utf-16", "utf-32"):
        response = await client.post(
            "/api/messages", data=body.encode(encoding), headers={"Content-Type": "application/json"}
        )
        assert response.status == 400, encoding
        assert (await response.json())["error"] == "body is not valid UTF-8"


@pytest.fixture
async def named_hub(aiohttp_client: Callable[..., Any], make_settings: Callable[..., Settings]) -> AppClient:
    settings = make_settings(server=ServerSettings(public_hosts=["Support.Example.com"]))
    return await aiohttp_client(create_app(settings))  # type: ignore[no-any-return]


@pytest.mark.parametrize(
    "host",
    [
        "127.0.0.1:8080",
        "localhost",
        "LOCALHOST.:8080",
        "[::1]:8080",
        "10.1.2.3",
        "support.example.com",
        "support.example.com:443",
    ],
)
async def test_the_api_without_a_token_answers_to_its_own_host_names(named_hub: AppClient, host: str) -> None:
    response = await named_hub.get("/api/search", params={"q": "password"}, headers={"Host": host})
    assert response.status == 200, await response.text()


@pytest.mark.parametrize(
    "host",
    [
        "evil.example:8080",
        "support.example.com.evil.example",
        "127.0.0.1.nip.io",
        "localhost@evil.example",
        "[::1",
        "evil.example:notaport",
    ],
)
async def test_the_api_without_a_token_refuses_any_other_host_name(named_hub: AppClient, host: str) -> None:
    """A page on a host name its owner's DNS points at 127.0.0.1 (DNS rebinding) is same-origin
    to the browser; its Host header is what gives it away."""
    for method, path, body in (
        ("GET", "/api/search?q=password", None),
        ("GET", "/api/conversations/any/messages", None),
        ("POST", "/api/messages", {"contact": "a", "text": "How do I reset my password?"}),
    ):
        response = await named_hub.request(method, path, json=body, headers={"Host": host})
        assert response.status == 403, (host, path)
        assert "host names" in (await response.json())["error"]


async def test_with_a_token_the_api_answers_whatever_the_host(
    aiohttp_client: Callable[..., Any], make_settings: Callable[..., Settings]
) -> None:
    client = await aiohttp_client(create_app(make_settings(api=trusted_api())), headers=TRUSTED)
    response = await client.get("/api/search", params={"q": "password"}, headers={"Host": "api.internal.example"})
    assert response.status == 200


@pytest.mark.parametrize("api", [ApiSettings(), trusted_api()], ids=["no-token", "token"])
async def test_another_sites_page_may_not_call_the_api(
    aiohttp_client: Callable[..., Any], make_settings: Callable[..., Settings], api: ApiSettings
) -> None:
    client: AppClient = await aiohttp_client(create_app(make_settings(api=api)), headers=TRUSTED)
    question = {"contact": "a", "text": "How do I reset my password?"}
    for page in (
        {"Origin": "https://evil.example"},
        {"Origin": "null"},
        {"Sec-Fetch-Site": "cross-site"},
        {"Sec-Fetch-Site": "same-site", "Origin": "https://www.example.com"},
    ):
        response = await client.post("/api/messages", json=question, headers=page)
        assert response.status == 403, page
        assert "other sites' pages" in (await response.json())["error"]
    own = f"http://{client.server.host}:{client.server.port}"
    assert (await client.post("/api/messages", json=question, headers={"Origin": own})).status == 200


async def test_a_url_over_8_kb_is_a_400_without_an_error_logged(
    client: AppClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="aiohttp.server")
    status, _ = await answer_to(client, b"GET /" + b"a" * 9000 + b" HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
    assert status.startswith(b"HTTP/1.0 400") or status.startswith(b"HTTP/1.1 400"), status
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING or r.exc_info]
    (refused,) = [r for r in caplog.records if r.name == "aiohttp.server"]
    assert refused.getMessage() == "refused a malformed request from 127.0.0.1 (HTTP 400, LineTooLong)"
    assert (await client.get("/healthz")).status == 200
