"""A customer's file read from a platform's file server, never more than one byte past
`attachments.max_bytes` of it (Slack's and Twilio's downloads share it), and the origin a
file's URL must have for the platform's credentials to go with the request.

A file over the limit keeps no data and carries the size its server declared (the platform's
file metadata, or the Content-Length), so the customer hears "report.xlsx is 11.1 MB, over the
10 MB limit" rather than the 10.1 MB read before stopping. A file that declares no size, or
sends more than it declared, is stopped at the limit and told as over it, without a size
nobody knows. The problem is said in the language spoken when the file is read (the
channel sets the conversation's).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar
from urllib.parse import urlsplit

import aiohttp

from core.file_sizes import size_text
from core.languages import _
from core.messages import Attachment
from core.quoting import literal

CHUNK_BYTES = 64 * 1024
FileT = TypeVar("FileT")


@dataclass(frozen=True, slots=True)
class Named(Generic[FileT]):
    """A file a customer sent, not fetched yet, with the name and type it is kept under."""

    file: FileT
    name: str
    kind: str


async def fetched_within(
    files: Sequence[Named[FileT]],
    fetch: Callable[[Named[FileT]], Awaitable[Attachment]],
    *,
    deadline_s: float,
    max_files: int,
) -> tuple[Attachment, ...]:
    """Every file fetched with `fetch` within one deadline (the platform waits for our answer);
    those past `max_files` are only named, without data. A file not fetched in time says so,
    in the language spoken when this is called (the caller sets the conversation's)."""
    found = []
    deadline = asyncio.get_running_loop().time() + deadline_s
    for index, item in enumerate(files):
        if index >= max_files:
            found.append(Attachment(item.name, item.kind, b""))
            continue
        try:
            async with asyncio.timeout_at(deadline):
                found.append(await fetch(item))
        except TimeoutError:
            problem = _("{name} could not be fetched in time", name=item.name)
            found.append(Attachment(item.name, item.kind, b"", problem=problem))
    return tuple(found)


def origin(url: str) -> tuple[str, str]:
    """Scheme and host (with port, and any user info): what must match for credentials to be sent."""
    parts = urlsplit(url)
    return parts.scheme.lower(), parts.netloc.lower()


async def capped_file(
    response: aiohttp.ClientResponse, *, name: str, kind: str, max_bytes: int, declared_size: int | None = None
) -> Attachment:
    """The file a 200 `response` holds; one over `max_bytes` without its data (see the module)."""
    declared = max(declared_size or 0, response.content_length or 0)
    if declared > max_bytes:
        return Attachment(name, kind, b"", declared_size=declared)
    data = bytearray()
    async for chunk in response.content.iter_chunked(CHUNK_BYTES):
        data += chunk
        if len(data) > max_bytes:
            problem = _("{name} is over the {limit} limit", name=literal(name), limit=size_text(max_bytes))
            return Attachment(name, kind, b"", problem=problem)
    return Attachment(name, kind, bytes(data))
