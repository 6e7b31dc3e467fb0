"""The built-in SMTP listener's bounds, around aiosmtpd's protocol: how many connections it holds
at once (in all and from one address), and how long a mail's DATA may take to arrive.

aiosmtpd has neither cap. Its one timer (`timeout`, 300 s idle between commands) is not reset
while DATA arrives, so a DATA trickled a byte at a time held its connection five minutes, and
nothing stopped a client from opening thousands of them. Over a cap a client gets `421` and the
connection is closed at once: a mail server retries later, as it does on any 4xx. A DATA phase
past its deadline gets `421` too and is closed; the mail was not taken, so the sender's server
tries it again.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from typing import Any

from aiosmtpd.smtp import SMTP

log = logging.getLogger(__name__)

TOO_MANY = b"421 4.7.0 Too many connections; try again later\r\n"
TOO_SLOW = b"421 4.4.2 The message took too long to arrive; try again later\r\n"


class Connections:
    """The listener's open connections, in all and by client address."""

    def __init__(self, *, most: int, most_per_client: int) -> None:
        self._most = most
        self._most_per_client = most_per_client
        self._by_client: Counter[str] = Counter()

    def open(self, client: str) -> bool:
        """Counts a new connection from `client`; False (and not counted) when over a cap."""
        if self._by_client.total() >= self._most or self._by_client[client] >= self._most_per_client:
            return False
        self._by_client[client] += 1
        return True

    def close(self, client: str) -> None:
        self._by_client[client] -= 1
        if self._by_client[client] <= 0:
            del self._by_client[client]


class BoundedSMTP(SMTP):
    """aiosmtpd's protocol for one connection, counted in `connections`, with a deadline on
    each DATA phase (from the DATA command to the final dot; storing the mail is not timed)."""

    def __init__(self, handler: Any, *, connections: Connections, data_timeout_s: float, **options: Any) -> None:
        super().__init__(handler, **options)
        self._connections = connections
        self._data_timeout_s = data_timeout_s
        self._client: str | None = None
        """The address counted for this connection; None when it was refused (or not yet made)."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        if self._client is not None:  # made again by STARTTLS: the same connection
            super().connection_made(transport)
            return
        peer = transport.get_extra_info("peername")
        client = str(peer[0]) if isinstance(peer, tuple) else str(peer)
        if not self._connections.open(client):
            log.warning("email: refused a connection from %s: too many open", client)
            transport.write(TOO_MANY)  # type: ignore[attr-defined]
            transport.close()
            return
        self._client = client
        super().connection_made(transport)

    def connection_lost(self, error: Exception | None) -> None:
        if self._client is None:  # refused: aiosmtpd never saw it
            return
        self._connections.close(self._client)
        super().connection_lost(error)

    async def smtp_DATA(self, arg: str) -> None:
        deadline = self.loop.call_later(self._data_timeout_s, self._data_too_slow)
        try:
            await super().smtp_DATA(arg)
        finally:
            deadline.cancel()

    def _data_too_slow(self) -> None:
        if self.envelope is not None and self.envelope.original_content is not None:
            return  # all of it arrived in time: the mail is being stored
        if self.transport is not None:
            log.warning(
                "email: closed a connection from %s: its DATA took over %g s", self._client, self._data_timeout_s
            )
            self.transport.write(TOO_SLOW)  # type: ignore[attr-defined]
            self.transport.close()
