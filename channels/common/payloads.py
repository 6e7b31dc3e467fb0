"""What the widget's frames and the REST API's bodies share: files in base64 and a vote on a
reply, checked the same way whichever channel they came through."""

from __future__ import annotations

import asyncio
import base64
import binascii
from collections.abc import Callable, Sized
from typing import Any, TypeVar

from pydantic import AfterValidator

from core.messages import Attachment

MAX_MESSAGE_ID = 2**31 - 1  # message ids are 32-bit integers on PostgreSQL
RATINGS = ("up", "down")
LARGE_PAYLOAD = 64 * 1024
"""Payloads larger than this are decoded in a worker thread: JSON and base64 of megabytes of
files take tens of milliseconds, a stall for every other conversation on the event loop."""

R = TypeVar("R")
P = TypeVar("P", bound=Sized)


async def decoded_off_loop(parse: Callable[[P], R], raw: P) -> R:
    """`parse(raw)`, in a worker thread when `raw` is large."""
    if len(raw) <= LARGE_PAYLOAD:
        return parse(raw)
    return await asyncio.to_thread(parse, raw)


class PayloadError(ValueError):
    """A part of a request that cannot be used; the message says which and why."""


def parse_attachments(raw: Any, *, max_files: int) -> tuple[Attachment, ...]:
    """Files as `[{"filename", "content_type"?, "data": base64}]`. Their content is checked
    when the message is answered, so the customer hears what was wrong with a file."""
    if raw is None:
        return ()
    if not isinstance(raw, list) or not all(isinstance(item, dict) for item in raw):
        raise PayloadError("'attachments' must be a list of objects")
    if len(raw) > max_files:
        raise PayloadError(f"at most {max_files} attachment{'s' if max_files != 1 else ''} per message")
    return tuple(_attachment(item) for item in raw)


def _attachment(item: dict[str, Any]) -> Attachment:
    filename = item.get("filename")
    if not isinstance(filename, str) or not 0 < len(filename.strip()) <= 255 or not plain_text(filename):
        raise PayloadError("each attachment needs a 'filename' of 1-255 printable characters")
    content_type = item.get("content_type")
    if content_type is not None and (not isinstance(content_type, str) or len(content_type) > 120):
        raise PayloadError(f"attachment {filename!r}: 'content_type' must be a string of at most 120 characters")
    encoded = item.get("data")
    if not isinstance(encoded, str):
        raise PayloadError(f"attachment {filename!r} needs 'data', the file in base64")
    try:
        data = base64.b64decode(encoded, validate=True)
    except binascii.Error:
        raise PayloadError(f"attachment {filename!r}: 'data' is not valid base64") from None
    return Attachment(filename.strip(), content_type or "application/octet-stream", data)


def parse_vote(message_id: Any, rating: Any) -> tuple[int, str]:
    if isinstance(message_id, bool) or not isinstance(message_id, int) or not 0 < message_id <= MAX_MESSAGE_ID:
        raise PayloadError(f"'message_id' must be an integer from 1 to {MAX_MESSAGE_ID}")
    if rating not in RATINGS:
        raise PayloadError('\'rating\' must be "up" or "down"')
    return message_id, rating


def storable(value: str) -> bool:
    """False for text holding NUL (PostgreSQL refuses it) or a lone surrogate (not UTF-8)."""
    if "\x00" in value:
        return False
    try:
        value.encode("utf-8")
    except UnicodeError:
        return False
    return True


def plain_text(value: str, *, multiline: bool = False) -> bool:
    """Without control characters but, in `multiline` text (a message), line breaks and tabs.
    A single line (a name, an id) must be storable too; a message may hold NULs and lone
    surrogates, which the hub cleans out of every channel's messages (`core.clean_text`)."""
    if multiline:
        return not any(ord(c) < 32 and c not in "\n\t\r\x00" for c in value)
    return storable(value) and not any(ord(c) < 32 for c in value)


def at_most(characters: int) -> AfterValidator:
    """A length bound for a pydantic string field, checked in Python: pydantic's own
    (`StringConstraints`) cannot read a string holding a lone surrogate, which the hub cleans
    (`core.clean_text`) rather than refuses."""

    def bounded(value: str) -> str:
        if len(value) > characters:
            raise ValueError(f"is longer than {characters} characters")
        return value

    return AfterValidator(bounded)
