"""`SafeHttp` against a real aiohttp server on 127.0.0.1: what it answers, what it refuses before
any connection (unlisted ports, metadata and private addresses, a public name resolving to
loopback), redirects, and the caps on size and time. The server records every request it
receives; a fixture records every socket connect."""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from core.action_settings import ActionSettings
from core.answering.actions.calls import ActionFailed, ActionRefused, ActionRequest, HttpAnswer
from core.answering.actions.http_call import MAX_REDIRECTS, SafeHttp

LIMIT = 1024
SECRET = "s3cret-token-value"
Received = list[tuple[str, str, str]]
"""(method, path, body) of each request the server got."""
MakeHttp = Callable[..., SafeHttp]


async def redirect(request: web.Request) -> web.Response:
    """Redirects with the status and Location the query names (`?status=303&to=/echo`)."""
    return web.Response(status=int(request.query["status"]), headers={"Location": request.query["to"]})


async def echo(request: web.Request) -> web.Response:
    return web.json_response({"method": request.method, "body": await request.text()})


async def streamed(request: web.Request) -> web.StreamResponse:
    """Twice the limit in chunks, with no Content-Length."""
    response = web.StreamResponse()
    response.enable_chunked_encoding()
    await response.prepare(request)
    for _ in range(4):
        await response.write(b"x" * (LIMIT // 2))
    return response


def answering(response: Callable[[], web.Response]) -> Callable[[web.Request], Awaitable[web.Response]]:
    async def handler(_: web.Request) -> web.Response:
        return response()

    return handler


async def never(request: web.Request) -> web.Response:
    await asyncio.Event().wait()  # never set: the client's time cap ends the exchange
    raise AssertionError("an event nobody sets was set")


ROUTES: dict[str, Callable[[web.Request], Awaitable[web.StreamResponse]]] = {
    "/json": answering(lambda: web.json_response({"status": "shipped"})),
    "/text": answering(lambda: web.Response(text="hello")),
    "/json-as-text": answering(lambda: web.Response(text='{"n": 1}')),
    "/echo": echo,
    "/redirect": redirect,
    "/loop": answering(lambda: web.Response(status=302, headers={"Location": "/loop"})),
    "/large": answering(lambda: web.Response(body=b"x" * (LIMIT + 1))),
    "/streamed": streamed,
    "/slow": never,
    "/fail": answering(lambda: web.Response(status=500, text="internal detail")),
}


@pytest.fixture
async def server(aiohttp_server: Callable[..., Any]) -> TestServer:
    received: Received = []

    @web.middleware
    async def record(
        request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        received.append((request.method, request.path, await request.text()))
        return await handler(request)

    app = web.Application(middlewares=[record])
    for path, handler in ROUTES.items():
        app.router.add_route("*", path, handler)
    test_server: TestServer = await aiohttp_server(app, access_log=None)  # its log is the endpoint's
    test_server.received = received  # type: ignore[attr-defined]
    return test_server


def received(server: TestServer) -> Received:
    requests: Received = server.received  # type: ignore[attr-defined]
    return requests


@pytest.fixture
def connects(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[Any]]:
    """Every address a socket connects to (the no-internet guard still applies)."""
    addresses: list[Any] = []
    guarded = socket.socket.connect

    def recorded(self: socket.socket, address: Any) -> Any:
        addresses.append(address)
        return guarded(self, address)

    monkeypatch.setattr(socket.socket, "connect", recorded)
    yield addresses


@pytest.fixture
async def make_http() -> AsyncIterator[MakeHttp]:
    made: list[SafeHttp] = []

    def make(*, allowed: list[str] | None = None, private: list[str] | None = None) -> SafeHttp:
        settings = ActionSettings(allowed_hosts=allowed or [], private_hosts=private or [], max_response_bytes=LIMIT)
        made.append(SafeHttp(settings))
        return made[-1]

    yield make
    for http in made:
        await http.aclose()


async def get(http: SafeHttp, url: str, *, timeout_s: float = 60.0, **request: Any) -> HttpAnswer:
    """A call with a cap no answer of these local servers comes near, even on a busy machine."""
    return await http.send(ActionRequest(request.pop("method", "GET"), url, **request), timeout_s=timeout_s)


@pytest.mark.parametrize(
    ("path", "data"),
    [("/json", {"status": "shipped"}), ("/text", "hello"), ("/json-as-text", {"n": 1})],
)
async def test_a_private_host_listed_with_its_port_answers_json_or_text(
    server: TestServer, make_http: MakeHttp, path: str, data: Any
) -> None:
    http = make_http(private=[f"127.0.0.1:{server.port}"])

    assert await get(http, f"http://127.0.0.1:{server.port}{path}") == HttpAnswer(200, data)


async def test_the_same_host_on_a_port_not_listed_is_refused_before_connecting(
    server: TestServer, make_http: MakeHttp, connects: list[Any]
) -> None:
    assert server.port is not None
    http = make_http(private=[f"127.0.0.1:{server.port + 1}"])

    with pytest.raises(ActionRefused, match=f"host 127.0.0.1:{server.port} is not listed in actions.allowed_hosts"):
        await get(http, f"http://127.0.0.1:{server.port}/json")
    assert received(server) == []
    assert connects == []


@pytest.mark.parametrize(
    ("listed", "url", "refusal"),
    [
        ([], "http://169.254.169.254/latest/meta-data/", "is not listed"),
        (["169.254.169.254"], "http://169.254.169.254/latest/meta-data/", "resolves to a private address"),
        (["[::ffff:a9fe:a9fe]"], "http://[::ffff:169.254.169.254]/", "resolves to a private address"),
        (["[64:ff9b::a9fe:a9fe]"], "http://[64:ff9b::a9fe:a9fe]/", "resolves to a private address"),
        (["10.0.0.1"], "http://10.0.0.1/", "resolves to a private address"),
        (["[::1]:8080"], "http://[::1]:8080/", "resolves to a private address"),
        (["127.1"], "http://127.1/", "is not a canonical IP address"),
        (["localhost"], "file:///etc/passwd", "is not an http"),
    ],
)
async def test_metadata_private_addresses_and_other_schemes_are_refused_without_a_connection(
    make_http: MakeHttp, connects: list[Any], listed: list[str], url: str, refusal: str
) -> None:
    with pytest.raises(ActionRefused, match=refusal):
        await get(make_http(allowed=listed), url)
    assert connects == []


async def test_the_metadata_address_is_refused_even_when_listed_as_private(
    make_http: MakeHttp, connects: list[Any]
) -> None:
    with pytest.raises(ActionRefused, match="resolves to a private address"):
        await get(make_http(private=["169.254.169.254"]), "http://169.254.169.254/latest/meta-data/")
    assert connects == []


async def test_a_private_host_may_be_ipv6_loopback(make_http: MakeHttp) -> None:
    """Nothing listens on [::1]:9 here: a connection failure, not a refusal, shows it was tried."""
    with pytest.raises(ActionFailed) as failed:
        await get(make_http(private=["[::1]:9"]), "http://[::1]:9/json")
    assert failed.value.kind == "connection"


async def test_a_public_name_resolving_to_loopback_is_refused_by_the_resolver(
    server: TestServer, make_http: MakeHttp, connects: list[Any]
) -> None:
    http = make_http(allowed=[f"localhost:{server.port}"])

    with pytest.raises(ActionRefused, match=f"host localhost:{server.port} resolves to a private address"):
        await get(http, f"http://localhost:{server.port}/json")
    assert received(server) == []
    assert connects == []


async def test_the_same_name_listed_as_private_is_reached(server: TestServer, make_http: MakeHttp) -> None:
    http = make_http(private=[f"localhost:{server.port}"])

    assert await get(http, f"http://localhost:{server.port}/json") == HttpAnswer(200, {"status": "shipped"})


async def test_a_redirect_to_another_host_is_refused(server: TestServer, make_http: MakeHttp) -> None:
    http = make_http(private=[f"127.0.0.1:{server.port}", f"localhost:{server.port}"])
    elsewhere = f"http://localhost:{server.port}/json"

    with pytest.raises(ActionRefused, match="redirect to another host"):
        await get(http, f"http://127.0.0.1:{server.port}/redirect?status=302&to={elsewhere}")
    assert received(server) == [("GET", "/redirect", "")]


@pytest.mark.parametrize(
    ("status", "method", "absolute", "arrived"),
    [
        (302, "POST", False, ("GET", "")),
        (303, "PUT", False, ("GET", "")),
        (307, "POST", True, ("POST", '{"n": "1"}')),
        (308, "PUT", True, ("PUT", '{"n": "1"}')),
    ],
)
async def test_a_redirect_on_the_same_host_is_followed(
    server: TestServer, make_http: MakeHttp, status: int, method: str, absolute: bool, arrived: tuple[str, str]
) -> None:
    origin = f"http://127.0.0.1:{server.port}"
    to = f"{origin}/echo" if absolute else "/echo"
    http = make_http(private=[f"127.0.0.1:{server.port}"])

    answer = await get(http, f"{origin}/redirect?status={status}&to={to}", method=method, json={"n": "1"})

    assert answer == HttpAnswer(200, {"method": arrived[0], "body": arrived[1]})
    assert received(server) == [(method, "/redirect", '{"n": "1"}'), (arrived[0], "/echo", arrived[1])]


async def test_redirects_stop_after_the_limit(server: TestServer, make_http: MakeHttp) -> None:
    http = make_http(private=[f"127.0.0.1:{server.port}"])

    with pytest.raises(ActionFailed, match="redirected more than") as failed:
        await get(http, f"http://127.0.0.1:{server.port}/loop")
    assert failed.value.kind == "redirect"
    assert len(received(server)) == MAX_REDIRECTS + 1


@pytest.mark.parametrize("path", ["/large", "/streamed"])
async def test_an_answer_over_the_size_limit_fails(server: TestServer, make_http: MakeHttp, path: str) -> None:
    http = make_http(private=[f"127.0.0.1:{server.port}"])

    with pytest.raises(ActionFailed) as failed:
        await get(http, f"http://127.0.0.1:{server.port}{path}")
    assert (failed.value.kind, str(failed.value)) == (
        "too_large",
        f"http://127.0.0.1:{server.port} answered more than {LIMIT} bytes",
    )


async def test_an_endpoint_that_never_answers_times_out(server: TestServer, make_http: MakeHttp) -> None:
    http = make_http(private=[f"127.0.0.1:{server.port}"])

    with pytest.raises(ActionFailed) as failed:
        await get(http, f"http://127.0.0.1:{server.port}/slow", timeout_s=0.5)
    assert failed.value.kind == "timeout"
    assert received(server) == [("GET", "/slow", "")]


async def test_an_error_status_fails_without_its_body(server: TestServer, make_http: MakeHttp) -> None:
    http = make_http(private=[f"127.0.0.1:{server.port}"])

    with pytest.raises(ActionFailed) as failed:
        await get(http, f"http://127.0.0.1:{server.port}/fail")
    assert (failed.value.kind, str(failed.value)) == ("http_500", "the endpoint answered HTTP 500")
    assert failed.value.status == 500


async def test_a_port_nobody_listens_on_is_a_connection_failure(make_http: MakeHttp) -> None:
    with socket.socket() as probe:  # a port just free, so nothing listens there
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    http = make_http(private=[f"127.0.0.1:{port}"])

    with pytest.raises(ActionFailed) as failed:
        await get(http, f"http://127.0.0.1:{port}/json")
    assert (failed.value.kind, str(failed.value)) == (
        "connection",
        f"could not reach http://127.0.0.1:{port} (ClientConnectorError)",
    )


@pytest.mark.parametrize(
    ("listed", "path"),
    [(True, "/fail"), (True, "/large"), (True, "/loop"), (False, "/json")],
)
async def test_no_header_or_query_value_appears_in_a_failure_or_the_log(
    server: TestServer, make_http: MakeHttp, caplog: pytest.LogCaptureFixture, listed: bool, path: str
) -> None:
    http = make_http(private=[f"127.0.0.1:{server.port}"] if listed else [])
    caplog.set_level(logging.DEBUG)

    with pytest.raises((ActionFailed, ActionRefused)) as failed:
        await get(
            http,
            f"http://127.0.0.1:{server.port}{path}?token={SECRET}-query",
            headers={"Authorization": f"Bearer {SECRET}-header"},
        )
    assert SECRET not in f"{failed.value} {failed.value!r}"
    assert SECRET not in caplog.text
