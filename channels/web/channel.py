"""The web channel: a demo page, the embeddable widget script, and the widget's websocket.

The conversation history is the source of truth: a reconnecting widget says which message id
it saw last and receives everything newer. Visitors' sessions and identities are in
`channels.web.sessions`, the frame protocol in `channels.web.frames`, the widget's texts in
the visitor's language in `channels.web.texts`.

What the channel says itself (an error line) is said in the conversation's language — the one
the hub's last message to the session was said in — else in the one the widget shows its
texts in (its hello says), else in the browser's (Accept-Language).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from typing import TYPE_CHECKING, Any, Protocol

from aiohttp import WSCloseCode, WSMessage, WSMsgType, web

from channels.api.settings import ApiSettings
from channels.common.payloads import decoded_off_loop
from channels.web.assets import WidgetAssets
from channels.web.frames import (
    MAX_FILES_PER_MESSAGE,
    ClientFeedback,
    ClientFrame,
    ClientMessage,
    ClientRating,
    FrameError,
    Hello,
    error_frame,
    message_frame,
    parse_frame,
    stream_frame,
)
from channels.web.handshake import handshake_problem
from channels.web.sessions import SECRET_FILE, SessionTokens, load_or_create_secret, verified_email
from channels.web.settings import WebSettings
from channels.web.texts import MalformedTag, WidgetTexts, accepted
from core.channel import (
    Capabilities,
    ConversationReads,
    FeedbackResult,
    HubPort,
    IdentityConflict,
    Intake,
    RatingResult,
    StorageUnavailable,
)
from core.invariants import InvariantError
from core.languages import _, catalogs, language_of, speaking
from core.messages import Address, Author, InboundMessage, StoredMessage, encoded_message_bytes
from core.metrics import Rejection, rejected
from core.streaming import StreamEvent

if TYPE_CHECKING:
    from core.settings import Settings

log = logging.getLogger(__name__)

CHANNEL = "web"
HEARTBEAT_S = 30.0


@dataclass(frozen=True, slots=True)
class _Visitor:
    """Where a socket comes from: its page's Origin ("" when the client sends none), the
    IP address counted by `[limits] per_ip`, and the browser's language the hub has texts for
    (Accept-Language; None: none of them)."""

    origin: str
    ip: str | None
    language: str | None = None


@dataclass(frozen=True, slots=True)
class _Session:
    """A socket's visitor once it said hello: the session id, the email the embedding site
    vouched for, where the socket comes from, and the language the widget shows."""

    id: str
    email: str | None
    visitor: _Visitor
    language: str | None = None


class _NoNewSession(Exception):
    """The visitor's address opened `limits.sessions_per_ip` sessions already."""

    def __init__(self, retry_after_s: int) -> None:
        super().__init__(f"no new session for {retry_after_s} s")
        self.retry_after_s = retry_after_s


class _Socket:
    """One open widget socket; sends are serialized so frames never interleave."""

    __slots__ = ("_lock", "session", "ws")

    def __init__(self, ws: web.WebSocketResponse) -> None:
        self.ws = ws
        self.session: _Session | None = None
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


class WebHub(Intake, ConversationReads, Protocol):
    """What the widget asks of the hub."""


