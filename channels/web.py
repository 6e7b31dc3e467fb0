"""The web channel: a demo page, the embeddable widget script, and the widget's websocket.

A visitor's session is a server-signed token holding a random session id; the widget keeps
the token in localStorage and sends it in its first frame, so no cookie is involved and a
page on any origin can embed the widget. The conversation history is the source of truth:
a reconnecting widget says which message id it saw last and receives everything newer.

Wire protocol (JSON text frames):

    client → server  {"type": "hello", "token": str | null, "after": int,    first frame
                      "identity"?: {"email": str, "signature": hex}}         see below
                     {"type": "message", "id": str, "text": str,              id: client uuid
                      "attachments"?: [{"filename", "content_type", "data": base64}]}
                     {"type": "feedback", "message_id": int, "rating": "up" | "down"}
    server → client  {"type": "session", "token": str, "title": str, "max_text_length": int,
                      "max_file_bytes": int}
                     {"type": "message", "id": int, "author": ..., "text": ..., "citations": [...],
                      "handoff": bool, "created_at": iso, "reply_to": int | null, "client_id"?: str}
                     {"type": "typing", "message_id": int}                    reply on its way
                     {"type": "delta", "reply_to": int, "text": str}          an answer being written
                     {"type": "citations", "reply_to": int, "citations": [...]}
                     {"type": "done", "reply_to": int}                        the stored message follows
                     {"type": "reset", "reply_to": int}                       drop the draft
                     {"type": "feedback", "message_id": int, "rating": str}   vote recorded
                     {"type": "error", "reason": str}                         socket stays open

A streamed draft is only a preview: the stored `message` frame (with `reply_to`) replaces it.

Identity: a site that knows its visitor may pass their email with an HMAC-SHA256 of it under
`web.identity_secret` (computed on the site's server). A valid signature makes the email
verified, linking the visitor to the same contact on every channel (memory follows them).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import re
import os
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aiohttp import WSCloseCode, WSMsgType, web
from itsdangerous import BadData, URLSafeSerializer

from channels.payloads import MAX_MESSAGE_ID, PayloadError, parse_attachments, parse_vote, storable
from channels.web_assets import WidgetAssets
from core.channel import Capabilities
from core.messages import (
    Address,
    Attachment,
    Author,
    InboundMessage,
    StoredMessage,
    citation_json,
    stored_message_json,
)
from core.store import FeedbackResult
from core.turn import CitationsReady, StreamDone, StreamEvent, StreamReset, TextDelta

if TYPE_CHECKING:
    from core.hub import Hub
    from core.settings import Settings

log = logging.getLogger(__name__)

CHANNEL = "web"
TOKEN_SALT = "supporthub-widget"
SECRET_FILE = "web_session_secret"
HEARTBEAT_S = 30.0
MAX_CLIENT_ID = 100

_CLIENT_ID_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_")


# --- sessions -------------------------------------------------------------------------------


def load_or_create_secret(path: Path) -> str:
    """The session-signing secret stored at `path` (mode 0600), created once when missing.

    Written to a temporary file and hard-linked into place, so two processes starting at
    once agree on one secret and a crash never leaves a half-written file behind.
    """
    try:
        secret = path.read_text(encoding="ascii").strip()
    except FileNotFoundError:
        secret = ""
    if secret:
        if path.stat().st_mode & 0o077:
            log.warning("%s is readable by other users; chmod 600 it", path)
        return secret
    path.parent.mkdir(parents=True, exist_ok=True)
    candidate = secrets.token_urlsafe(48)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="ascii") as handle:
            handle.write(candidate)
        try:
            os.link(tmp, path)
        except FileExistsError:
            existing = path.read_text(encoding="ascii").strip()
            if existing:
                return existing
            os.replace(tmp, path)  # an empty leftover from a crash: take its place
            return candidate
    finally:
        tmp.unlink(missing_ok=True)
    return candidate


class SessionTokens:
    """Signs and checks widget session tokens; a token carries only a random session id."""

    def __init__(self, secret: str) -> None:
        self._serializer = URLSafeSerializer(secret, salt=TOKEN_SALT)

    def issue(self) -> tuple[str, str]:
        """A fresh session: (session_id, token)."""
        session_id = secrets.token_urlsafe(16)
        return session_id, self.sign(session_id)

    def sign(self, session_id: str) -> str:
        token = self._serializer.dumps({"sid": session_id})
        assert isinstance(token, str)
        return token

    def verify(self, token: str | None) -> str | None:
        """The session id in a genuine token; None for a missing, forged or malformed one."""
        if not token:
            return None
        try:
            payload = self._serializer.loads(token)
        except BadData:
            return None
        session_id = payload.get("sid") if isinstance(payload, dict) else None
        return session_id if isinstance(session_id, str) and session_id else None


# --- frames (pure) --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Hello:
    token: str | None
    after: int
    email: str | None = None
    signature: str | None = None


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
class FrameError:
    reason: str


ClientFrame = Hello | ClientMessage | ClientFeedback | FrameError
MAX_FILES_PER_MESSAGE = 1
_HEX_SIGNATURE = re.compile(r"[0-9a-fA-F]{64}")


def identity_signature(secret: str, email: str) -> str:
    """What the embedding site computes on its server to vouch for a visitor's email."""
    return hmac.new(secret.encode(), email.strip().lower().encode(), hashlib.sha256).hexdigest()


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
    identity = data.get("identity")
    if identity is None:
        return Hello(token=token, after=after)
    email = identity.get("email") if isinstance(identity, dict) else None
    signature = identity.get("signature") if isinstance(identity, dict) else None
    if not isinstance(email, str) or not isinstance(signature, str) or not 0 < len(email) <= 200:
        return FrameError("identity must be {\"email\": str, \"signature\": str}")
    if not _HEX_SIGNATURE.fullmatch(signature) or not storable(email):
        return FrameError("identity signature must be the hex HMAC-SHA256 of the email")
    return Hello(token=token, after=after, email=email, signature=signature)


