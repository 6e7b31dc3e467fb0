"""Who a request comes from, for the limits that count addresses: widget sessions are not free,
and behind a reverse proxy each visitor is counted by their own address, never by one a client
made up."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from aiohttp import WSMsgType

from core.cli.server import create_app
from core.ops.client_address import client_address, trusted_networks
from core.settings import LimitsSettings, ServerSettings, Settings
from tests.app_client import AppClient


async def _hello(client: AppClient, token: str | None = None) -> tuple[dict[str, Any], Any]:
    ws = await client.ws_connect("/widget/ws")
    await ws.send_json({"type": "hello", "token": token, "after": 0})
    return await ws.receive_json(), ws


async def test_new_widget_sessions_from_one_address_are_limited_and_returning_visitors_are_not(
    aiohttp_client: Callable[..., Any], make_settings: Callable[..., Settings]
) -> None:
    """A new session is a new sender to `per_contact`: a script opening one per message is held
    to `sessions_per_ip`."""
    settings = make_settings(limits=LimitsSettings(sessions_per_ip="3/minute"))
    client = await aiohttp_client(create_app(settings))
    opened = [await _hello(client) for _ in range(3)]
    assert [frame["type"] for frame, _ in opened] == ["session"] * 3

    refused, ws = await _hello(client)
    assert refused["type"] == "slow_down" and 1 <= refused["retry_after"] <= 60
    assert (await ws.receive()).type in (WSMsgType.CLOSE, WSMsgType.CLOSED)

    returning, _ = await _hello(client, token=opened[0][0]["token"])
    assert returning["type"] == "session" and returning["restarted"] is False


async def test_with_per_ip_off_and_no_trusted_proxy_new_sessions_are_not_limited_per_address(
    aiohttp_client: Callable[..., Any],
    make_settings: Callable[..., Settings],
    caplog: pytest.LogCaptureFixture,
) -> None:
    """How a hub behind a reverse proxy was set up before `server.trusted_proxies`: every
    visitor has the proxy's address, so a limit per address would be one for the whole site.
    Start-up says so instead."""
    settings = make_settings(limits=LimitsSettings(sessions_per_ip="2/minute", per_ip=""))
    client = await aiohttp_client(create_app(settings))
    opened = [await _hello(client) for _ in range(3)]
    assert [frame["type"] for frame, _ in opened] == ["session"] * 3
    assert any("server.trusted_proxies" in r.getMessage() for r in caplog.records if r.levelname == "WARNING")


async def _post(client: AppClient, forwarded_for: str) -> int:
    response = await client.post(
        "/api/messages",
        json={"contact": f"visitor-{forwarded_for}", "text": "hi"},
        headers={"X-Forwarded-For": forwarded_for},
    )
    return response.status


async def test_behind_a_trusted_proxy_each_visitor_is_counted_by_their_own_address(
    aiohttp_client: Callable[..., Any], make_settings: Callable[..., Settings]
) -> None:
    """The proxy (the test client, on 127.0.0.1) names each visitor in X-Forwarded-For."""
    settings = make_settings(
        server=ServerSettings(trusted_proxies=["127.0.0.1"]), limits=LimitsSettings(per_contact="", per_ip="2/minute")
    )
    client = await aiohttp_client(create_app(settings))
    assert [await _post(client, "203.0.113.7") for _ in range(3)] == [200, 200, 429]
    assert await _post(client, "203.0.113.8") == 200
    assert await _post(client, "198.51.100.1, 203.0.113.7") == 429  # made up on the left: still 203.0.113.7


async def test_a_forwarded_address_from_a_peer_that_is_not_a_trusted_proxy_is_ignored(
    aiohttp_client: Callable[..., Any], make_settings: Callable[..., Settings]
) -> None:
    settings = make_settings(
        server=ServerSettings(trusted_proxies=["10.0.0.0/8"]), limits=LimitsSettings(per_contact="", per_ip="2/minute")
    )
    client = await aiohttp_client(create_app(settings))
    assert [await _post(client, f"203.0.113.{i}") for i in range(3)] == [200, 200, 429]


@pytest.mark.parametrize(
    ("peer", "forwarded", "client"),
    [
        ("10.0.0.5", ["203.0.113.7"], "203.0.113.7"),
        (
            "10.0.0.5",
            ["198.51.100.1, 203.0.113.7, 10.0.0.9"],
            "203.0.113.7",
        ),  # two proxies; the left was the client's word
        ("10.0.0.5", ["198.51.100.1", "203.0.113.7"], "203.0.113.7"),  # the header given twice
        ("10.0.0.5", ["10.0.0.1, 10.0.0.9"], "10.0.0.1"),  # every hop a proxy: the left-most
        ("10.0.0.5", ["unknown"], "10.0.0.5"),  # no address: the proxy's own
        ("::ffff:10.0.0.5", ["203.0.113.7"], "203.0.113.7"),  # a dual-stack socket's view of the proxy
        ("10.0.0.5", ["203.0.113.7:5678"], "203.0.113.7"),  # one key per visitor, whatever their port
        ("10.0.0.5", ["[2001:db8::1]:443"], "2001:db8::1"),
        ("10.0.0.5", [], "10.0.0.5"),
        ("192.0.2.1", ["203.0.113.7"], "192.0.2.1"),  # not from a proxy: the header is the client's own word
        (None, ["203.0.113.7"], None),
    ],
)
def test_the_client_is_the_first_address_from_the_right_that_is_not_a_trusted_proxy(
    peer: str | None, forwarded: list[str], client: str | None
) -> None:
    assert client_address(peer, forwarded, trusted_networks(["10.0.0.0/8"])) == client
