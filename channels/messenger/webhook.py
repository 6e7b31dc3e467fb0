"""Reading the Messenger Platform's webhooks (Facebook Messenger: `"object": "page"`; Instagram
messaging: `"object": "instagram"`), after `channels.common.meta_graph.MetaWebhook` checked
their signature.

A webhook holds entries, one per Page or Instagram account, each with `messaging` events:
`sender.id` (the customer's Page- or Instagram-scoped id), `recipient.id`, `timestamp` (ms) and one
of `message` (text, `attachments`, a `quick_reply` pressed), `postback` (a button pressed),
`delivery` (Messenger: the mids that reached the customer) or `read`. Only entries for our own
account are taken (one app may serve several). An echo (`message.is_echo`: what the account itself
sent, by us or by someone writing in Meta's own inbox), a deleted or unsupported message, a read
receipt, a reaction, a referral and any event newer than this are left out: nothing a support
answer could use. One event this cannot use is left out (logged), never the webhook refused:
Meta would resend it for days.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from channels.common.meta_graph import BadWebhook, json_object, json_objects, json_text, number

log = logging.getLogger(__name__)

MAX_ID_CHARS = 255
"""The hub's column for a platform's message id; a mid is about 100 characters."""
FILE_KINDS = frozenset({"image", "audio", "video", "file"})
"""Attachment types that are a customer's file; shares, story mentions, reels, locations and
fallbacks are links to Meta's own content, not files to read, and so is a sticker (an `image`
whose payload has a `sticker_id`: the thumbs-up included)."""
_SCOPED_ID = re.compile(r"\d{1,30}")


@dataclass(frozen=True, slots=True)
class FileRef:
    """A file a customer sent, not fetched yet."""

    url: str
    """Meta's CDN URL for it (signed by its query, valid for a while)."""
    kind: str
    """The attachment's type: image, audio, video or file."""


@dataclass(frozen=True, slots=True)
class Incoming:
    """One customer message, or a button or quick reply they pressed."""

    message_id: str
    """Meta's mid: the hub stores it once."""
    sender: str
    """The customer's Page- or Instagram-scoped id."""
    text: str
    files: tuple[FileRef, ...] = ()
    choice: str | None = None
    """The payload of the quick reply or button pressed."""
    sent_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Delivered:
    """Messenger's word that our messages `message_ids` reached the customer."""

    message_ids: tuple[str, ...]


def parse_webhook(payload: Any, *, platform_object: str, account: str) -> list[Incoming | Delivered]:
    """The customer messages and deliveries a webhook carries for `account`, in its order; raises
    `BadWebhook` when its frame (entries, events) is not Meta's."""
    if not isinstance(payload, dict):
        raise BadWebhook("the body is not a JSON object")
    if payload.get("object") != platform_object:
        log.info("meta messaging: ignored a webhook for %r", json_text(payload.get("object"))[:40])
        return []
    found: list[Incoming | Delivered] = []
    for entry in json_objects(payload.get("entry"), "entry"):
        if json_text(entry.get("id")) != account:
            continue  # another Page or account of the same app
        for event in json_objects(entry.get("messaging"), "entry[].messaging"):
            item = _event(event, account)
            if item is not None:
                found.append(item)
    return found


def _event(event: dict[str, Any], account: str) -> Incoming | Delivered | None:
    if isinstance(event.get("delivery"), dict):
        mids = event["delivery"].get("mids")
        kept = tuple(mid for mid in mids if isinstance(mid, str) and mid) if isinstance(mids, list) else ()
        return Delivered(kept) if kept else None
    sender = json_text(json_object(event.get("sender")).get("id"))
    if sender == account or not _SCOPED_ID.fullmatch(sender):
        return None  # an echo of the account's own message, or no customer to answer
    sent_at = _moment(event.get("timestamp"))
    if isinstance(event.get("message"), dict):
        return _message(event["message"], sender, sent_at)
    if isinstance(event.get("postback"), dict):
        postback = event["postback"]
        payload, mid = json_text(postback.get("payload")), json_text(postback.get("mid"))
        if payload and _usable_id(mid):
            return Incoming(mid, sender, json_text(postback.get("title")), choice=payload, sent_at=sent_at)
    return None  # a read receipt, a reaction, a referral, or an event newer than this


def _message(message: dict[str, Any], sender: str, sent_at: datetime | None) -> Incoming | None:
    mid = json_text(message.get("mid"))
    if message.get("is_echo") is True or message.get("is_deleted") is True:
        return None
    if not _usable_id(mid):
        log.warning("meta messaging: left out a message without a usable id")
        return None
    files = tuple(
        FileRef(url, kind)
        for attachment in json_objects(message.get("attachments"), "message.attachments")
        if (kind := json_text(attachment.get("type"))) in FILE_KINDS
        and "sticker_id" not in (payload := json_object(attachment.get("payload")))
        and (url := json_text(payload.get("url")))
    )
    choice = json_text(json_object(message.get("quick_reply")).get("payload")) or None
    text = json_text(message.get("text"))
    if not (text or files or choice):
        log.info("meta messaging: left out a message %s with nothing to read (unsupported, a share, a sticker)", mid)
        return None
    return Incoming(mid, sender, text, files=files, choice=choice, sent_at=sent_at)


def _usable_id(mid: str) -> bool:
    return 0 < len(mid) <= MAX_ID_CHARS


def _moment(value: Any) -> datetime | None:
    """Meta's timestamps are milliseconds since the epoch."""
    millis = number(value)
    if millis is None or millis <= 0:
        return None
    return datetime.fromtimestamp(millis / 1000, UTC)
