"""A local fake of Discord, for pointing the real discord.py (2.7) client at: the REST API under
`/api/v10`, the Gateway websocket at `/gateway/` and the CDN's attachment links.

`await fake.start()`, then, before `client.start(BOT_TOKEN)`:

    discord.http.Route.BASE = f"{fake.url}/api/v10"
    discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(fake.gateway_url)

What discord.py does with it (`discord/client.py`, `http.py`, `gateway.py`, `state.py`):

- `Client.login` GETs `/users/@me` (a 401 becomes `LoginFailure`), then
  `/oauth2/applications/@me` (its `AppInfo` wants name, description, icon, bot_public,
  bot_require_code_grant, owner and verify_key). `Client.connect` asks no REST for the gateway:
  it opens `DEFAULT_GATEWAY?v=10&encoding=json&compress=…`. Only `AutoShardedClient` GETs
  `/gateway/bot` and connects to the `url` it answers, ignoring `DEFAULT_GATEWAY`.
- `compress` is `zstd-stream` when `zstandard` (or Python 3.14's `compression.zstd`) can be
  imported, else `zlib-stream`, decided once when `discord.utils` is imported. zlib-stream is one
  zlib context for the connection's life, every payload ending in a Z_SYNC_FLUSH (`00 00 ff ff`,
  the suffix discord.py waits for before inflating); zstd-stream is one zstd frame that is never
  ended, every payload a flushed block. The fake answers in what was asked (plain text frames
  when nothing was), and refuses the handshake with a 400 for anything else.
- After READY discord.py reconnects to READY's `resume_gateway_url` (here `gateway_url` again),
  not to `DEFAULT_GATEWAY`, and it sends RESUME there; only after an INVALID_SESSION does it go
  back to `DEFAULT_GATEWAY` and IDENTIFY anew.
- `on_ready` fires `guild_ready_timeout` seconds (2 by default) after the last GUILD_CREATE, since
  nothing says that was the last: tests pass `guild_ready_timeout=0.05` or so.

REST answers are Discord's ("API Reference", "Message Resource", "Channel Resource", "JSON Error
Codes"): JSON whose Content-Type is exactly `application/json`, since discord.py's `json_or_text`
compares the header for equality and would take `application/json; charset=utf-8` (aiohttp's
`json_response`) for text; and every answer says `Via: 1.1 google`, as Discord's load balancer
does, since discord.py takes a 429 without `Via` for a Cloudflare ban and raises it instead of
waiting. Errors are `{"message", "code"}` (with `errors` for 50035 Invalid Form Body, which
discord.py flattens into `HTTPException.text`: "In content: Must be 2000 or fewer in length.").
A request without `Authorization: Bot BOT_TOKEN` is answered 401 `{"message": "401: Unauthorized",
"code": 0}`; a path the fake does not know, 404 `{"message": "404: Not Found", "code": 0}`.

`fail_next` makes the next message creations fail; mind that discord.py retries some failures
itself (`HTTPClient.request`, up to 5 tries in all): a 429 after sleeping the body's
`retry_after` (raising `RateLimited` instead when it exceeds the client's
`max_ratelimit_timeout`), a 500, 502, 504 or 524 after sleeping 1, 3, 5, 7 and 9 seconds (so
25 s before a fifth 5xx is raised: script `times=1` there); what still fails after the fifth try
raises `HTTPException` (`DiscordServerError` for 5xx). Other statuses raise at once: 403
`Forbidden`, 404 `NotFound`, 503 `DiscordServerError`, else `HTTPException`, each with Discord's
`code`.

The Gateway ("Gateway", "Gateway Events", "Opcodes and Status Codes"): HELLO on connect,
HEARTBEAT_ACK for each heartbeat, READY then GUILD_CREATE for an IDENTIFY with the token (the
bare token: discord.py sends no "Bot " there), RESUMED after replaying what a session missed for
a RESUME, a GUILD_MEMBERS_CHUNK for REQUEST_GUILD_MEMBERS (discord.py asks for one before
`on_ready` when it has the members intent). Events go only to sessions whose intents cover
them, and without MESSAGE_CONTENT a guild message's content, embeds, attachments and components
arrive empty unless it mentions the bot or is the bot's own, as Discord does. Discord echoes the
bot's own messages back as MESSAGE_CREATE, and so does the fake: a bot must ignore its author.
Sequence numbers count per session and go on across a RESUME. Close codes: 4001 unknown opcode,
4002 undecodable payload, 4003 not identified yet, 4004 wrong token, 4005 identified twice, 4012
a `v` other than 10, 4013 intents missing, 4014 a privileged intent not enabled
(`privileged_intents`; discord.py raises `PrivilegedIntentsRequired`, and gives up on 4004 and
4010–4014 instead of reconnecting). A client that closes with 1000 or 1001 ends its session (it
cannot resume); `close_connections(4000)` keeps it, and discord.py resumes at once.

Direct messages: Discord sends bots no CHANNEL_CREATE for a DM. discord.py builds a `DMChannel`
from the MESSAGE_CREATE's `channel_id` alone (`recipient` None, and not cached: `get_channel` on
its id is None), which it can send to; `User.create_dm` (POST `/users/@me/channels`) gives the
same channel with its recipient. Threads: one started from a message takes the message's id; it
is answered 201 and announced by THREAD_CREATE, which is what puts it in discord.py's cache (the
`Thread` that `create_thread` returns is not cached), so later messages in it resolve to it.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import importlib
import json
import math
import mimetypes
import secrets
import sys
import time
import zlib
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import IntFlag
from http import HTTPStatus
from typing import Any
from urllib.parse import quote

from aiohttp import WSMsgType, hdrs, web

from core.sandbox.stand_in import Recorded, StandIn

BOT_TOKEN = "MTA5ODc2NTQzMjEwOTg3NjU0Mw.GsUpHb.fake-bot-token-for-supporthub-tests"
APPLICATION_ID = BOT_USER_ID = "1098765432109876543"
"""A bot user has its application's id."""
BOT_NAME = "Brightdesk Support"
BOT_DISCRIMINATOR = "4821"
"""Bots kept their four digits when users moved to unique usernames (discriminator "0")."""
GUILD_ID = "1100000000000000001"
GUILD_NAME = "Brightdesk"
SUPPORT_CHANNEL_ID = "1100000000000000002"
"""The text channel "support"."""
BUSY_CHANNEL_ID = "1100000000000000003"
"""The text channel "general", where customers talk among themselves."""
CUSTOMER_ID = "1200000000000000001"
CUSTOMER_NAME = "ada_lovelace"
CUSTOMER_GLOBAL_NAME = "Ada"
MAX_CONTENT = 2000
"""A message's content limit, in characters."""
API_VERSION = 10
HEARTBEAT_INTERVAL_MS = 41250

_OWNER_ID = "1200000000000000009"
_BOT_ROLE_ID = "1100000000000000004"
_DISCORD_EPOCH_MS = 1_420_070_400_000
_GUILD_TEXT, _DM, _GUILD_ANNOUNCEMENT, _PUBLIC_THREAD, _PRIVATE_THREAD = 0, 1, 5, 11, 12
_THREAD_TYPES = (_PUBLIC_THREAD, _PRIVATE_THREAD)
_ARCHIVE_DURATIONS = (60, 1440, 4320, 10080)
_TRACE = ['["gateway-prd-fake",{"micros":0}]']
_VIA = {"Via": "1.1 google"}
_GONE = "This content is no longer available."
"""What Discord's CDN answers (404) for an attachment link that is unsigned, tampered or expired."""
_LINK_LIFETIME_S = 24 * 3600
_CREATE_MESSAGE_ROUTE = f"POST /api/v{API_VERSION}/channels/{{channel_id}}/messages"
"""Its rate limit bucket is named after it, on successes (`FakeDiscord._rest`) as on a scripted 429."""


