"""A local fake of the Telegram Bot API and its file server, for pointing the real
python-telegram-bot `telegram.Bot` at.

`api = await fake.start()`, then `Bot(BOT_TOKEN, base_url=f"{api}/bot", base_file_url=f"{api}/file/bot")`
sends every call to `/bot{token}/{method}` here (method names match case-insensitively, as on
Telegram) and fetches files from `/file/bot{token}/{file_path}`. `Bot.initialize()` calls getMe,
so a bot used as `async with bot:` leaves a getMe in `calls` first.

What PTB 22 puts on the wire (`telegram/request/_httpxrequest.py`, `_requestparameter.py`): every
method is a POST with a form-encoded body (multipart only when it uploads a file). Every value
travels as a string: strings as given, everything else `json.dumps`ed, so ints arrive as `"42"`,
booleans as `"true"`, lists and objects as JSON text (`allowed_updates='["message"]'`,
`reply_parameters='{"message_id": 5}'`), datetimes as Unix seconds and timedeltas as seconds;
`None` arguments are left out. The fake records scalars as the strings that travelled
and decodes the JSON of the parameters whose Bot API type is an object or array
(`_JSON_PARAMS`), so tests assert `params["chat_id"] == "42"` and
`params["reply_parameters"] == {"message_id": 5}`. A JSON body (other clients) keeps its types.

Answers are Telegram's: `{"ok": true, "result": …}` with HTTP 200, failures
`{"ok": false, "error_code": N, "description": …, "parameters": {…}}` with HTTP N. PTB
(`telegram/request/_baserequest.py`) takes `result` from any 2xx without looking at `ok`; for a
failure it reads `parameters` first (`migrate_to_chat_id` → ChatMigrated, `retry_after` →
RetryAfter, whatever the status), then maps the status: 403 Forbidden, 401 and 404 InvalidToken
(so an unknown method looks like a bad token), 400 BadRequest, 409 Conflict, anything else
NetworkError, which is also what a non-JSON error body becomes. `TelegramError.message` drops a
leading "Bad Request: " and then capitalizes the rest ("Bad Request: file is too big" →
"File is too big"); `do_api_request` turns a 404 into EndPointNotFound. Tests script failures with
`fail_next`; a wrong token is answered 401 and still recorded.

getUpdates goes through its own one-connection pool per Bot (read timeout extended by `timeout`),
so two concurrent long polls, which Telegram answers by ending the older with 409, need two Bots.
"""

from __future__ import annotations

import asyncio
import copy
import hashlib
import html
import itertools
import json
import re
import time
from collections import defaultdict, deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any

from aiohttp import web

from core.sandbox.stand_in import Answer, StandIn

BOT_TOKEN = "123456:TEST-supporthub-token"
BOT_ID = 123456
BOT_USERNAME = "supporthub_test_bot"
FIRST_UPDATE_ID = 100_000_001
"""The first update_id `push_update` hands out; Telegram's are large, increasing integers."""
FIRST_MESSAGE_ID = 1001
"""The first message_id of the bot's own messages, clear of the builders' default of 1."""
MAX_MESSAGE_LENGTH = 4096
"""sendMessage's limit, in characters after entity parsing (HTML tags do not count)."""
MAX_DOWNLOAD_SIZE = 20 * 1024 * 1024
"""getFile refuses bigger files: bots cannot download more than 20 MB from the cloud Bot API."""

BOT_USER: dict[str, Any] = {
    "id": BOT_ID,
    "is_bot": True,
    "first_name": "Supporthub Test",
    "username": BOT_USERNAME,
}

_JSON_PARAMS = frozenset(
    {
        "allowed_updates",
        "caption_entities",
        "commands",
        "entities",
        "link_preview_options",
        "media",
        "menu_button",
        "message_ids",
        "options",
        "permissions",
        "reaction",
        "reply_markup",
        "reply_parameters",
        "results",
        "scope",
    }
)
_SECRET_TOKEN = re.compile(r"[A-Za-z0-9_-]{1,256}")
_WEBHOOK_CONFLICT = (
    "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first"
)
_POLL_CONFLICT = "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running"
_HTML_TAG = re.compile(r"<[^>]*>")


