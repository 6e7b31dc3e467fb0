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
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, ip_address, ip_network

from aiohttp import hdrs, web
from aiohttp.typedefs import Middleware

Network = IPv4Network | IPv6Network
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def trusted_networks(proxies: Sequence[str]) -> tuple[Network, ...]:
    return tuple(ip_network(proxy, strict=False) for proxy in proxies)


def client_address(peer: str | None, forwarded_for: Sequence[str], trusted: Sequence[Network]) -> str | None:
    """The client's address: `peer` itself unless it is a trusted proxy; then the right-most
    address of the X-Forwarded-For values that is not (the left-most if all are), as the
    address alone (an IPv4 address a dual-stack socket maps into IPv6 as IPv4, a port dropped).
    An entry that is no address at all ("unknown") leaves the proxy's own address."""
    peer_address = _address(peer)
    if peer_address is None or not _trusted(peer_address, trusted):
        return peer
    hops = [_address(hop) for value in forwarded_for for hop in value.split(",") if hop.strip()]
    for hop in reversed(hops):
        if hop is None:
            return str(peer_address)
        if not _trusted(hop, trusted):
            return str(hop)
    return str(hops[0]) if hops and hops[0] is not None else str(peer_address)


def forwarded_client(proxies: Sequence[str]) -> Middleware:
    """A middleware giving every handler the client's address as `request.remote`."""
    trusted = trusted_networks(proxies)

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        client = client_address(request.remote, request.headers.getall(hdrs.X_FORWARDED_FOR, []), trusted)
        if client is not None and client != request.remote:
            request = request.clone(remote=client)
        return await handler(request)

    return middleware


def _address(value: str | None) -> IPv4Address | IPv6Address | None:
    """`value` as an IP address: "1.2.3.4", "1.2.3.4:5678", "[2001:db8::1]:443", "::ffff:1.2.3.4"
    (as 1.2.3.4); None for anything else."""
    if value is None:
        return None
    text = value.strip()
    if text.startswith("["):
        text = text[1:].partition("]")[0]
    elif text.count(":") == 1:
        text = text.partition(":")[0]
    try:
        address = ip_address(text)
    except ValueError:
        return None
    return address.ipv4_mapped or address if isinstance(address, IPv6Address) else address


def _trusted(address: IPv4Address | IPv6Address, trusted: Sequence[Network]) -> bool:
    return any(address in network for network in trusted)
