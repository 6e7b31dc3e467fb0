"""The widget's wire protocol: JSON text frames over one websocket, validated and built by
pure functions (no I/O), so they are tested on their own.

    client → server  {"type": "hello", "token": str | null, "after": int,    first frame
                      "identity"?: {"email": str, "signature": hex},         see channels.web.sessions
                      "language"?: str}                                      the widget's (its texts')
                     {"type": "message", "id": str, "text": str,              id: client uuid
                      "attachments"?: [{"filename", "content_type", "data": base64}]}
                     {"type": "feedback", "message_id": int, "rating": "up" | "down"}
                     {"type": "rating", "message_id": int, "score": 1-5}      the survey's buttons
    server → client  {"type": "session", "token": str, "title": str, "max_text_length": int,
                      "max_file_bytes": int}
                     {"type": "message", "id": int, "author": ..., "text": ..., "citations": [...],
                      "handoff": bool, "created_at": iso, "reply_to": int | null, "client_id"?: str,
                      "survey"?: "question" | "thanks",                      the satisfaction survey's
                      "language"?: str}                                      said in (the hub's: the
                                                                             conversation's then)
                     {"type": "typing", "message_id": int}                    reply on its way
                     {"type": "delta", "reply_to": int, "text": str}          an answer being written
                     {"type": "citations", "reply_to": int, "citations": [...]}
                     {"type": "done", "reply_to": int}                        the stored message follows
                     {"type": "reset", "reply_to": int}                       drop the draft
                     {"type": "feedback", "message_id": int, "rating": str}   vote recorded
                     {"type": "rating", "message_id": int, "score": int | null}  score kept;
                                                                              null: survey closed
                     {"type": "error", "reason": str}                         socket stays open

A streamed draft is only a preview: the stored `message` frame (with `reply_to`) replaces it.

An error's reason is said in the conversation's language (channels.web.channel) when the hub chose to
say it; a malformed frame's (`FrameError`, which the widget never sends) is for the developer of
a client, in English.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from channels.common.payloads import MAX_MESSAGE_ID, PayloadError, parse_attachments, parse_vote, plain_text, storable
from channels.web.texts import MalformedTag, normal_tag
from core.messages import SURVEY_SCORES, Attachment, Author, StoredMessage, citation_json, stored_message_json
from core.streaming import CitationsReady, StreamDone, StreamEvent, StreamReset, TextDelta

MAX_CLIENT_ID = 100
_CLIENT_ID_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_")


@dataclass(frozen=True, slots=True)
class Hello:
    token: str | None
    after: int
    email: str | None = None
    signature: str | None = None
    language: str | None = None
    """The language the widget shows its texts in (a normal tag, "de"), until the hub knows the
    conversation's."""


@dataclass(frozen=True, slots=True)
class ClientMessage:
    client_id: str
    text: str
    attachments: tuple[Attachment, ...] = ()


@dataclass(frozen=True, slots=True)
class ClientFeedback:
    message_id: int
    rating: str


@dataclass(frozen=True, slots=True)
class ClientRating:
    message_id: int
    score: int


@dataclass(frozen=True, slots=True)
class FrameError:
    reason: str


ClientFrame = Hello | ClientMessage | ClientFeedback | ClientRating | FrameError
MAX_FILES_PER_MESSAGE = 1
_HEX_SIGNATURE = re.compile(r"[0-9a-fA-F]{64}")


def parse_frame(raw: str, *, max_text_length: int) -> ClientFrame:
    """Validate one client frame; anything unusable becomes a `FrameError` with a reason."""
    try:
        data = json.loads(raw)
    except RecursionError:
        return FrameError("frame nested too deeply")
    except (ValueError, UnicodeError):
        return FrameError("not JSON")
    if not isinstance(data, dict):
        return FrameError("a frame must be a JSON object")
    kind = data.get("type")
    if kind == "hello":
        return _parse_hello(data)
    if kind == "message":
        return _parse_message(data, max_text_length=max_text_length)
    if kind == "feedback":
        return _parse_feedback(data)
    if kind == "rating":
        return _parse_rating(data)
    return FrameError(f"unknown frame type {kind!r}" if isinstance(kind, str) else "missing frame type")