def _parse_feedback(data: dict[str, Any]) -> ClientFrame:
    try:
        return ClientFeedback(*parse_vote(data.get("message_id"), data.get("rating")))
    except PayloadError as exc:
        return FrameError(str(exc))


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
    if not storable(text):
        return FrameError("text holds a NUL or an invalid character")
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


# --- the channel ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Session:
    """A socket's visitor: the session id, and the email the embedding site vouched for."""

    id: str
    email: str | None


class _Socket:
    """One open widget socket; sends are serialized so frames never interleave."""

    __slots__ = ("ws", "_lock")

    def __init__(self, ws: web.WebSocketResponse) -> None:
        self.ws = ws
        self._lock = asyncio.Lock()

    async def send(self, frame: dict[str, Any]) -> bool:
        """Send one frame; False when the socket is gone (the history still has the message)."""
        if self.ws.closed:
            return False
        async with self._lock:
            try:
                await self.ws.send_json(frame)
            except (ConnectionError, RuntimeError) as exc:
                log.debug("web: dropping frame for a closing socket: %s", exc)
                return False
        return True


class WebChannel:
    """The chat widget: demo page, script, and a websocket per open browser tab."""

    name = CHANNEL

    def __init__(self, settings: Settings, *, assets: WidgetAssets | None = None) -> None:
        """`assets` serves the page and script from elsewhere (tests); by default the package's."""
        self._settings = settings.web
        self._assets = assets if assets is not None else WidgetAssets()
        self._max_file_bytes = settings.attachments.max_bytes
        self._secret_path = settings.data_dir / SECRET_FILE
        self.capabilities = Capabilities(
            max_text_length=settings.api.max_text_length,
            formatting="markdown",
            typing=True,
            attachments=True,
            push=True,
            streaming=True,
        )
        self._hub: Hub | None = None
        self._tokens: SessionTokens | None = None
        self._sessions: dict[str, set[_Socket]] = {}
        # The newest bot/staff message id pushed per session: a reply that overtook the
        # receipt of its question must not be followed by a stale typing indicator.
        self._last_reply: dict[str, int] = {}

    # The Channel protocol -------------------------------------------------------------------

    def routes(self) -> list[web.AbstractRouteDef]:
        return [
            web.get("/", self._index),
            web.get("/widget.js", self._widget_js),
            web.get("/widget/ws", self._websocket),
        ]

    async def start(self, hub: Hub) -> None:
        secret = self._settings.session_secret
        if secret is not None:
            value = secret.get_secret_value()
        else:
            value = await asyncio.to_thread(load_or_create_secret, self._secret_path)
        self._tokens = SessionTokens(value)
        await self._assets.load()
        self._hub = hub

    async def stop(self) -> None:
        sockets = [s for group in self._sessions.values() for s in group]
        self._hub = None
        await asyncio.gather(
            *(s.ws.close(code=WSCloseCode.GOING_AWAY, message=b"server shutdown") for s in sockets),
            return_exceptions=True,
        )
        self._sessions.clear()

    async def send(self, address: Address, message: StoredMessage) -> str | None:
        """Push to every open tab of the session; with none open the history delivers it."""
        if message.author is not Author.CUSTOMER and address.chat_id in self._sessions:
            last = self._last_reply.get(address.chat_id, 0)
            self._last_reply[address.chat_id] = max(last, message.id)
        await self._broadcast(address.chat_id, message_frame(message))
        return str(message.id)

    async def stream(self, address: Address, reply_to: int, event: StreamEvent) -> None:
        """The answer to `reply_to` as it is written, to every open tab of the session."""
        await self._broadcast(address.chat_id, stream_frame(reply_to, event))

    # Pages -------------------------------------------------------------------------------

    async def _index(self, request: web.Request) -> web.Response:
        body = await self._assets.index()
        return web.Response(body=body, content_type="text/html", charset="utf-8", headers={"Cache-Control": "no-cache"})

    async def _widget_js(self, request: web.Request) -> web.Response:
        script = await self._assets.script()
        headers = {"Cache-Control": "public, max-age=300", "ETag": script.etag}
        if script.etag in request.headers.get("If-None-Match", ""):
            return web.Response(status=304, headers=headers)
        return web.Response(body=script.body, content_type="application/javascript", charset="utf-8", headers=headers)

    # The websocket ---------------------------------------------------------------------------

    async def _websocket(self, request: web.Request) -> web.StreamResponse:
        if self._hub is None or self._tokens is None:
            raise web.HTTPServiceUnavailable(text="web channel not started")
        max_len = self.capabilities.max_text_length
        # room for one file in base64 (4 bytes per 3) beside the longest escaped text
        frame_limit = 64 * 1024 + 6 * max_len + (self._max_file_bytes + 2) // 3 * 4
        ws = web.WebSocketResponse(heartbeat=HEARTBEAT_S, max_msg_size=frame_limit)
        await ws.prepare(request)
        sock = _Socket(ws)
        session: _Session | None = None
        try:
            async for msg in ws:
                if msg.type is not WSMsgType.TEXT:
                    if msg.type is WSMsgType.BINARY:
                        await sock.send(error_frame("frames must be JSON text"))
                    continue
                frame: ClientFrame | None = None
                try:
                    frame = parse_frame(msg.data, max_text_length=max_len)
                    session = await self._handle(sock, frame, session)
                except asyncio.CancelledError:
                    raise
                except Exception:
                    log.exception("web: failed to handle a %s frame", type(frame).__name__ if frame else "client")
                    await sock.send(error_frame("internal error, please try again"))
        finally:
            if session is not None:
                self._forget(session.id, sock)
        return ws

    async def _handle(self, sock: _Socket, frame: ClientFrame, session: _Session | None) -> _Session | None:
        match frame:
            case FrameError(reason):
                await sock.send(error_frame(reason))
            case Hello() if session is not None:
                await sock.send(error_frame("hello was already sent"))
            case Hello():
                session = _Session(await self._hello(sock, token=frame.token, after=frame.after), self._verified(frame))
            case ClientMessage() | ClientFeedback() if session is None:
                await sock.send(error_frame("send hello first"))
            case ClientMessage() if session is not None:
                await self._accept(sock, frame, session)
            case ClientFeedback(message_id, rating) if session is not None:
                await self._feedback(sock, session, message_id=message_id, rating=rating)
        return session

    def _verified(self, hello: Hello) -> str | None:
        """The visitor's email when the embedding site signed it with `web.identity_secret`."""
        secret = self._settings.identity_secret
        if hello.email is None or hello.signature is None or secret is None:
            return None
        expected = identity_signature(secret.get_secret_value(), hello.email)
        return hello.email.strip().lower() if hmac.compare_digest(expected, hello.signature.lower()) else None

    async def _feedback(self, sock: _Socket, session: _Session, *, message_id: int, rating: str) -> None:
        assert self._hub is not None
        result = await self._hub.feedback(message_id, rating=rating, address=Address(CHANNEL, session.id))
        if result is FeedbackResult.SAVED:
            await self._broadcast(session.id, {"type": "feedback", "message_id": message_id, "rating": rating})
        else:
            await sock.send(error_frame("feedback is for the bot's replies in this conversation"))

    async def _hello(self, sock: _Socket, *, token: str | None, after: int) -> str:
        assert self._tokens is not None and self._hub is not None
        session_id = self._tokens.verify(token)
        if session_id is None:
            session_id, token = self._tokens.issue()
        # Registered before the replay so nothing pushed meanwhile is missed (the widget
        # drops a message id it already has); a failed or cancelled replay unregisters, so
        # the socket is never left receiving pushes for a session it has not joined.
        self._sessions.setdefault(session_id, set()).add(sock)
        try:
            await sock.send(
                {
                    "type": "session",
                    "token": token,
                    "title": self._settings.title,
                    "max_text_length": self.capabilities.max_text_length,
                    "max_file_bytes": self._max_file_bytes,
                }
            )
            address = Address(CHANNEL, session_id)
            limit = self._settings.history_limit
            while True:
                batch = await self._hub.history(address, after=after, limit=limit)
                for message in batch:
                    await sock.send(message_frame(message))
                if len(batch) < limit:
                    return session_id
                after = batch[-1].id
        except BaseException:
            self._forget(session_id, sock)
            raise

    async def _accept(self, sock: _Socket, frame: ClientMessage, session: _Session) -> None:
        assert self._hub is not None
        session_id = session.id
        address = Address(CHANNEL, session_id)
        receipt = await self._hub.receive(
            InboundMessage(
                address=address,
                external_id=f"{session_id}:{frame.client_id}",
                sender_id=session_id,
                text=frame.text,
                attachments=frame.attachments,
                sent_at=datetime.now(UTC),
                verified_email=session.email,
            )
        )
        stored = await self._stored(address, receipt.message_id)
        if stored is None:  # the hub keeps what it persists; be lenient all the same
            stored = StoredMessage(
                id=receipt.message_id,
                conversation_id=receipt.conversation_id,
                author=Author.CUSTOMER,
                text=frame.text,
                citations=(),
                handoff=False,
                created_at=datetime.now(UTC),
            )
        await self._broadcast(session_id, message_frame(stored, client_id=frame.client_id))
        if not receipt.duplicate and self._last_reply.get(session_id, 0) < receipt.message_id:
            await self._broadcast(session_id, {"type": "typing", "message_id": receipt.message_id})

    async def _stored(self, address: Address, message_id: int) -> StoredMessage | None:
        assert self._hub is not None
        found = await self._hub.history(address, after=message_id - 1, limit=1)
        return found[0] if found and found[0].id == message_id else None

    async def _broadcast(self, session_id: str, frame: dict[str, Any]) -> None:
        sockets = list(self._sessions.get(session_id, ()))
        if sockets:
            await asyncio.gather(*(s.send(frame) for s in sockets))

    def _forget(self, session_id: str, sock: _Socket) -> None:
        group = self._sessions.get(session_id)
        if group is None:
            return
        group.discard(sock)
        if not group:
            del self._sessions[session_id]
            self._last_reply.pop(session_id, None)