class WebChannel:
    """The chat widget: demo page, script, and a websocket per open browser tab."""

    name = CHANNEL
    settings_model = WebSettings

    def __init__(self, settings: Settings, hub: HubPort, *, assets: WidgetAssets | None = None) -> None:
        """`assets` serves the page and script from elsewhere (tests); by default the package's."""
        self._settings = settings.section(WebSettings)
        self._assets = assets if assets is not None else WidgetAssets(branding=self._settings.branding)
        self._max_file_bytes = settings.attachments.max_bytes
        self._secret_path = settings.data_dir / SECRET_FILE
        self.capabilities = Capabilities(
            max_text_length=settings.section(ApiSettings).max_text_length, push=True, streaming=True
        )
        self._hub: WebHub = hub
        self._tokens: SessionTokens | None = None
        self._texts: WidgetTexts | None = None
        self._sessions: dict[str, set[_Socket]] = {}
        # The newest bot/staff message id pushed per session: a reply that overtook the
        # receipt of its question must not be followed by a stale typing indicator.
        self._last_reply: dict[str, int] = {}
        # The newest message id sent to a session's sockets: where a catch-up resumes.
        self._last_sent: dict[str, int] = {}
        # The language the hub's newest message to a session was said in: the conversation's.
        self._languages: dict[str, str] = {}

    @property
    def connected_sessions(self) -> int:
        """Visitors with the widget open right now (sessions with at least one live socket)."""
        return len(self._sessions)

    # The Channel protocol -------------------------------------------------------------------

    def routes(self) -> list[web.AbstractRouteDef]:
        return [
            web.get("/", self._index),
            web.get("/widget.js", self._widget_js),
            web.get("/widget/ws", self._websocket),
            web.get("/widget/texts/{language}", self._widget_texts),
        ]

    async def check(self) -> str:
        """Nothing to reach: the hub itself serves the widget."""
        sites = ", ".join(self._settings.allowed_origins) or "any site (web.allowed_origins is empty)"
        return f"serves the widget (/, /widget.js, /widget/ws, /widget/texts/…) to {sites}"

    async def start(self) -> None:
        secret = self._settings.session_secret
        if secret is not None:
            value = secret.get_secret_value()
        else:
            value = await asyncio.to_thread(load_or_create_secret, self._secret_path)
        self._tokens = SessionTokens(value, max_age_s=self._settings.session_days * 86400)
        await self._assets.load()
        greeting, title = self._settings.greeting, self._settings.title  # the operator's catalog may say them
        self._texts = WidgetTexts(catalogs(), await self._assets.messages() | {greeting, title})

    async def stop(self) -> None:
        sockets = [s for group in self._sessions.values() for s in group]
        if sockets:  # the widgets reconnect to the next process and replay what they missed
            log.info("web: closing the widget sockets of %d visitors", self.connected_sessions)
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
        self._sent(address.chat_id, message.id)
        self._heard(address.chat_id, message)
        await self._broadcast(address.chat_id, message_frame(message))
        return str(message.id)

    def holds(self, address: Address) -> bool:
        return address.chat_id in self._sessions

    async def catch_up(self) -> None:
        """Messages other processes stored while their notifications could not reach us."""
        for session_id in list(self._sessions):
            address = Address(CHANNEL, session_id)
            for message in await self._hub.history(
                address, after=self._last_sent.get(session_id, 0), limit=self._settings.history_limit
            ):
                await self.send(address, message)

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

    async def _widget_texts(self, request: web.Request) -> web.Response:
        """The widget's texts in a language: {"language": served, "texts": {English: said}};
        English's table is empty, a language without texts gets `languages.default`'s."""
        if self._texts is None:
            raise web.HTTPServiceUnavailable(text="web channel not started")
        try:
            texts = self._texts.table(request.match_info["language"])
        except MalformedTag as exc:
            raise web.HTTPBadRequest(text=str(exc)) from None
        headers = {
            "Cache-Control": "public, max-age=300",
            "ETag": texts.etag,
            "Access-Control-Allow-Origin": "*",  # the same for every site: the widget runs on any
            "X-Content-Type-Options": "nosniff",
            "Content-Language": texts.language,
        }
        if texts.etag in request.headers.get("If-None-Match", ""):
            return web.Response(status=304, headers=headers)
        return web.Response(body=texts.body, content_type="application/json", charset="utf-8", headers=headers)

    # The websocket ---------------------------------------------------------------------------

    async def _websocket(self, request: web.Request) -> web.StreamResponse:
        if self._tokens is None:
            raise web.HTTPServiceUnavailable(text="web channel not started")
        origin = request.headers.get("Origin", "").lower()
        if self._settings.allowed_origins and origin not in self._settings.allowed_origins:
            log.info("web: refused a widget connection from %r (not in web.allowed_origins)", origin[:200])
            rejected(CHANNEL, Rejection.BAD_INPUT)
            raise web.HTTPForbidden(text="this site may not open the chat widget (web.allowed_origins)")
        browser = accepted(request.headers.get("Accept-Language", ""), self._texts.languages) if self._texts else None
        visitor = _Visitor(origin=origin, ip=request.remote, language=browser)
        max_len = self.capabilities.max_text_length
        frame_limit = encoded_message_bytes(
            max_text_length=max_len, max_file_bytes=self._max_file_bytes, files=MAX_FILES_PER_MESSAGE
        )
        if (problem := handshake_problem(request.headers.items())) is not None:
            rejected(CHANNEL, Rejection.BAD_INPUT)
            raise web.HTTPBadRequest(text=problem)
        ws = web.WebSocketResponse(heartbeat=HEARTBEAT_S, max_msg_size=frame_limit)
        await ws.prepare(request)
        sock = _Socket(ws)
        try:
            async for msg in ws:
                with speaking(self._language(sock.session, visitor)):
                    if not await self._receive(sock, msg, visitor, max_len=max_len):
                        break
        finally:
            if sock.session is not None:
                self._forget(sock.session.id, sock)
        return ws

    async def _receive(self, sock: _Socket, msg: WSMessage, visitor: _Visitor, *, max_len: int) -> bool:
        """Handle one websocket message (the session a hello begins is kept on `sock`); False
        when the socket is closed."""
        if msg.type is not WSMsgType.TEXT:
            if msg.type is WSMsgType.BINARY:
                rejected(CHANNEL, Rejection.BAD_INPUT)
                await sock.send(error_frame("frames must be JSON text"))
            return True
        frame: ClientFrame | None = None
        try:
            frame = await decoded_off_loop(partial(parse_frame, max_text_length=max_len), msg.data)
            sock.session = await self._handle(sock, frame, sock.session, visitor)
        except _NoNewSession as refused:  # the widget reconnects later, with backoff
            await sock.send({"type": "slow_down", "retry_after": refused.retry_after_s})
            await sock.ws.close(code=WSCloseCode.TRY_AGAIN_LATER, message=b"too many new sessions")
        except asyncio.CancelledError:
            raise
        except IdentityConflict:  # a token from before tokens named their person
            await sock.send(error_frame(_("you signed in as someone else: reload the page to start anew")))
        except StorageUnavailable as exc:
            log.warning("web: a %s frame could not be stored: %s", type(frame).__name__, exc)
            return await self._try_again(sock, frame, exc.retry_after_s)
        except Exception:
            log.exception("web: failed to handle a %s frame", type(frame).__name__ if frame else "client")
            await sock.send(error_frame(_("internal error, please try again")))
        return True

    def _language(self, session: _Session | None, visitor: _Visitor) -> str | None:
        """What the channel's own lines are said in: the conversation's, else the widget's,
        else the browser's (None: `languages.default`)."""
        if session is not None:
            return self._languages.get(session.id) or session.language or visitor.language
        return visitor.language

    def _heard(self, session_id: str, message: StoredMessage) -> None:
        """Keep the conversation's language: the one the hub's newest message was said in."""
        if message.author is not Author.CUSTOMER and message.language and session_id in self._sessions:
            self._languages[session_id] = message.language

    async def _handle(
        self, sock: _Socket, frame: ClientFrame, session: _Session | None, visitor: _Visitor
    ) -> _Session | None:
        match frame:
            case FrameError(reason):
                rejected(CHANNEL, Rejection.BAD_INPUT)
                await sock.send(error_frame(reason))
            case Hello() if session is not None:
                await sock.send(error_frame("hello was already sent"))
            case Hello():
                email = self._verified(frame)
                session_id = await self._hello(
                    sock, token=frame.token, after=frame.after, origin=visitor.origin, email=email, ip=visitor.ip
                )
                session = _Session(session_id, email, visitor, frame.language)
            case ClientMessage() | ClientFeedback() | ClientRating() if session is None:
                await sock.send(error_frame("send hello first"))
            case ClientMessage() if session is not None:
                await self._accept(sock, frame, session)
            case ClientFeedback(message_id, rating) if session is not None:
                await self._feedback(sock, session, message_id=message_id, rating=rating)
            case ClientRating(message_id, score) if session is not None:
                await self._rate(sock, session, message_id=message_id, score=score)
        return session

    @staticmethod
    async def _try_again(sock: _Socket, frame: ClientFrame | None, retry_after_s: int) -> bool:
        """Nothing of the frame was kept: a message goes back to the widget, which keeps it
        pending and sends it again after `retry_after_s`; a hello closes the socket (the widget
        reconnects with backoff). False when the socket is closed."""
        match frame:
            case ClientMessage(client_id=client_id):
                await sock.send({"type": "try_again", "client_id": client_id, "retry_after": retry_after_s})
            case Hello():
                await sock.ws.close(code=WSCloseCode.TRY_AGAIN_LATER, message=b"try again shortly")
                return False
            case _:
                await sock.send(error_frame(_("that could not be saved just now; please try again shortly")))
        return True

    def _verified(self, hello: Hello) -> str | None:
        """The visitor's email when the embedding site signed it with `web.identity_secret`."""
        secret = self._settings.identity_secret
        return verified_email(secret.get_secret_value() if secret else None, hello.email, hello.signature)

    async def _feedback(self, sock: _Socket, session: _Session, *, message_id: int, rating: str) -> None:
        result = await self._hub.feedback(message_id, rating=rating, address=Address(CHANNEL, session.id))
        if result is FeedbackResult.SAVED:
            await self._broadcast(session.id, {"type": "feedback", "message_id": message_id, "rating": rating})
        else:
            await sock.send(error_frame(_("feedback is for the bot's replies in this conversation")))

    async def _rate(self, sock: _Socket, session: _Session, *, message_id: int, score: int) -> None:
        """A score from the survey's buttons: every tab of the session shows it kept, or the
        survey closed (answered already, or asked too long ago)."""
        result = await self._hub.rate(message_id, score=score, address=Address(CHANNEL, session.id))
        if result is RatingResult.NOT_FOUND:
            await sock.send(error_frame(_("ratings are for the survey in this conversation")))
            return
        kept = score if result is RatingResult.SAVED else None
        await self._broadcast(session.id, {"type": "rating", "message_id": message_id, "score": kept})

    async def _hello(
        self, sock: _Socket, *, token: str | None, after: int, origin: str, email: str | None, ip: str | None
    ) -> str:
        if self._tokens is None:
            raise InvariantError("the session tokens are missing (the websocket takes no connection before start())")
        session_id = self._tokens.verify(token, origin, email)
        restarted = bool(token) and session_id is None  # expired, from another site, another person's
        if session_id is None:
            admission = await self._hub.admit_session(channel=CHANNEL, ip=ip)
            if not admission.allowed:
                raise _NoNewSession(admission.retry_after_s)
            session_id, token = self._tokens.issue(origin, email)
        else:
            token = self._tokens.sign(session_id, origin, email)  # rotated: the period starts again
        # Registered before the replay so nothing pushed meanwhile is missed (the widget
        # drops a message id it already has); a failed or cancelled replay unregisters, so
        # the socket is never left receiving pushes for a session it has not joined.
        self._sessions.setdefault(session_id, set()).add(sock)
        try:
            await sock.send(
                {
                    "type": "session",
                    "token": token,
                    "restarted": restarted,
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
                    self._sent(session_id, message.id)
                    self._heard(session_id, message)
                    await sock.send(message_frame(message))
                if len(batch) < limit:
                    return session_id
                after = batch[-1].id
        except BaseException:
            self._forget(session_id, sock)
            raise

    async def _accept(self, sock: _Socket, frame: ClientMessage, session: _Session) -> None:
        session_id = session.id
        address = Address(CHANNEL, session_id)
        admission = await self._hub.admit(channel=CHANNEL, sender=session_id, ip=session.visitor.ip)
        if not admission.allowed:  # not stored: the widget gives the text back to resend later
            await sock.send({"type": "slow_down", "client_id": frame.client_id, "retry_after": admission.retry_after_s})
            return
        receipt = await self._hub.receive(
            InboundMessage(
                address=address,
                external_id=f"{session_id}:{frame.client_id}",
                sender_id=session_id,
                text=frame.text,
                attachments=frame.attachments,
                sent_at=datetime.now(UTC),
                verified_email=session.email,
                language_hint=language_of(session.visitor.language),  # the browser's, not a fallback
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
        self._sent(session_id, stored.id)
        await self._broadcast(session_id, message_frame(stored, client_id=frame.client_id))
        if (
            not receipt.duplicate
            and not receipt.with_person
            and self._last_reply.get(session_id, 0) < receipt.message_id
        ):
            await self._broadcast(session_id, {"type": "typing", "message_id": receipt.message_id})

    async def _stored(self, address: Address, message_id: int) -> StoredMessage | None:
        found = await self._hub.history(address, after=message_id - 1, limit=1)
        return found[0] if found and found[0].id == message_id else None

    async def _broadcast(self, session_id: str, frame: dict[str, Any]) -> None:
        sockets = list(self._sessions.get(session_id, ()))
        if sockets:
            await asyncio.gather(*(s.send(frame) for s in sockets))

    def _sent(self, session_id: str, message_id: int) -> None:
        if session_id in self._sessions:
            self._last_sent[session_id] = max(self._last_sent.get(session_id, 0), message_id)

    def _forget(self, session_id: str, sock: _Socket) -> None:
        group = self._sessions.get(session_id)
        if group is None:
            return
        group.discard(sock)
        if not group:
            del self._sessions[session_id]
            self._last_reply.pop(session_id, None)
            self._last_sent.pop(session_id, None)
            self._languages.pop(session_id, None)
