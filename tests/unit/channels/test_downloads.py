"""`channels.common.downloads.capped_file` against a real aiohttp server: a file over the limit keeps
no data and says how large it is when its server declared it, or that it is over the limit
when the server streamed it without a size."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from channels.common.downloads import capped_file
from core.messages import Attachment

LIMIT = 1024 * 1024


async def streamed(request: web.Request) -> web.StreamResponse:
    """The file in 64 KB chunks, with no Content-Length (chunked transfer encoding)."""
    response = web.StreamResponse()
    response.enable_chunked_encoding()
    await response.prepare(request)
    for _ in range(int(request.query["kb"]) // 64):
        await response.write(b"x" * 64 * 1024)
    return response


async def whole(request: web.Request) -> web.Response:
    return web.Response(body=b"x" * int(request.query["kb"]) * 1024)


@pytest.mark.parametrize(
    ("path", "kb", "expected"),
    [
        ("/whole", 512, Attachment("a.csv", "text/csv", b"x" * 512 * 1024)),
        ("/streamed", 512, Attachment("a.csv", "text/csv", b"x" * 512 * 1024)),
        ("/whole", 2048, Attachment("a.csv", "text/csv", b"", declared_size=2048 * 1024)),
        ("/streamed", 2048, Attachment("a.csv", "text/csv", b"", problem="a.csv is over the 1 MB limit")),
    ],
)
async def test_a_file_is_read_up_to_the_limit_and_one_over_it_says_why(
    aiohttp_server: Callable[..., Any], path: str, kb: int, expected: Attachment
) -> None:
    app = web.Application()
    app.router.add_get("/whole", whole)
    app.router.add_get("/streamed", streamed)
    server = await aiohttp_server(app)
    async with aiohttp.ClientSession() as session, session.get(server.make_url(path), params={"kb": kb}) as response:
        assert await capped_file(response, name="a.csv", kind="text/csv", max_bytes=LIMIT) == expected