@dataclass(frozen=True, slots=True)
class RecordedCall:
    """One Bot API request as it crossed the wire (`params` merges query string and body) and
    what the fake answered: `status` and the JSON `response` (`{}` for a scripted HTML page)."""

    method: str
    """The canonical name (`sendMessage`) for known methods, else as written in the URL."""
    params: dict[str, Any]
    status: int
    response: dict[str, Any]
    at: float = field(default_factory=time.monotonic)
    """`time.monotonic()` when answered, so tests can measure waits such as Retry-After."""

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300 and self.response.get("ok") is True


@dataclass(frozen=True, slots=True)
class RecordedDownload:
    """One GET on the file server: `token_ok` when the URL carried the bot token, `served` when
    the bytes were sent (right token and a known path)."""

    path: str
    token_ok: bool
    served: bool
    at: float = field(default_factory=time.monotonic)


@dataclass(frozen=True, slots=True)
class _File:
    file_id: str
    file_unique_id: str
    data: bytes
    file_path: str
    file_size: int
    too_big: bool


@dataclass(slots=True)
class _Poll:
    """A getUpdates waiting for updates; a newer one marks it `superseded` and wakes it."""

    wake: asyncio.Event = field(default_factory=asyncio.Event)
    superseded: bool = False


Handler = Callable[[dict[str, Any]], Awaitable[Answer]]


