"""Who is on the other end of a request behind a reverse proxy: the address the proxy names in
X-Forwarded-For, believed only when the request comes from a proxy the operator listed
(`server.trusted_proxies`).

The header is read from the right: each trusted proxy appends the address it saw, so the first
address from the right that is not a trusted proxy is the client's; a client can only put
addresses on the left, which are never reached. A request straight from anyone else keeps its
peer address, whatever headers it sends.

Not aiohttp-remotes: its XForwardedFiltered believes the header from any peer (a client
talking to the hub directly could name any address), and XForwardedStrict refuses every
request whose peer is not a listed proxy (a health check on the hub's own port) and rewrites
Host and scheme too.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from ipaddress import IPv4Network, IPv6Network, ip_address, ip_network

from aiohttp import hdrs, web

Network = IPv4Network | IPv6Network
MAX_ADDRESS_LENGTH = 64
"""An entry a proxy wrote is an address (at most 45 characters); anything longer is cut."""
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def trusted_networks(proxies: Sequence[str]) -> tuple[Network, ...]:
    return tuple(ip_network(proxy, strict=False) for proxy in proxies)


def client_address(peer: str | None, forwarded_for: Sequence[str], trusted: Sequence[Network]) -> str | None:
    """The client's address: `peer` itself unless it is a trusted proxy; then the right-most
    address of the X-Forwarded-For values that is not (the left-most if all are)."""
    if not _trusted(peer, trusted):
        return peer
    hops = [hop.strip() for value in forwarded_for for hop in value.split(",") if hop.strip()]
    for hop in reversed(hops):
        if not _trusted(hop, trusted):
            return hop[:MAX_ADDRESS_LENGTH]
    return hops[0][:MAX_ADDRESS_LENGTH] if hops else peer


def forwarded_client(proxies: Sequence[str]) -> Callable[[web.Request, Handler], Awaitable[web.StreamResponse]]:
    """A middleware giving every handler the client's address as `request.remote`."""
    trusted = trusted_networks(proxies)

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        client = client_address(request.remote, request.headers.getall(hdrs.X_FORWARDED_FOR, []), trusted)
        if client != request.remote:
            request = request.clone(remote=client)
        return await handler(request)

    return middleware


def _trusted(value: str | None, trusted: Sequence[Network]) -> bool:
    if value is None:
        return False
    try:
        address = ip_address(value)
    except ValueError:
        return False
    return any(address in network for network in trusted)
