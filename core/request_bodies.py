"""Reading a request body whole, but never more than its route takes: a platform's webhook
no more than the platform sends, the API's messages no more than their text and files.

`request.content.read(n)` returns what has arrived so far, not `n` bytes: a body that comes in
several TCP segments (a large update, TLS, a proxy that streams) would be cut. A chunked body
has no Content-Length to check up front either.
"""

from __future__ import annotations

import json

from aiohttp import web


async def read_at_most(request: web.Request, limit: int) -> bytes | None:
    """The whole request body, or None once it passes `limit` bytes — at once, unread, when
    its Content-Length says it will."""
    if request.content_length is not None and request.content_length > limit:
        return None
    chunks: list[bytes] = []
    size = 0
    while chunk := await request.content.read(limit + 1 - size):
        chunks.append(chunk)
        size += len(chunk)
        if size > limit:
            return None
    return b"".join(chunks)


def too_large(request: web.Request, limit: int) -> web.HTTPRequestEntityTooLarge:
    """The 413 for a body past `limit` bytes, its reason as JSON like every refusal's."""
    return web.HTTPRequestEntityTooLarge(
        limit,
        request.content_length or limit + 1,
        text=json.dumps({"error": f"the body is larger than {limit} bytes"}),
        content_type="application/json",
    )