class FakeBotApi(StandIn):
    """The Bot API for one bot (`BOT_TOKEN`, `BOT_ID`, `BOT_USERNAME`).

    State tests may read: `calls`, `downloads`, the webhook set by setWebhook (`webhook_url`, ""
    when none, `webhook_secret`, `webhook_allowed_updates`) and `chats`, the chats seen in pushed
    updates by id, which sendMessage answers echo (other chats are derived from the id: positive
    is private, `-100…` a supergroup, other negatives a group). The fake does not deliver updates
    to a webhook; they stay pending and count in getWebhookInfo.
    """

    cancels_handlers = True
    """A poller that hangs up (PTB cancelling get_updates on shutdown) ends its long poll
    unanswered and unrecorded, instead of lingering to be "terminated" by the next one."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[RecordedCall] = []
        self.downloads: list[RecordedDownload] = []
        self.chats: dict[int, dict[str, Any]] = {}
        self.webhook_url = ""
        self.webhook_secret: str | None = None
        self.webhook_allowed_updates: list[str] | None = None
        self._updates: list[dict[str, Any]] = []
        self._next_update_id = FIRST_UPDATE_ID
        self._message_ids = itertools.count(FIRST_MESSAGE_ID)
        self._file_numbers = itertools.count(1)
        self._files: dict[str, _File] = {}
        self._paths: dict[str, _File] = {}
        self._failures: defaultdict[str, deque[Answer]] = defaultdict(deque)
        self._poll: _Poll | None = None
        self._closing = False
        handlers: dict[str, Handler] = {
            "getMe": self._get_me,
            "sendMessage": self._send_message,
            "sendChatAction": self._send_chat_action,
            "getFile": self._get_file,
            "setWebhook": self._set_webhook,
            "getWebhookInfo": self._get_webhook_info,
            "deleteWebhook": self._delete_webhook,
            "getUpdates": self._get_updates,
        }
        self._methods = {name.lower(): (name, handler) for name, handler in handlers.items()}

    @property
    def api_url(self) -> str:
        """The API root, `http://127.0.0.1:PORT` once started."""
        return self.url

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_route("*", "/bot{token}/{method}", self._api)
        app.router.add_get("/file/bot{token}/{path:.+}", self._download)
        return app

    async def stop(self) -> None:
        """Answer a waiting getUpdates (with what is pending) and shut the server down."""
        self._closing = True
        if self._poll is not None:
            self._poll.wake.set()
        await super().stop()

    def calls_to(self, method: str) -> list[RecordedCall]:
        """Every request for `method` (any case), failed ones included, in the order answered."""
        wanted = method.lower()
        return [call for call in self.calls if call.method.lower() == wanted]

    def sent_texts(self, chat_id: int | None = None) -> list[str]:
        """The `text` of each sendMessage answered ok, optionally only those to `chat_id`."""
        return [
            str(call.params["text"])
            for call in self.calls_to("sendMessage")
            if call.ok and (chat_id is None or str(call.params.get("chat_id")) == str(chat_id))
        ]

    async def wait_for_calls(
        self, method: str, count: int, *, timeout: float = 10.0, ok_only: bool = True
    ) -> list[RecordedCall]:
        """Wait until at least `count` calls to `method` (only ok ones unless `ok_only=False`)
        were answered; returns all of them so far. On timeout, an AssertionError lists every call."""

        def matching() -> list[RecordedCall]:
            return [call for call in self.calls_to(method) if call.ok or not ok_only]

        def expected() -> str:
            seen = [(call.method, call.status, call.response.get("description")) for call in self.calls]
            kind = "ok " if ok_only else ""
            return f"expected {count} {kind}{method} call(s), got {len(matching())}; calls: {seen}"

        await self.wait_until(lambda: len(matching()) >= count, timeout=timeout, expected=expected)
        return matching()

    def add_file(
        self,
        file_id: str,
        data: bytes,
        *,
        file_path: str | None = None,
        file_size: int | None = None,
        too_big: bool = False,
    ) -> None:
        """Host `data` for getFile and the file server. `too_big` (or a `file_size` over 20 MB)
        makes getFile answer 400 "Bad Request: file is too big", as Telegram does."""
        number = next(self._file_numbers)
        size = len(data) if file_size is None else file_size
        unique = "AQAD" + hashlib.sha256(file_id.encode()).hexdigest()[:12]
        file = _File(
            file_id=file_id,
            file_unique_id=unique,
            data=data,
            file_path=file_path or f"documents/file_{number}",
            file_size=size,
            too_big=too_big or size > MAX_DOWNLOAD_SIZE,
        )
        self._files[file_id] = file
        self._paths[file.file_path] = file

    def push_update(self, update: dict[str, Any]) -> int:
        """Queue a copy of `update` for getUpdates and wake a waiting long poll. Assigns the next
        `update_id` when it has none; returns the update_id."""
        stored = copy.deepcopy(update)
        update_id = int(stored.setdefault("update_id", self._next_update_id))
        self._next_update_id = max(self._next_update_id, update_id + 1)
        self._remember_chats(stored)
        self._updates.append(stored)
        self._updates.sort(key=lambda pending: int(pending["update_id"]))
        if self._poll is not None:
            self._poll.wake.set()
        return update_id

    def fail_next(
        self,
        method: str,
        status: int,
        *,
        description: str | None = None,
        retry_after: int | None = None,
        migrate_to_chat_id: int | None = None,
        times: int = 1,
        html_body: bool = False,
    ) -> None:
        """The next `times` calls to `method` fail with HTTP `status` and change nothing.

        The description defaults to Telegram's usual one for the status: 429 "Too Many Requests:
        retry after N" (N = `retry_after`, default 1), 403 "Forbidden: bot was blocked by the
        user", 400 "Bad Request: chat not found" (or "…group chat was upgraded to a supergroup
        chat" with `migrate_to_chat_id`), else the HTTP reason ("Internal Server Error",
        "Bad Gateway"). `retry_after` and `migrate_to_chat_id` go into `parameters`.
        `html_body=True` answers a proxy's HTML error page instead of JSON.
        """
        if status == HTTPStatus.TOO_MANY_REQUESTS and retry_after is None:
            retry_after = 1
        if html_body:
            title = description or f"{status} {_reason(status)}"
            page = f"<html><head><title>{title}</title></head><body><center><h1>{title}</h1></center></body></html>"
            answer = Answer(status, {}, page)
        else:
            parameters = {"retry_after": retry_after, "migrate_to_chat_id": migrate_to_chat_id}
            text = description or _default_description(status, retry_after, migrate_to_chat_id)
            answer = _error(status, text, {key: value for key, value in parameters.items() if value is not None})
        self._failures[method.lower()].extend([answer] * times)

    async def _api(self, request: web.Request) -> web.Response:
        written = request.match_info["method"]
        method, handler = self._methods.get(written.lower(), (written, None))
        params = await _params(request)
        if request.match_info["token"] != BOT_TOKEN:
            answer = _error(HTTPStatus.UNAUTHORIZED, "Unauthorized")
        elif handler is None:
            answer = _error(HTTPStatus.NOT_FOUND, "Not Found")
        elif self._failures[method.lower()]:
            answer = self._failures[method.lower()].popleft()
        else:
            answer = await handler(params)
        self.calls.append(RecordedCall(method, params, answer.status, answer.body))
        await self.recorded()
        return answer.response()

    async def _download(self, request: web.Request) -> web.Response:
        path = request.match_info["path"]
        token_ok = request.match_info["token"] == BOT_TOKEN
        file = self._paths.get(path) if token_ok else None
        self.downloads.append(RecordedDownload(path, token_ok, served=file is not None))
        if not token_ok:
            return _error(HTTPStatus.UNAUTHORIZED, "Unauthorized").response()
        if file is None:
            return _error(HTTPStatus.NOT_FOUND, "Not Found").response()
        return web.Response(body=file.data, content_type="application/octet-stream")

    def _remember_chats(self, update: dict[str, Any]) -> None:
        for value in update.values():
            if isinstance(value, dict):
                for message in (value, value.get("message")):
                    if isinstance(message, dict) and isinstance(message.get("chat"), dict):
                        self.chats[int(message["chat"]["id"])] = message["chat"]

    def _chat(self, chat_id: int) -> dict[str, Any]:
        if chat_id in self.chats:
            return dict(self.chats[chat_id])
        if chat_id > 0:
            return {"id": chat_id, "type": "private", "first_name": "Ada"}
        kind = "supergroup" if str(chat_id).startswith("-100") else "group"
        return {"id": chat_id, "type": kind, "title": "Supporthub Customers"}

    async def _get_me(self, _: dict[str, Any]) -> Answer:
        return _ok(
            BOT_USER
            | {
                "can_join_groups": True,
                "can_read_all_group_messages": False,
                "supports_inline_queries": False,
                "can_connect_to_business": False,
                "has_main_web_app": False,
            }
        )

    async def _send_message(self, params: dict[str, Any]) -> Answer:
        chat_id, text = params.get("chat_id", ""), str(params.get("text", ""))
        if chat_id in ("", None):
            return _error(HTTPStatus.BAD_REQUEST, "Bad Request: chat_id is empty")
        if not _is_int(chat_id):
            return _error(HTTPStatus.BAD_REQUEST, "Bad Request: chat not found")
        if not text:
            return _error(HTTPStatus.BAD_REQUEST, "Bad Request: message text is empty")
        if _visible_length(text, params.get("parse_mode")) > MAX_MESSAGE_LENGTH:
            return _error(HTTPStatus.BAD_REQUEST, "Bad Request: message is too long")
        chat = self._chat(int(chat_id))
        message: dict[str, Any] = {
            "message_id": next(self._message_ids),
            "from": BOT_USER,
            "chat": chat,
            "date": int(time.time()),
            "text": text,
        }
        if _is_int(params.get("message_thread_id")):
            message["message_thread_id"] = int(params["message_thread_id"])
            if chat.get("is_forum"):
                message["is_topic_message"] = True
        markup = params.get("reply_markup")
        if isinstance(markup, dict) and "inline_keyboard" in markup:
            message["reply_markup"] = markup
        return _ok(message)

    async def _send_chat_action(self, params: dict[str, Any]) -> Answer:
        if params.get("chat_id", "") in ("", None):
            return _error(HTTPStatus.BAD_REQUEST, "Bad Request: chat_id is empty")
        return _ok(True)

    async def _get_file(self, params: dict[str, Any]) -> Answer:
        file = self._files.get(str(params.get("file_id", "")))
        if file is None:
            return _error(HTTPStatus.BAD_REQUEST, "Bad Request: invalid file_id")
        if file.too_big:
            return _error(HTTPStatus.BAD_REQUEST, "Bad Request: file is too big")
        return _ok(
            {
                "file_id": file.file_id,
                "file_unique_id": file.file_unique_id,
                "file_size": file.file_size,
                "file_path": file.file_path,
            }
        )

    async def _set_webhook(self, params: dict[str, Any]) -> Answer:
        """An empty url removes the webhook; allowed_updates left out keeps the previous list."""
        url = str(params.get("url", ""))
        secret = params.get("secret_token")
        if url and not url.startswith("https://"):
            return _error(HTTPStatus.BAD_REQUEST, "Bad Request: bad webhook: An HTTPS URL must be provided for webhook")
        if secret is not None and not _SECRET_TOKEN.fullmatch(str(secret)):
            return _error(HTTPStatus.BAD_REQUEST, "Bad Request: secret token contains unallowed characters")
        self.webhook_url = url
        self.webhook_secret = str(secret) if secret is not None and url else None
        if isinstance(params.get("allowed_updates"), list):
            self.webhook_allowed_updates = [str(kind) for kind in params["allowed_updates"]]
        if _flag(params.get("drop_pending_updates")):
            self._updates.clear()
        return _ok(True, description="Webhook was set" if url else "Webhook was deleted")

    async def _get_webhook_info(self, _: dict[str, Any]) -> Answer:
        info: dict[str, Any] = {
            "url": self.webhook_url,
            "has_custom_certificate": False,
            "pending_update_count": len(self._updates),
        }
        if self.webhook_allowed_updates is not None:
            info["allowed_updates"] = self.webhook_allowed_updates
        return _ok(info)

    async def _delete_webhook(self, params: dict[str, Any]) -> Answer:
        was_set = bool(self.webhook_url)
        self.webhook_url, self.webhook_secret = "", None
        if _flag(params.get("drop_pending_updates")):
            self._updates.clear()
        return _ok(True, description="Webhook was deleted" if was_set else "Webhook is already deleted")

    async def _get_updates(self, params: dict[str, Any]) -> Answer:
        """Confirm below `offset`, then long-poll up to `timeout` seconds for anything pending.
        A newer getUpdates ends a waiting one with 409, as Telegram does."""
        if self.webhook_url:
            return _error(HTTPStatus.CONFLICT, _WEBHOOK_CONFLICT)
        try:
            offset = int(params.get("offset", 0))
            limit = min(max(int(params.get("limit", 100)), 1), 100)
            timeout = max(float(params.get("timeout", 0)), 0.0)
        except ValueError as exc:
            return _error(HTTPStatus.BAD_REQUEST, f"Bad Request: {exc}")
        if offset > 0:
            self._updates = [update for update in self._updates if int(update["update_id"]) >= offset]
        elif offset < 0:
            self._updates = self._updates[offset:]
        if self._poll is not None:
            self._poll.superseded = True
            self._poll.wake.set()
        poll = self._poll = _Poll()
        try:
            async with asyncio.timeout(timeout):
                while not self._updates and not self._closing:
                    await poll.wake.wait()
                    poll.wake.clear()
                    if poll.superseded:
                        return _error(HTTPStatus.CONFLICT, _POLL_CONFLICT)
        except TimeoutError:
            pass
        finally:
            if self._poll is poll:
                self._poll = None
        return _ok(copy.deepcopy(self._updates[:limit]))


async def _params(request: web.Request) -> dict[str, Any]:
    """Query string plus body (form, multipart or JSON); uploaded files become their bytes."""
    params: dict[str, Any] = dict(request.query)
    if request.content_type == "application/json":
        body = await request.json()
        if isinstance(body, dict):
            params.update(body)
    elif request.content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
        for key, value in (await request.post()).items():
            params[key] = value.file.read() if isinstance(value, web.FileField) else value
    return {key: _decoded(key, value) for key, value in params.items()}


def _decoded(key: str, value: Any) -> Any:
    if key not in _JSON_PARAMS or not isinstance(value, str):
        return value
    try:
        return json.loads(value)
    except ValueError:
        return value


def _ok(result: Any, *, description: str | None = None) -> Answer:
    body: dict[str, Any] = {"ok": True, "result": result}
    if description is not None:
        body["description"] = description
    return Answer(int(HTTPStatus.OK), body)


def _error(status: int, description: str, parameters: dict[str, int] | None = None) -> Answer:
    body: dict[str, Any] = {"ok": False, "error_code": int(status), "description": description}
    if parameters:
        body["parameters"] = parameters
    return Answer(int(status), body)


def _default_description(status: int, retry_after: int | None, migrate_to_chat_id: int | None) -> str:
    if migrate_to_chat_id is not None:
        return "Bad Request: group chat was upgraded to a supergroup chat"
    if status == HTTPStatus.TOO_MANY_REQUESTS:
        return f"Too Many Requests: retry after {retry_after}"
    if status == HTTPStatus.FORBIDDEN:
        return "Forbidden: bot was blocked by the user"
    if status == HTTPStatus.BAD_REQUEST:
        return "Bad Request: chat not found"
    return _reason(status)


def _reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def _is_int(value: Any) -> bool:
    return isinstance(value, int) or (isinstance(value, str) and re.fullmatch(r"-?\d+", value) is not None)


def _flag(value: Any) -> bool:
    return value is True or (isinstance(value, str) and value.lower() in ("true", "1"))


def _visible_length(text: str, parse_mode: Any) -> int:
    """Characters left after entity parsing: HTML tags and escapes do not count. Markdown is
    counted raw, slightly stricter than Telegram."""
    if str(parse_mode).upper() == "HTML":
        return len(html.unescape(_HTML_TAG.sub("", text)))
    return len(text)