def _parse_hello(data: dict[str, Any]) -> ClientFrame:
    token = data.get("token")
    after = data.get("after", 0)
    if token is not None and not isinstance(token, str):
        return FrameError("token must be a string or null")
    if token is not None and not storable(token):
        return FrameError("token holds a NUL or an invalid character")
    if isinstance(after, bool) or not isinstance(after, int) or not 0 <= after <= MAX_MESSAGE_ID:
        return FrameError(f"after must be an integer from 0 to {MAX_MESSAGE_ID}")
    language = data.get("language")
    if language is not None:
        try:
            language = normal_tag(language) if isinstance(language, str) else normal_tag("")
        except MalformedTag:
            return FrameError('language must be a language code like "de" or "pt-BR"')
    identity = data.get("identity")
    if identity is None:
        return Hello(token=token, after=after, language=language)
    email = identity.get("email") if isinstance(identity, dict) else None
    signature = identity.get("signature") if isinstance(identity, dict) else None
    if not isinstance(email, str) or not isinstance(signature, str) or not 0 < len(email) <= 200:
        return FrameError('identity must be {"email": str, "signature": str}')
    if not _HEX_SIGNATURE.fullmatch(signature) or not storable(email):
        return FrameError("identity signature must be the hex HMAC-SHA256 of the email")
    return Hello(token=token, after=after, email=email, signature=signature, language=language)


def _parse_feedback(data: dict[str, Any]) -> ClientFrame:
    try:
        return ClientFeedback(*parse_vote(data.get("message_id"), data.get("rating")))
    except PayloadError as exc:
        return FrameError(str(exc))


def _parse_rating(data: dict[str, Any]) -> ClientFrame:
    message_id, score = data.get("message_id"), data.get("score")
    if isinstance(message_id, bool) or not isinstance(message_id, int) or not 0 < message_id <= MAX_MESSAGE_ID:
        return FrameError(f"message_id must be an integer from 1 to {MAX_MESSAGE_ID}")
    if isinstance(score, bool) or not isinstance(score, int) or score not in SURVEY_SCORES:
        return FrameError(f"score must be an integer from {SURVEY_SCORES[0]} to {SURVEY_SCORES[-1]}")
    return ClientRating(message_id, score)


def _parse_message(data: dict[str, Any], *, max_text_length: int) -> ClientFrame:
    client_id = data.get("id")
    text = data.get("text")
    if (
        not isinstance(client_id, str)
        or not 0 < len(client_id) <= MAX_CLIENT_ID
        or not set(client_id) <= _CLIENT_ID_CHARS
    ):
        return FrameError(f"id must be 1-{MAX_CLIENT_ID} characters of [A-Za-z0-9_-]")
    if not isinstance(text, str):
        return FrameError("text must be a string")
    if not plain_text(text, multiline=True):
        return FrameError("text holds control characters or invalid unicode")
    try:
        files = parse_attachments(data.get("attachments"), max_files=MAX_FILES_PER_MESSAGE)
    except PayloadError as exc:
        return FrameError(str(exc))
    text = text.strip()
    if not text and not files:
        return FrameError("empty text")
    if len(text) > max_text_length:
        return FrameError(f"text longer than {max_text_length} characters")
    return ClientMessage(client_id=client_id, text=text, attachments=files)


def message_frame(message: StoredMessage, *, client_id: str | None = None) -> dict[str, Any]:
    """A stored message as the widget receives it."""
    frame: dict[str, Any] = {"type": "message", **stored_message_json(message)}
    if message.survey is not None:
        frame["survey"] = message.survey.value
    if message.language is not None and message.author is not Author.CUSTOMER:
        frame["language"] = message.language
    if client_id is not None:
        frame["client_id"] = client_id
    return frame


def error_frame(reason: str) -> dict[str, Any]:
    return {"type": "error", "reason": reason}


def stream_frame(reply_to: int, event: StreamEvent) -> dict[str, Any]:
    match event:
        case TextDelta(text):
            return {"type": "delta", "reply_to": reply_to, "text": text}
        case CitationsReady(citations):
            return {"type": "citations", "reply_to": reply_to, "citations": [citation_json(c) for c in citations]}
        case StreamDone():
            return {"type": "done", "reply_to": reply_to}
        case StreamReset():
            return {"type": "reset", "reply_to": reply_to}