class Intents(IntFlag):
    """The gateway intents the fake gates events by ("Gateway", "List of Intents")."""

    GUILDS = 1 << 0
    GUILD_MEMBERS = 1 << 1
    GUILD_PRESENCES = 1 << 8
    GUILD_MESSAGES = 1 << 9
    DIRECT_MESSAGES = 1 << 12
    MESSAGE_CONTENT = 1 << 15


PRIVILEGED_INTENTS = Intents.GUILD_MEMBERS | Intents.GUILD_PRESENCES | Intents.MESSAGE_CONTENT
"""Those an application must switch on in the developer portal; IDENTIFY asking for another is closed 4014."""

_LIMITED_FLAGS = {
    Intents.GUILD_PRESENCES: 1 << 13,  # GATEWAY_PRESENCE_LIMITED
    Intents.GUILD_MEMBERS: 1 << 15,  # GATEWAY_GUILD_MEMBERS_LIMITED
    Intents.MESSAGE_CONTENT: 1 << 19,  # GATEWAY_MESSAGE_CONTENT_LIMITED
}
"""The application flags saying a privileged intent is switched on (for an app in under 100 servers)."""

_EVERYONE_PERMISSIONS = (
    (1 << 6)  # ADD_REACTIONS
    | (1 << 10)  # VIEW_CHANNEL
    | (1 << 11)  # SEND_MESSAGES
    | (1 << 14)  # EMBED_LINKS
    | (1 << 15)  # ATTACH_FILES
    | (1 << 16)  # READ_MESSAGE_HISTORY
    | (1 << 35)  # CREATE_PUBLIC_THREADS
    | (1 << 36)  # CREATE_PRIVATE_THREADS
    | (1 << 38)  # SEND_MESSAGES_IN_THREADS
)
_BOT_PERMISSIONS = _EVERYONE_PERMISSIONS | (1 << 34)  # MANAGE_THREADS

_ERROR_MESSAGES = {
    10003: "Unknown Channel",
    10008: "Unknown Message",
    10013: "Unknown User",
    20016: "This action cannot be performed due to slowmode rate limit.",
    50001: "Missing Access",
    50006: "Cannot send an empty message",
    50007: "Cannot send messages to this user",
    50013: "Missing Permissions",
    50024: "Cannot execute action on this channel type",
    50033: "Invalid Recipient(s)",
    50035: "Invalid Form Body",
    50109: "The request body contains invalid JSON.",
    160004: "A thread has already been created for this message",
    50083: "Thread is archived",
}
"""Discord's messages for the "JSON Error Codes" the fake answers or `fail_next` is likely given;
code 0 (or one not listed) says "STATUS: Reason" instead."""


@dataclass(frozen=True, slots=True, kw_only=True)
class RecordedCall(Recorded):
    """One REST request as it crossed the wire and what the fake answered."""

    method: str
    path: str
    body: dict[str, Any] | None
    """The JSON body, or a multipart body's `payload_json`; None when there was none."""
    authorized: bool
    """Whether it carried `Authorization: Bot BOT_TOKEN`."""

    @property
    def code(self) -> int | None:
        """Discord's error code, None for a success."""
        return None if self.ok else self.response.get("code")


@dataclass(frozen=True, slots=True)
class RecordedDownload:
    """One GET on an attachment link: `authorized` if it carried the bot token (it needs none)."""

    path: str
    authorized: bool
    status: int
    at: float = field(default_factory=time.monotonic)


@dataclass(frozen=True, slots=True)
class RecordedConnection:
    """One websocket opened on the gateway, with its query (`v`, `encoding`, `compress`)."""

    query: dict[str, str]
    at: float = field(default_factory=time.monotonic)


@dataclass(frozen=True, slots=True)
class _Answer:
    status: int
    body: dict[str, Any] | None
    """None for a 204."""
    headers: dict[str, str] = field(default_factory=dict)

    def response(self) -> web.Response:
        headers = _VIA | self.headers
        if self.body is None:
            return web.Response(status=self.status, headers=headers)
        headers[hdrs.CONTENT_TYPE] = "application/json"  # exactly: see the module's docstring
        return web.Response(status=self.status, body=json.dumps(self.body).encode(), headers=headers)


@dataclass(frozen=True, slots=True)
class _Failure:
    """A scripted failure of a message creation, answered when its turn comes."""

    status: int
    code: int
    message: str | None
    retry_after: float | None

    def answer(self) -> _Answer:
        if self.status != HTTPStatus.TOO_MANY_REQUESTS:
            retry = {} if self.retry_after is None else {"Retry-After": str(math.ceil(self.retry_after))}
            return _error(self.status, self.code, message=self.message, headers=retry)
        wait = 0.5 if self.retry_after is None else self.retry_after
        body: dict[str, Any] = {
            "message": self.message or "You are being rate limited.",
            "retry_after": wait,
            "global": False,
        }
        if self.code:
            body["code"] = self.code
        # The header in whole seconds, as HTTP has it; discord.py waits the body's exact retry_after.
        headers = _bucket_headers(_CREATE_MESSAGE_ROUTE, remaining=0, reset_after=wait)
        headers |= {"Retry-After": str(math.ceil(wait)), "X-RateLimit-Scope": "user"}
        return _Answer(HTTPStatus.TOO_MANY_REQUESTS, body, headers)


@dataclass(frozen=True, slots=True)
class _Upload:
    filename: str
    data: bytes


@dataclass(frozen=True, slots=True)
class _Attachment:
    data: bytes
    content_type: str


@dataclass(eq=False)
class _Session:
    """A gateway session: what IDENTIFY opened and RESUME continues."""

    session_id: str
    intents: int
    connection: _Connection | None = None
    seq: int = 0
    log: list[tuple[int, str]] = field(default_factory=list)
    """Every dispatch as sent (sequence number, JSON text), for a RESUME to replay what was missed."""


@dataclass(eq=False)
class _Connection:
    socket: web.WebSocketResponse
    compress: Callable[[str], bytes] | None
    session: _Session | None = None
    closed_by_fake: bool = False
    _sending: asyncio.Lock = field(default_factory=asyncio.Lock)
    """A compression stream's payloads must reach the wire in the order they were compressed."""

    async def send(self, payload: dict[str, Any]) -> None:
        await self.send_text(json.dumps(payload, separators=(",", ":")))

    async def send_text(self, text: str) -> None:
        async with self._sending:
            if self.compress is None:
                await self.socket.send_str(text)
            else:
                await self.socket.send_bytes(self.compress(text))

    async def close(self, code: int, reason: str) -> None:
        self.closed_by_fake = True
        await self.socket.close(code=code, message=reason.encode())


Handler = Callable[[web.Request, dict[str, Any], list[_Upload]], Awaitable[_Answer]]


