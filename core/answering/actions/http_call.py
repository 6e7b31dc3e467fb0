"""Actions' one way out, SSRF-safe: no URL a customer's words fill reaches 169.254.169.254 or internals.

The threat: cloud metadata (credentials) at 169.254.169.254, services inside the company's network.
Checked on every call: the scheme is http(s); `host:port` is listed (`actions.allowed_hosts` or
`actions.private_hosts`); every address actually connected to is global, unless the host is listed
as private by name; redirects stay on the same scheme, host and port (at most 3); the answer is
capped in time and size. Link-local, multicast, unspecified and reserved addresses are refused
even for a private host: no company system lives there, the metadata service does.

Nothing here logs, and no message holds a header, a query string or a body: headers carry the
operator's secrets and queries the customer's identity.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import socket
from typing import Any, Literal

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult
from yarl import URL

from core.action_settings import ActionSettings, host_and_port
from core.answering.actions.calls import ActionFailed, ActionRefused, ActionRequest, HttpAnswer

MAX_REDIRECTS = 3
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_CHUNK_BYTES = 64 * 1024

Address = ipaddress.IPv4Address | ipaddress.IPv6Address


def _may_connect(address: Address, listing: Literal["public", "private"]) -> bool:
    """Whether a host listed as `listing` may be reached at `address`. An IPv6 address carrying an
    IPv4 one (mapped, 6to4, NAT64) is judged by the IPv4 address it reaches."""
    if isinstance(address, ipaddress.IPv6Address):
        if address in _NAT64:
            address = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
        else:
            address = address.ipv4_mapped or address.sixtofour or address
    if address.is_loopback:  # before `is_reserved`, which IPv6's ::1 also is
        return listing == "private"
    if address.is_link_local or address.is_multicast or address.is_unspecified or address.is_reserved:
        return False
    return address.is_global or listing == "private"


def _shown(url: URL) -> str:
    """What a message may say of a URL: `scheme://host:port`. Not the path: an action's path
    holds its arguments and the customer's verified email (`/customers/{contact.email}/…`), and
    these messages reach the log and the audit trail."""
    return f"{url.scheme}://{host_and_port(url.raw_host or '', url.port or 0)}"


def _literal(host: str) -> Address | None:
    """The address a host names without DNS, or None for a name. aiohttp connects straight to a
    host with a colon or only digits and dots, never asking the resolver, so such a host must be
    an address this module can check (`127.1` is not)."""
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        if ":" in host or host.replace(".", "").isdigit():
            raise ActionRefused(f"host {host} is not a canonical IP address") from None
        return None


class _CheckedResolver(AbstractResolver):
    """Resolves for the connector and refuses the addresses a host may not have: the check is on
    the very addresses connected to, so a DNS answer that changes between calls cannot slip by."""

    def __init__(self, settings: ActionSettings) -> None:
        self._settings = settings
        self._dns = aiohttp.ThreadedResolver()

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        host_port = host_and_port(host, port)
        listing = self._settings.listed_as(host_port)
        if listing is None:
            raise ActionRefused(f"host {host_port} is not listed in actions.allowed_hosts")
        resolved = await self._dns.resolve(host, port, family)
        for result in resolved:
            if not _may_connect(ipaddress.ip_address(result["host"]), listing):
                raise ActionRefused(f"host {host_port} resolves to a private address ({result['host']})")
        return resolved

    async def close(self) -> None:
        await self._dns.close()


class SafeHttp:
    """Makes the operator's action calls. Owns one session, opened on the first call (inside the
    running loop) and closed by `aclose`. The session keeps no cookies (one customer's call must
    not carry another's) and ignores proxy settings from the environment."""

    def __init__(self, settings: ActionSettings) -> None:
        self._settings = settings
        self._session: aiohttp.ClientSession | None = None
        self._resolver: _CheckedResolver | None = None

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
        if self._resolver is not None:
            await self._resolver.close()
        self._session = self._resolver = None

    async def send(self, request: ActionRequest, *, timeout_s: float) -> HttpAnswer:
        """The endpoint's answer, redirects followed. Raises ActionRefused when the call may not be
        made (nothing was sent), ActionFailed when it was made and gave nothing to use.
        `timeout_s` caps the whole exchange, redirects and reading the answer included."""
        try:
            url = URL(request.url)
        except ValueError:  # its text would repeat the URL, query and all
            raise ActionRefused("the action's URL is not a valid URL") from None
        self._check(url)
        try:
            async with asyncio.timeout(timeout_s):
                return await self._exchange(request, url)
        except TimeoutError:
            raise ActionFailed("timeout", f"{_shown(url)} did not answer within {timeout_s:g} s") from None
        except aiohttp.ClientError as error:  # its text may hold the query: only its kind is said
            raise ActionFailed("connection", f"could not reach {_shown(url)} ({type(error).__name__})") from None

    def _check(self, url: URL) -> None:
        """Raises ActionRefused unless the call may go to `url`. A name is checked again, once
        resolved, by the connector's resolver; an address only here."""
        if url.scheme not in ("http", "https") or not url.raw_host or url.port is None:
            raise ActionRefused(f"{url.scheme}://{url.raw_host or ''} is not an http(s) URL with a host")
        host_port = host_and_port(url.raw_host, url.port)
        listing = self._settings.listed_as(host_port)
        if listing is None:
            raise ActionRefused(f"host {host_port} is not listed in actions.allowed_hosts")
        address = _literal(url.raw_host)
        if address is not None and not _may_connect(address, listing):
            raise ActionRefused(f"host {host_port} resolves to a private address ({address})")

    async def _exchange(self, request: ActionRequest, url: URL) -> HttpAnswer:
        method, body, redirects = request.method, request.json, 0
        while True:
            async with self._opened().request(
                method, url, headers=request.headers, json=body, allow_redirects=False
            ) as response:
                status, location = response.status, response.headers.get("Location")
                if status not in _REDIRECTS or location is None:
                    return await self._answer(response, url)
                if redirects == MAX_REDIRECTS:
                    raise ActionFailed(
                        "redirect", f"{_shown(url)} redirected more than {MAX_REDIRECTS} times", status=status
                    )
                try:
                    target = url.join(URL(location)).with_fragment(None)
                except ValueError:
                    raise ActionFailed(
                        "redirect", f"{_shown(url)} redirected to an invalid URL", status=status
                    ) from None
                if (target.scheme, target.raw_host, target.port) != (url.scheme, url.raw_host, url.port):
                    raise ActionRefused(
                        f"redirect to another host: {_shown(url)} sent to {target.origin()}", status=status
                    )
                if (status == 303 and method != "HEAD") or (status in (301, 302) and method == "POST"):
                    method, body = "GET", None  # as browsers do; 307 and 308 keep both
                url, redirects = target, redirects + 1

    async def _answer(self, response: aiohttp.ClientResponse, url: URL) -> HttpAnswer:
        status = response.status
        if status >= 400:
            raise ActionFailed(f"http_{status}", f"the endpoint answered HTTP {status}", status=status)
        limit = self._settings.max_response_bytes
        too_large = f"{_shown(url)} answered more than {limit} bytes"
        if response.content_length is not None and response.content_length > limit:
            raise ActionFailed("too_large", too_large, status=status)
        received = bytearray()
        async for chunk in response.content.iter_chunked(_CHUNK_BYTES):
            received += chunk
            if len(received) > limit:
                raise ActionFailed("too_large", too_large, status=status)
        return HttpAnswer(status, _parsed(bytes(received), response.charset))

    def _opened(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._resolver = _CheckedResolver(self._settings)
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(resolver=self._resolver, use_dns_cache=False),
                cookie_jar=aiohttp.DummyCookieJar(),
                trust_env=False,
            )
        return self._session


def _parsed(body: bytes, charset: str | None) -> Any:
    """The answer's JSON when it is JSON (whatever its content type says), else its text."""
    try:
        text = body.decode(charset or "utf-8", errors="replace")
    except LookupError:  # a charset Python does not know
        text = body.decode("utf-8", errors="replace")
    try:
        return json.loads(text)
    except ValueError:
        return text
