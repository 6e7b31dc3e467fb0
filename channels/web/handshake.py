"""The widget's websocket handshake, checked before aiohttp reads it.

aiohttp refuses a bad handshake with a 400 whose text quotes the header it did not like
(`Upgrade`, `Connection`, `Sec-WebSocket-Version`): a value that is not UTF-8 reaches it as lone
surrogates, that text cannot be encoded, and the refusal itself fails, a 500 with a traceback.
A key beyond ASCII fails its base64 decoding with a ValueError aiohttp does not expect either.
Every header of the handshake is printable ASCII when a browser sends it, so any other is
refused here, with a reason that does not quote it.
"""

from __future__ import annotations

from collections.abc import Iterable

HANDSHAKE_HEADERS = frozenset(
    {
        "upgrade",
        "connection",
        "sec-websocket-version",
        "sec-websocket-key",
        "sec-websocket-protocol",
        "sec-websocket-extensions",
    }
)


def handshake_problem(headers: Iterable[tuple[str, str]]) -> str | None:
    """Why the handshake's headers in `headers` (name, value pairs) cannot be read; None when they can."""
    for name, value in headers:
        if name.lower() in HANDSHAKE_HEADERS and not (value.isascii() and value.isprintable()):
            return f"the websocket handshake's {name} header is not printable ASCII"
    return None