class FakeDiscord(StandIn):
    """Discord for one bot (`BOT_TOKEN`, `BOT_USER_ID`) in one guild (`GUILD_ID`, "Brightdesk",
    with the text channels "support" and "general", the bot and the customer Ada as members).

    Records tests may read: `calls` (every REST request), `sent` (each message the bot created:
    the JSON body, or a multipart body's payload_json plus `files`, with `channel_id` and the new
    message's `id`), `threads` (each thread the bot started: `id`, `parent_id`, `message_id` or
    None, `name`, `type`, `auto_archive_duration`), `typing` (channel ids), `identifies` (the
    `d` of each IDENTIFY accepted: token, intents, properties…), `resumes` (the `d` of each
    RESUME), `connections` (each websocket's query) and `downloads`.

    Push events with `dispatch_message`, `dispatch_dm` and `dispatch_in_thread` once the client
    is ready: they reach the sessions open at the time (or resumed later), and nobody else.
    """

    def __init__(self, *, privileged_intents: int = Intents.GUILD_MEMBERS | Intents.MESSAGE_CONTENT) -> None:
        super().__init__()
        self.privileged_intents = privileged_intents
        """The privileged intents switched on in the (imaginary) developer portal."""
        self.calls: list[RecordedCall] = []
        self.sent: list[dict[str, Any]] = []
        self.threads: list[dict[str, Any]] = []
        self.typing: list[str] = []
        self.unarchived: list[str] = []
        self.identifies: list[dict[str, Any]] = []
        self.resumes: list[dict[str, Any]] = []
        self.connections: list[RecordedConnection] = []
        self.downloads: list[RecordedDownload] = []
        self._last_snowflake = 0
        self._link_secret = secrets.token_bytes(16)
        self._joined_at = _iso(time.time())
        self._users: dict[str, dict[str, Any]] = {BOT_USER_ID: _bot_user(), CUSTOMER_ID: _customer()}
        self._members: dict[str, dict[str, Any]] = {
            BOT_USER_ID: self._member(self._users[BOT_USER_ID], roles=[_BOT_ROLE_ID]),
            CUSTOMER_ID: self._member(self._users[CUSTOMER_ID]),
        }
        self._channels: dict[str, dict[str, Any]] = {
            SUPPORT_CHANNEL_ID: _text_channel(SUPPORT_CHANNEL_ID, "support", 0, "Ask Brightdesk anything."),
            BUSY_CHANNEL_ID: _text_channel(BUSY_CHANNEL_ID, "general", 1, None),
        }
        self._dm_channels: dict[str, str] = {}
        """User id → the id of the bot's DM channel with them."""
        self._messages: dict[str, dict[str, Any]] = {}
        self._nonces: dict[tuple[str, str], dict[str, Any]] = {}
        """(channel id, nonce) → the bot's message created with it, for `enforce_nonce`."""
        self._attachments: dict[str, _Attachment] = {}
        """`channel/attachment/filename` → the bytes the link serves."""
        self._sessions: dict[str, _Session] = {}
        self._open: set[_Connection] = set()
        self._failures: deque[_Failure] = deque()

    @property
    def gateway_url(self) -> str:
        """`ws://127.0.0.1:PORT/gateway/` once started: `DEFAULT_GATEWAY` and READY's `resume_gateway_url`."""
        return self.url.replace("http://", "ws://", 1) + "/gateway/"

    def app(self) -> web.Application:
        app = web.Application()
        routes: list[tuple[str, str, Handler]] = [
            ("GET", "/users/@me", self._get_me),
            ("GET", "/oauth2/applications/@me", self._get_application),
            ("GET", "/applications/@me", self._get_application),
            ("GET", "/gateway/bot", self._get_gateway_bot),
            ("POST", "/users/@me/channels", self._create_dm),
            ("GET", "/channels/{channel_id}", self._get_channel),
            ("POST", "/channels/{channel_id}/messages", self._create_message),
            ("POST", "/channels/{channel_id}/messages/{message_id}/threads", self._start_thread_from_message),
            ("POST", "/channels/{channel_id}/threads", self._start_thread),
            ("POST", "/channels/{channel_id}/typing", self._trigger_typing),
        ]
        for method, path, handler in routes:
            app.router.add_route(method, f"/api/v{API_VERSION}{path}", self._rest(handler))
        app.router.add_get("/gateway/", self._gateway)
        app.router.add_get("/gateway", self._gateway)
        for prefix in ("", "/media"):  # cdn.discordapp.com's `url` and media.discordapp.net's `proxy_url`
            app.router.add_get(prefix + "/attachments/{channel_id}/{attachment_id}/{filename}", self._download)
        app.router.add_route("*", "/{tail:.*}", self._rest(self._not_found, needs_token=False))
        return app

    async def stop(self) -> None:
        """Close the open websockets (1001, going away), then shut the server down."""
        for connection in list(self._open):
            await connection.close(1001, "Going away")
        await super().stop()

    # -- what tests script ------------------------------------------------------------------

    def fail_next(
        self,
        status: int,
        *,
        code: int = 0,
        message: str | None = None,
        retry_after: float | None = None,
        times: int = 1,
    ) -> None:
        """The next `times` authorized message creations (POST `/channels/{id}/messages`) are
        answered `status` and send nothing. A 429 is Discord's `{"message": "You are being rate
        limited.", "retry_after", "global": false}` (`retry_after` 0.5 unless given) with
        `Retry-After` and the `X-RateLimit-*` headers; any other status is `{"message", "code"}`,
        the message Discord's for `code` (or "STATUS: Reason" for 0) unless given."""
        self._failures.extend([_Failure(status, code, message, retry_after)] * times)

    def add_attachment(
        self, data: bytes, content_type: str, filename: str, *, channel_id: str = SUPPORT_CHANNEL_ID
    ) -> dict[str, Any]:
        """Host `data` as a customer's upload in `channel_id`; the attachment object, for
        `dispatch_message(attachments=…)`. Its `url` and `proxy_url` are signed links on this server
        shaped like the CDN's (`/attachments/{channel}/{id}/{filename}?ex=…&is=…&hm=…&`), served
        without a token for a day; a tampered or expired one is answered 404."""
        return self._store_attachment(channel_id, data, content_type, filename)

    def dm_channel_id(self, user_id: str = CUSTOMER_ID) -> str:
        """The bot's DM channel with `user_id` (a user the fake knows), opened on first use."""
        if user_id not in self._dm_channels:
            if user_id not in self._users or user_id == BOT_USER_ID:
                raise ValueError(f"no user {user_id} to open a DM with")
            self._add_dm(self._snowflake(), self._users[user_id])
        return self._dm_channels[user_id]

    async def dispatch_message(
        self,
        *,
        channel_id: str,
        content: str,
        author_id: str = CUSTOMER_ID,
        author_name: str = CUSTOMER_NAME,
        guild: bool = True,
        mentions_bot: bool = False,
        attachments: Sequence[dict[str, Any]] = (),
        message_id: str | None = None,
    ) -> dict[str, Any]:
        """A MESSAGE_CREATE from a user (`author_name` is used for one the fake has not met yet), to
        every session whose intents cover it; returns the event's message as dispatched in full.

        `guild=True` posts in one of the guild's channels or threads (with `guild_id` and the
        author's `member`), `guild=False` in a DM channel (opened with the author if new).
        `mentions_bot` puts `<@BOT_USER_ID> ` before `content` and the bot in `mentions`."""
        author = self._user(author_id, author_name)
        channel = self._channels.get(channel_id)
        if guild and (channel is None or channel["type"] == _DM):
            raise ValueError(f"{channel_id} is not a channel or thread of the guild")
        if not guild:
            if channel is None:
                self._add_dm(channel_id, author)
            elif channel["type"] != _DM:
                raise ValueError(f"{channel_id} is a guild channel, not a DM")
        elif author_id not in self._members:
            self._members[author_id] = self._member(author)
        message = self._new_message(
            channel_id,
            author,
            f"<@{BOT_USER_ID}> {content}" if mentions_bot else content,
            mentions=[self._users[BOT_USER_ID]] if mentions_bot else [],
            attachments=list(attachments),
            message_id=message_id,
        )
        return await self._broadcast_message(message)

    async def dispatch_dm(
        self,
        content: str,
        *,
        author_id: str = CUSTOMER_ID,
        author_name: str = CUSTOMER_NAME,
        attachments: Sequence[dict[str, Any]] = (),
        message_id: str | None = None,
    ) -> dict[str, Any]:
        """A user's direct message to the bot, in their DM channel (`dm_channel_id`). No
        CHANNEL_CREATE comes first: Discord sends bots none for DMs."""
        self._user(author_id, author_name)
        return await self.dispatch_message(
            channel_id=self.dm_channel_id(author_id),
            content=content,
            author_id=author_id,
            author_name=author_name,
            guild=False,
            attachments=attachments,
            message_id=message_id,
        )

    async def dispatch_in_thread(
        self,
        thread_id: str,
        content: str,
        *,
        author_id: str = CUSTOMER_ID,
        author_name: str = CUSTOMER_NAME,
        mentions_bot: bool = False,
        attachments: Sequence[dict[str, Any]] = (),
        message_id: str | None = None,
    ) -> dict[str, Any]:
        """A user's message in a thread (one the bot started)."""
        if self._channels.get(thread_id, {}).get("type") not in _THREAD_TYPES:
            raise ValueError(f"{thread_id} is not a thread")
        return await self.dispatch_message(
            channel_id=thread_id,
            content=content,
            author_id=author_id,
            author_name=author_name,
            mentions_bot=mentions_bot,
            attachments=attachments,
            message_id=message_id,
        )

    def archive_thread(self, thread_id: str, *, locked: bool = False) -> None:
        """The thread went quiet for its `auto_archive_duration` (or a moderator archived it, and
        `locked` it). Discord's rule for a message to it: an unlocked thread is unarchived by the
        message (recorded in `unarchived`), a locked one refuses it (400, code 50083)."""
        metadata = self._channels[thread_id]["thread_metadata"]
        metadata.update(archived=True, locked=locked)

    async def close_connections(self, code: int = 4000) -> int:
        """Close every open websocket with `code`, keeping their sessions: discord.py reconnects at
        once and RESUMEs (for 4000 and the others it can handle), and is replayed what was
        dispatched in between. Returns how many were closed."""
        connections = list(self._open)
        for connection in connections:
            await connection.close(code, "Closed by the fake")
        return len(connections)

    async def wait_for_identify(self, count: int = 1, *, timeout: float = 30.0) -> dict[str, Any]:
        """The `count`-th IDENTIFY accepted, once it was; an AssertionError after `timeout`."""
        await self.wait_until(
            lambda: len(self.identifies) >= count,
            timeout=timeout,
            expected=lambda: f"expected {count} IDENTIFY, got {len(self.identifies)}; connections: {self.connections}",
        )
        return self.identifies[count - 1]

    async def wait_for_resume(self, count: int = 1, *, timeout: float = 30.0) -> dict[str, Any]:
        """The `count`-th RESUME received, once it was; an AssertionError after `timeout`."""
        await self.wait_until(
            lambda: len(self.resumes) >= count,
            timeout=timeout,
            expected=lambda: f"expected {count} RESUME, got {len(self.resumes)}; connections: {self.connections}",
        )
        return self.resumes[count - 1]

    async def wait_for_sent(self, count: int, *, timeout: float = 30.0) -> list[dict[str, Any]]:
        """Every message the bot created, once there are `count`; an AssertionError (listing the
        calls) after `timeout`."""
        await self.wait_until(
            lambda: len(self.sent) >= count, timeout=timeout, expected=self._expected("message", count)
        )
        return list(self.sent)

    async def wait_for_threads(self, count: int, *, timeout: float = 30.0) -> list[dict[str, Any]]:
        """Every thread the bot started, once there are `count`; an AssertionError after `timeout`."""
        await self.wait_until(
            lambda: len(self.threads) >= count, timeout=timeout, expected=self._expected("thread", count)
        )
        return list(self.threads)

    def _expected(self, what: str, count: int) -> Callable[[], str]:
        def expected() -> str:
            seen = [(call.method, call.path, call.status, call.code) for call in self.calls]
            return f"expected {count} {what}(s); calls: {seen}"

        return expected

    # -- REST ---------------------------------------------------------------------------------

    def _rest(self, handler: Handler, *, needs_token: bool = True) -> Callable[[web.Request], Awaitable[web.Response]]:
        async def serve(request: web.Request) -> web.Response:
            authorized = _authorized(request)
            body: dict[str, Any] | None = None
            if needs_token and not authorized:
                answer = _Answer(HTTPStatus.UNAUTHORIZED, {"message": "401: Unauthorized", "code": 0})
            else:
                try:
                    body, uploads = await _read_body(request)
                except ValueError:
                    answer = _error(HTTPStatus.BAD_REQUEST, 50109)
                else:
                    answer = await handler(request, body or {}, uploads)
                if not answer.headers:
                    resource = request.match_info.route.resource
                    route = f"{request.method} {resource.canonical if resource else request.path}"
                    answer = _Answer(answer.status, answer.body, _bucket_headers(route, remaining=4, reset_after=1.0))
            call = RecordedCall(
                method=request.method,
                path=request.path,
                body=body,
                authorized=authorized,
                status=answer.status,
                response=answer.body or {},
            )
            self.calls.append(call)
            await self.recorded()
            return answer.response()

        return serve

    async def _not_found(self, request: web.Request, body: dict[str, Any], uploads: list[_Upload]) -> _Answer:
        return _error(HTTPStatus.NOT_FOUND, 0)

    async def _get_me(self, request: web.Request, body: dict[str, Any], uploads: list[_Upload]) -> _Answer:
        return _Answer(HTTPStatus.OK, self._me())

    async def _get_application(self, request: web.Request, body: dict[str, Any], uploads: list[_Upload]) -> _Answer:
        owner = {
            "id": _OWNER_ID,
            "username": "brightdesk_admin",
            "discriminator": "0",
            "global_name": "Brightdesk Admin",
            "avatar": None,
            "public_flags": 0,
            "flags": 0,
        }
        application: dict[str, Any] = {
            "id": APPLICATION_ID,
            "name": BOT_NAME,
            "icon": None,
            "description": "Brightdesk's customer support.",
            "summary": "",
            "type": None,
            "hook": True,
            "bot_public": True,
            "bot_require_code_grant": False,
            "verify_key": hashlib.sha256(APPLICATION_ID.encode()).hexdigest(),
            "flags": self._application_flags(),
            "owner": owner,
            "team": None,
            "bot": self._users[BOT_USER_ID],
            "redirect_uris": [],
            "interactions_endpoint_url": None,
            "role_connections_verification_url": None,
            "tags": [],
            "approximate_guild_count": 1,
        }
        return _Answer(HTTPStatus.OK, application)

    async def _get_gateway_bot(self, request: web.Request, body: dict[str, Any], uploads: list[_Upload]) -> _Answer:
        limit = {"total": 1000, "remaining": 999, "reset_after": 14_400_000, "max_concurrency": 1}
        return _Answer(HTTPStatus.OK, {"url": self.gateway_url, "shards": 1, "session_start_limit": limit})

    async def _create_dm(self, request: web.Request, body: dict[str, Any], uploads: list[_Upload]) -> _Answer:
        recipient = str(body.get("recipient_id", ""))
        if recipient not in self._users or recipient == BOT_USER_ID:
            return _error(HTTPStatus.BAD_REQUEST, 50033)
        return _Answer(HTTPStatus.OK, self._channels[self.dm_channel_id(recipient)])

    async def _get_channel(self, request: web.Request, body: dict[str, Any], uploads: list[_Upload]) -> _Answer:
        channel = self._channels.get(request.match_info["channel_id"])
        if channel is None:
            return _error(HTTPStatus.NOT_FOUND, 10003)
        return _Answer(HTTPStatus.OK, channel)

    async def _trigger_typing(self, request: web.Request, body: dict[str, Any], uploads: list[_Upload]) -> _Answer:
        channel_id = request.match_info["channel_id"]
        if channel_id not in self._channels:
            return _error(HTTPStatus.NOT_FOUND, 10003)
        self.typing.append(channel_id)
        return _Answer(HTTPStatus.NO_CONTENT, None)

    async def _create_message(self, request: web.Request, body: dict[str, Any], uploads: list[_Upload]) -> _Answer:
        """Discord's "Create Message": content of at most 2,000 characters, and something to send
        (content, embeds, files, stickers, components or a poll); a reply's `message_reference`
        must name a message the fake knows unless `fail_if_not_exists` is false. With
        `enforce_nonce` (discord.py sends it, with a nonce of its own, on every send) a nonce
        already used in the channel answers the message created with it and creates nothing, so a
        retried request cannot post twice (Discord remembers nonces for a few minutes; the fake,
        for its life)."""
        if self._failures:
            return self._failures.popleft().answer()
        channel_id = request.match_info["channel_id"]
        if channel_id not in self._channels:
            return _error(HTTPStatus.NOT_FOUND, 10003)
        nonce = body.get("nonce")
        if body.get("enforce_nonce") and (channel_id, str(nonce)) in self._nonces:
            return _Answer(HTTPStatus.OK, self._nonces[channel_id, str(nonce)])
        thread = self._channels[channel_id].get("thread_metadata")
        if isinstance(thread, dict) and thread.get("archived"):
            if thread.get("locked"):
                return _error(HTTPStatus.BAD_REQUEST, 50083)
            thread["archived"] = False  # a message in an unlocked archived thread unarchives it
            self.unarchived.append(channel_id)
        content = body.get("content")
        if content is not None and not isinstance(content, str):
            return _form_error("content", "BASE_TYPE_STRING", "Could not interpret the value as string.")
        if content is not None and len(content) > MAX_CONTENT:
            return _form_error("content", "BASE_TYPE_MAX_LENGTH", f"Must be {MAX_CONTENT} or fewer in length.")
        if not (content or uploads or any(body.get(key) for key in ("embeds", "sticker_ids", "components", "poll"))):
            return _error(HTTPStatus.BAD_REQUEST, 50006)
        reference = body.get("message_reference")
        referenced = None
        if isinstance(reference, dict) and reference.get("message_id") is not None:
            referenced = self._messages.get(str(reference["message_id"]))
            if referenced is None and reference.get("fail_if_not_exists", True) is not False:
                return _form_error("message_reference", "MESSAGE_REFERENCE_UNKNOWN_MESSAGE", "Unknown message")
        attachments = [
            self._store_attachment(channel_id, upload.data, _content_type(upload.filename), upload.filename)
            for upload in uploads
        ]
        message = self._new_message(
            channel_id,
            self._users[BOT_USER_ID],
            content or "",
            attachments=attachments,
            embeds=list(body.get("embeds") or []),
            components=list(body.get("components") or []),
            nonce=nonce,
            referenced=referenced,
        )
        if nonce is not None:
            self._nonces[channel_id, str(nonce)] = message
        record = {**body, "channel_id": channel_id, "id": message["id"]}
        if uploads:
            record["files"] = [{"filename": upload.filename, "data": upload.data} for upload in uploads]
        self.sent.append(record)
        await self._broadcast_message(message)
        return _Answer(HTTPStatus.OK, message)

    async def _start_thread_from_message(
        self, request: web.Request, body: dict[str, Any], uploads: list[_Upload]
    ) -> _Answer:
        """Discord's "Start Thread from Message": a public thread whose id is the message's."""
        channel = self._channels.get(request.match_info["channel_id"])
        message_id = request.match_info["message_id"]
        if channel is None:
            return _error(HTTPStatus.NOT_FOUND, 10003)
        if channel["type"] not in (_GUILD_TEXT, _GUILD_ANNOUNCEMENT):
            return _error(HTTPStatus.BAD_REQUEST, 50024)
        message = self._messages.get(message_id)
        if message is None or message["channel_id"] != channel["id"]:
            return _error(HTTPStatus.NOT_FOUND, 10008)
        if message_id in self._channels:
            return _error(HTTPStatus.BAD_REQUEST, 160004)
        return await self._open_thread(channel, body, thread_id=message_id, kind=_PUBLIC_THREAD, message_id=message_id)

    async def _start_thread(self, request: web.Request, body: dict[str, Any], uploads: list[_Upload]) -> _Answer:
        """Discord's "Start Thread without Message": `type` 11 or 12, private (12) when left out."""
        channel = self._channels.get(request.match_info["channel_id"])
        if channel is None:
            return _error(HTTPStatus.NOT_FOUND, 10003)
        if channel["type"] not in (_GUILD_TEXT, _GUILD_ANNOUNCEMENT):
            return _error(HTTPStatus.BAD_REQUEST, 50024)
        kind = body.get("type", _PRIVATE_THREAD)
        if kind not in _THREAD_TYPES:
            return _form_error("type", "BASE_TYPE_CHOICES", "Value must be one of {11, 12}.")
        return await self._open_thread(channel, body, thread_id=self._snowflake(), kind=kind, message_id=None)

    async def _open_thread(
        self, parent: dict[str, Any], body: dict[str, Any], *, thread_id: str, kind: int, message_id: str | None
    ) -> _Answer:
        name = body.get("name")
        if not isinstance(name, str) or not 1 <= len(name) <= 100:
            return _form_error("name", "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 100 in length.")
        duration = body.get("auto_archive_duration") or parent.get("default_auto_archive_duration", 1440)
        if duration not in _ARCHIVE_DURATIONS:
            return _form_error(
                "auto_archive_duration", "BASE_TYPE_CHOICES", "Value must be one of {60, 1440, 4320, 10080}."
            )
        now = _iso(time.time())
        metadata: dict[str, Any] = {
            "archived": False,
            "auto_archive_duration": duration,
            "archive_timestamp": now,
            "locked": False,
            "create_timestamp": now,
        }
        if kind == _PRIVATE_THREAD:
            metadata["invitable"] = body.get("invitable", True) is not False
        thread = {
            "id": thread_id,
            "type": kind,
            "guild_id": GUILD_ID,
            "parent_id": parent["id"],
            "owner_id": BOT_USER_ID,
            "name": name,
            "last_message_id": None,
            "rate_limit_per_user": body.get("rate_limit_per_user") or 0,
            "message_count": 0,
            "member_count": 1,
            "total_message_sent": 0,
            "flags": 0,
            "thread_metadata": metadata,
        }
        self._channels[thread_id] = thread
        self.threads.append(
            {
                "id": thread_id,
                "parent_id": parent["id"],
                "message_id": message_id,
                "name": name,
                "type": kind,
                "auto_archive_duration": duration,
            }
        )
        await self._broadcast(Intents.GUILDS, "THREAD_CREATE", thread | {"newly_created": True})
        return _Answer(HTTPStatus.CREATED, thread)

    async def _download(self, request: web.Request) -> web.Response:
        info = request.match_info
        key = f"{info['channel_id']}/{info['attachment_id']}/{info['filename']}"
        attachment = self._attachments.get(key)
        expires, issued = request.query.get("ex", ""), request.query.get("is", "")
        signed = hmac.compare_digest(
            request.query.get("hm", "").encode(), self._signature(key, expires, issued).encode()
        )
        if attachment is None or not signed or int(expires or "0", 16) < time.time():
            response = web.Response(status=HTTPStatus.NOT_FOUND, text=_GONE, headers=_VIA)
        else:
            response = web.Response(body=attachment.data, content_type=attachment.content_type, headers=_VIA)
        self.downloads.append(RecordedDownload(request.path, _authorized(request), response.status))
        await self.recorded()
        return response

    # -- the Gateway --------------------------------------------------------------------------

    async def _gateway(self, request: web.Request) -> web.StreamResponse:
        query = dict(request.query)
        compression = query.get("compress")
        compress = _COMPRESSIONS.get(compression, lambda: None)() if compression is not None else None
        if query.get("encoding", "json") != "json" or (compression is not None and compress is None):
            return web.Response(
                status=HTTPStatus.BAD_REQUEST, text="The fake speaks JSON, zlib-stream and zstd-stream."
            )
        socket = web.WebSocketResponse()
        await socket.prepare(request)
        connection = _Connection(socket, compress)
        self.connections.append(RecordedConnection(query))
        self._open.add(connection)
        try:
            if query.get("v") != str(API_VERSION):
                await connection.close(4012, "Invalid API version")
                return socket
            hello = {"heartbeat_interval": HEARTBEAT_INTERVAL_MS, "_trace": _TRACE}
            await connection.send({"op": 10, "d": hello, "s": None, "t": None})
            async for frame in socket:
                if frame.type is not WSMsgType.TEXT:
                    await connection.close(4002, "Error while decoding payload.")
                else:
                    await self._receive(connection, frame.data)
        finally:
            self._open.discard(connection)
            self._disconnected(connection)
        return socket

    async def _receive(self, connection: _Connection, text: str) -> None:
        try:
            payload = json.loads(text)
            op, data = payload["op"], payload.get("d")
        except (ValueError, TypeError, KeyError, AttributeError):
            await connection.close(4002, "Error while decoding payload.")
            return
        if op == 1:
            await connection.send({"op": 11, "d": None, "s": None, "t": None})
        elif op == 2:
            await self._identify(connection, data)
        elif op == 6:
            await self._resume(connection, data)
        elif op not in (3, 4, 8):  # presence update and voice state are taken and ignored
            await connection.close(4001, "Unknown opcode.")
        elif connection.session is None:
            await connection.close(4003, "Not authenticated.")
        elif op == 8:
            await self._send_members_chunk(connection.session, data if isinstance(data, dict) else {})

    async def _identify(self, connection: _Connection, data: Any) -> None:
        if connection.session is not None:
            await connection.close(4005, "Already authenticated.")
            return
        if not isinstance(data, dict) or data.get("token") != BOT_TOKEN:
            await connection.close(4004, "Authentication failed.")
            return
        intents = data.get("intents")
        if not isinstance(intents, int) or isinstance(intents, bool) or intents < 0:
            await connection.close(4013, "Invalid intent(s).")
            return
        if intents & PRIVILEGED_INTENTS & ~self.privileged_intents:
            await connection.close(4014, "Disallowed intent(s).")
            return
        self.identifies.append(data)
        session = _Session(secrets.token_hex(16), intents, connection)
        connection.session = session
        self._sessions[session.session_id] = session
        ready: dict[str, Any] = {
            "v": API_VERSION,
            "user": self._me(),
            "guilds": [{"id": GUILD_ID, "unavailable": True}],
            "session_id": session.session_id,
            "session_type": "normal",
            "resume_gateway_url": self.gateway_url,
            "application": {"id": APPLICATION_ID, "flags": self._application_flags()},
            "private_channels": [],
            "presences": [],
            "relationships": [],
            "guild_join_requests": [],
            "user_settings": {},
            "geo_ordered_rtc_regions": ["us-east", "us-central"],
            "_trace": _TRACE,
        }
        if "shard" in data:
            ready["shard"] = data["shard"]
        await self._dispatch(session, "READY", ready)
        await self._dispatch(session, "GUILD_CREATE", self._guild())
        await self.recorded()

    async def _resume(self, connection: _Connection, data: Any) -> None:
        if connection.session is not None:
            await connection.close(4005, "Already authenticated.")
            return
        if not isinstance(data, dict) or data.get("token") != BOT_TOKEN:
            await connection.close(4004, "Authentication failed.")
            return
        self.resumes.append(data)
        await self.recorded()
        session = self._sessions.get(str(data.get("session_id")))
        if session is None:  # discord.py closes (1000) and IDENTIFYs anew on DEFAULT_GATEWAY
            await connection.send({"op": 9, "d": False, "s": None, "t": None})
            return
        sent = data.get("seq") or 0
        while missed := [(number, text) for number, text in session.log if number > sent]:
            for number, text in missed:
                await connection.send_text(text)
                sent = number
        # Nothing awaited since the last look at the log: what comes next goes to this connection.
        session.connection, connection.session = connection, session
        await self._dispatch(session, "RESUMED", {"_trace": _TRACE})

    async def _send_members_chunk(self, session: _Session, data: dict[str, Any]) -> None:
        """GUILD_MEMBERS_CHUNK for REQUEST_GUILD_MEMBERS: those of `user_ids`, or whose username
        starts with `query`, at most `limit` (0: all), in one chunk."""
        members = list(self._members.values())
        if data.get("user_ids"):
            wanted = {str(user_id) for user_id in data["user_ids"]}
            members = [member for member in members if member["user"]["id"] in wanted]
        elif data.get("query"):
            prefix = str(data["query"]).lower()
            members = [member for member in members if member["user"]["username"].lower().startswith(prefix)]
        if data.get("limit"):
            members = members[: int(data["limit"])]
        chunk: dict[str, Any] = {"guild_id": GUILD_ID, "members": members, "chunk_index": 0, "chunk_count": 1}
        chunk["not_found"] = []
        if data.get("nonce") is not None:
            chunk["nonce"] = data["nonce"]
        await self._dispatch(session, "GUILD_MEMBERS_CHUNK", chunk)

    def _disconnected(self, connection: _Connection) -> None:
        session = connection.session
        if session is None or session.connection is not connection:
            return
        session.connection = None
        if not connection.closed_by_fake and connection.socket.close_code in (1000, 1001):
            del self._sessions[session.session_id]  # Discord ends a session its client closed so

    async def _dispatch(self, session: _Session, event: str, data: dict[str, Any]) -> None:
        session.seq += 1
        text = json.dumps({"op": 0, "t": event, "s": session.seq, "d": data}, separators=(",", ":"))
        session.log.append((session.seq, text))
        if session.connection is not None:
            with contextlib.suppress(ConnectionResetError):  # closing: the event stays in the log for a RESUME
                await session.connection.send_text(text)

    async def _broadcast(self, intent: Intents, event: str, data: dict[str, Any]) -> None:
        for session in list(self._sessions.values()):
            if session.intents & intent:
                await self._dispatch(session, event, data)

    async def _broadcast_message(self, message: dict[str, Any]) -> dict[str, Any]:
        """MESSAGE_CREATE to the sessions with GUILD_MESSAGES (guild) or DIRECT_MESSAGES (DM);
        returns the event's message."""
        if self._channels[message["channel_id"]]["type"] == _DM:
            event, intent = message, Intents.DIRECT_MESSAGES
        else:
            event, intent = self._in_guild(message), Intents.GUILD_MESSAGES
        mentioned = any(user["id"] == BOT_USER_ID for user in message["mentions"])
        readable = intent == Intents.DIRECT_MESSAGES or mentioned or message["author"]["id"] == BOT_USER_ID
        emptied = {key: value for key, value in event.items() if key != "poll"}
        emptied |= {"content": "", "embeds": [], "attachments": [], "components": []}
        for session in list(self._sessions.values()):
            if session.intents & intent:
                sees = readable or session.intents & Intents.MESSAGE_CONTENT
                await self._dispatch(session, "MESSAGE_CREATE", event if sees else emptied)
        return event

    # -- Discord's objects --------------------------------------------------------------------

    def _snowflake(self) -> str:
        """A new id: milliseconds since Discord's epoch (2015) above 22 bits, increasing."""
        now = int(time.time() * 1000) - _DISCORD_EPOCH_MS
        self._last_snowflake = max(now << 22 | 1 << 17, self._last_snowflake + 1)  # worker 1
        return str(self._last_snowflake)

    def _me(self) -> dict[str, Any]:
        """The bot as `/users/@me` and READY show it."""
        return self._users[BOT_USER_ID] | {
            "flags": 0,
            "mfa_enabled": False,
            "locale": "en-US",
            "verified": True,
            "email": None,
            "banner": None,
            "accent_color": None,
            "bio": "",
        }

    def _application_flags(self) -> int:
        return sum(flag for intent, flag in _LIMITED_FLAGS.items() if self.privileged_intents & intent)

    def _user(self, user_id: str, username: str) -> dict[str, Any]:
        if user_id not in self._users:
            self._users[user_id] = _user_object(user_id, username, None)
        return self._users[user_id]

    def _member(self, user: dict[str, Any], *, roles: Sequence[str] = ()) -> dict[str, Any]:
        return {
            "user": user,
            "roles": list(roles),
            "nick": None,
            "avatar": None,
            "banner": None,
            "joined_at": self._joined_at,
            "premium_since": None,
            "deaf": False,
            "mute": False,
            "pending": False,
            "flags": 0,
            "communication_disabled_until": None,
        }

    def _add_dm(self, channel_id: str, recipient: dict[str, Any]) -> None:
        channel = {"id": channel_id, "type": _DM, "last_message_id": None, "flags": 0, "recipients": [recipient]}
        self._channels[channel_id] = channel
        self._dm_channels[recipient["id"]] = channel_id

    def _guild(self) -> dict[str, Any]:
        """The guild as GUILD_CREATE carries it: the guild object plus its channels, active
        threads, members and the rest of that event's fields."""
        roles = [
            _role(GUILD_ID, "@everyone", 0, _EVERYONE_PERMISSIONS),
            _role(_BOT_ROLE_ID, BOT_NAME, 1, _BOT_PERMISSIONS) | {"managed": True, "tags": {"bot_id": BOT_USER_ID}},
        ]
        channels = [
            {key: value for key, value in channel.items() if key != "guild_id"}
            for channel in self._channels.values()
            if channel["type"] in (_GUILD_TEXT, _GUILD_ANNOUNCEMENT)
        ]
        threads = [channel for channel in self._channels.values() if channel["type"] in _THREAD_TYPES]
        return {
            "id": GUILD_ID,
            "name": GUILD_NAME,
            "icon": None,
            "splash": None,
            "discovery_splash": None,
            "banner": None,
            "description": None,
            "owner_id": _OWNER_ID,
            "afk_channel_id": None,
            "afk_timeout": 300,
            "verification_level": 1,
            "default_message_notifications": 1,
            "explicit_content_filter": 2,
            "roles": roles,
            "emojis": [],
            "stickers": [],
            "features": [],
            "mfa_level": 0,
            "application_id": None,
            "system_channel_id": BUSY_CHANNEL_ID,
            "system_channel_flags": 0,
            "rules_channel_id": None,
            "public_updates_channel_id": None,
            "safety_alerts_channel_id": None,
            "max_members": 500_000,
            "vanity_url_code": None,
            "premium_tier": 0,
            "premium_subscription_count": 0,
            "preferred_locale": "en-US",
            "nsfw_level": 0,
            "premium_progress_bar_enabled": False,
            "joined_at": self._joined_at,
            "large": False,
            "unavailable": False,
            "member_count": len(self._members),
            "voice_states": [],
            "members": list(self._members.values()),
            "channels": channels,
            "threads": threads,
            "presences": [],
            "stage_instances": [],
            "guild_scheduled_events": [],
            "soundboard_sounds": [],
        }

    def _new_message(
        self,
        channel_id: str,
        author: dict[str, Any],
        content: str,
        *,
        mentions: list[dict[str, Any]] | None = None,
        attachments: list[dict[str, Any]] | None = None,
        embeds: list[dict[str, Any]] | None = None,
        components: list[dict[str, Any]] | None = None,
        message_id: str | None = None,
        nonce: Any = None,
        referenced: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """A message object as REST answers it (no guild_id or member), kept for replies and threads."""
        message_id = message_id or self._snowflake()
        message: dict[str, Any] = {
            "type": 0 if referenced is None else 19,  # DEFAULT, or REPLY
            "id": message_id,
            "channel_id": channel_id,
            "author": author,
            "content": content,
            "timestamp": _iso(((int(message_id) >> 22) + _DISCORD_EPOCH_MS) / 1000),
            "edited_timestamp": None,
            "tts": False,
            "mention_everyone": False,
            "mentions": mentions or [],
            "mention_roles": [],
            "attachments": attachments or [],
            "embeds": embeds or [],
            "components": components or [],
            "pinned": False,
            "flags": 0,
        }
        if nonce is not None:
            message["nonce"] = nonce
        if referenced is not None:
            message["message_reference"] = {
                "type": 0,
                "channel_id": referenced["channel_id"],
                "message_id": referenced["id"],
            }
            if self._channels[referenced["channel_id"]]["type"] != _DM:
                message["message_reference"]["guild_id"] = GUILD_ID
            message["referenced_message"] = referenced
        channel = self._channels[channel_id]
        channel["last_message_id"] = message_id
        if channel["type"] in _THREAD_TYPES:
            message["position"] = channel["total_message_sent"]
            channel["message_count"] += 1
            channel["total_message_sent"] += 1
        self._messages[message_id] = {key: value for key, value in message.items() if key != "referenced_message"}
        return message

    def _in_guild(self, message: dict[str, Any]) -> dict[str, Any]:
        """A guild message as the Gateway sends it: with `guild_id`, the author's `member`, and
        each mentioned member's in `mentions`."""
        mentions = [
            user | {"member": _partial(self._members[user["id"]])} if user["id"] in self._members else user
            for user in message["mentions"]
        ]
        event = message | {"guild_id": GUILD_ID, "mentions": mentions}
        if message["author"]["id"] in self._members:
            event["member"] = _partial(self._members[message["author"]["id"]])
        return event

    def _store_attachment(self, channel_id: str, data: bytes, content_type: str, filename: str) -> dict[str, Any]:
        attachment_id = self._snowflake()
        name = filename.replace(" ", "_")  # as Discord renames uploads
        key = f"{channel_id}/{attachment_id}/{name}"
        self._attachments[key] = _Attachment(data, content_type)
        issued = int(time.time())
        expires, issued_hex = f"{issued + _LINK_LIFETIME_S:x}", f"{issued:x}"
        link = f"/attachments/{channel_id}/{attachment_id}/{quote(name)}"
        signed = f"?ex={expires}&is={issued_hex}&hm={self._signature(key, expires, issued_hex)}&"
        return {
            "id": attachment_id,
            "filename": name,
            "size": len(data),
            "url": f"{self.url}{link}{signed}",
            "proxy_url": f"{self.url}/media{link}{signed}",
            "content_type": content_type,
        }

    def _signature(self, key: str, expires: str, issued: str) -> str:
        return hmac.new(self._link_secret, f"{key}?ex={expires}&is={issued}".encode(), hashlib.sha256).hexdigest()


def _zlib_stream() -> Callable[[str], bytes]:
    context = zlib.compressobj()

    def compress(text: str) -> bytes:
        return context.compress(text.encode()) + context.flush(zlib.Z_SYNC_FLUSH)

    return compress


def _zstd_stream() -> Callable[[str], bytes] | None:
    """One zstd frame, each payload flushed as a block; None when no zstd module can be imported
    (then discord.py, which imports the same ones, does not ask for it)."""
    if sys.version_info >= (3, 14):
        from compression import zstd

        compressor = zstd.ZstdCompressor()
        return lambda text: compressor.compress(text.encode(), mode=zstd.ZstdCompressor.FLUSH_BLOCK)
    try:
        zstandard: Any = importlib.import_module("zstandard")
    except ImportError:
        return None
    stream = zstandard.ZstdCompressor().compressobj()

    def compress(text: str) -> bytes:
        return bytes(stream.compress(text.encode()) + stream.flush(zstandard.COMPRESSOBJ_FLUSH_BLOCK))

    return compress


_COMPRESSIONS: dict[str, Callable[[], Callable[[str], bytes] | None]] = {
    "zlib-stream": _zlib_stream,
    "zstd-stream": _zstd_stream,
}


def _authorized(request: web.Request) -> bool:
    return hmac.compare_digest(request.headers.get(hdrs.AUTHORIZATION, "").encode(), f"Bot {BOT_TOKEN}".encode())


async def _read_body(request: web.Request) -> tuple[dict[str, Any] | None, list[_Upload]]:
    """The JSON body (a multipart body's `payload_json`) and the files uploaded; ValueError for
    a body that is not a JSON object."""
    if request.content_type == "multipart/form-data":
        body: dict[str, Any] | None = None
        uploads: list[_Upload] = []
        for name, value in (await request.post()).items():
            if isinstance(value, web.FileField):
                uploads.append(_Upload(value.filename, value.file.read()))
            elif name == "payload_json":
                body = _json_object(value)
        return body, uploads
    raw = await request.read()
    return (_json_object(raw) if raw else None), []


def _json_object(raw: str | bytes | bytearray) -> dict[str, Any]:
    value = json.loads(raw)
    if not isinstance(value, dict):
        raise ValueError("not a JSON object")
    return value


def _error(
    status: int,
    code: int,
    *,
    message: str | None = None,
    errors: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> _Answer:
    body: dict[str, Any] = {
        "message": message or _ERROR_MESSAGES.get(code) or f"{status}: {_reason(status)}",
        "code": code,
    }
    if errors is not None:
        body["errors"] = errors
    return _Answer(status, body, headers or {})


def _form_error(key: str, code: str, message: str) -> _Answer:
    """50035 Invalid Form Body, naming the field and why, as Discord nests it."""
    return _error(HTTPStatus.BAD_REQUEST, 50035, errors={key: {"_errors": [{"code": code, "message": message}]}})


def _reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def _bucket_headers(route: str, *, remaining: int, reset_after: float) -> dict[str, str]:
    """Discord's per-route rate limit headers (a fixed limit of 5 the fake never enforces)."""
    return {
        "X-RateLimit-Bucket": hashlib.md5(route.encode()).hexdigest(),
        "X-RateLimit-Limit": "5",
        "X-RateLimit-Remaining": str(remaining),
        "X-RateLimit-Reset": f"{time.time() + reset_after:.3f}",
        "X-RateLimit-Reset-After": f"{reset_after:.3f}",
    }


def _content_type(filename: str) -> str:
    """Discord types an upload by its name (discord.py sends every file as octet-stream)."""
    return mimetypes.guess_type(filename)[0] or "application/octet-stream"


def _iso(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, UTC).isoformat(timespec="microseconds")


def _user_object(user_id: str, username: str, global_name: str | None) -> dict[str, Any]:
    return {
        "id": user_id,
        "username": username,
        "discriminator": "0",
        "global_name": global_name,
        "avatar": None,
        "avatar_decoration_data": None,
        "public_flags": 0,
    }


def _bot_user() -> dict[str, Any]:
    return _user_object(BOT_USER_ID, BOT_NAME, None) | {"discriminator": BOT_DISCRIMINATOR, "bot": True}


def _customer() -> dict[str, Any]:
    return _user_object(CUSTOMER_ID, CUSTOMER_NAME, CUSTOMER_GLOBAL_NAME)


def _partial(member: dict[str, Any]) -> dict[str, Any]:
    """A member without its `user`, as messages carry it beside the author."""
    return {key: value for key, value in member.items() if key != "user"}


def _role(role_id: str, name: str, position: int, permissions: int) -> dict[str, Any]:
    return {
        "id": role_id,
        "name": name,
        "permissions": str(permissions),
        "position": position,
        "color": 0,
        "colors": {"primary_color": 0, "secondary_color": None, "tertiary_color": None},
        "hoist": False,
        "icon": None,
        "unicode_emoji": None,
        "managed": False,
        "mentionable": False,
        "flags": 0,
    }


def _text_channel(channel_id: str, name: str, position: int, topic: str | None) -> dict[str, Any]:
    return {
        "id": channel_id,
        "type": _GUILD_TEXT,
        "guild_id": GUILD_ID,
        "name": name,
        "position": position,
        "permission_overwrites": [],
        "parent_id": None,
        "topic": topic,
        "nsfw": False,
        "last_message_id": None,
        "rate_limit_per_user": 0,
        "default_auto_archive_duration": 1440,
        "flags": 0,
    }
