"""A local fake of Slack's Web API and file server, for pointing the real `slack_sdk`
`AsyncWebClient` (and Bolt) at.

`AsyncWebClient(token=BOT_TOKEN, base_url=await fake.start())` sends every call to
`/api/{method}` here. The SDK spreads arguments over three places depending on the method:
`chat.*` send a JSON body, `auth.test` and `reactions.add` POST an empty form body with the
arguments in the query string, `users.info` and `conversations.info` are GETs. The fake merges
query string and body into one `body` dict per recorded call (query and form values arrive as
strings; JSON keeps its types), so tests assert on arguments without caring how they travelled.

Like Slack, API errors come back as HTTP 200 with `{"ok": false, "error": …}`; a missing token
is `not_authed`, a wrong one `invalid_auth`. Tests script further failures with `fail_next`.
Files added with `add_file` are served at their `url_private` only to the bot token; anyone else
gets a 403 HTML login page, so a downloader that forgets the header is caught.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from collections import defaultdict, deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from aiohttp import web
from multidict import CIMultiDict, CIMultiDictProxy

from core.sandbox.stand_in import StandIn

BOT_TOKEN = "xoxb-1-supporthub-test"
TEAM_ID = "T1"
BOT_USER_ID = "UBOT"
BOT_ID = "BBOT"
APP_ID = "A1"

_DEFAULT_ERRORS = {200: "fatal_error", 429: "ratelimited"}
_LOGIN_PAGE = "<!DOCTYPE html><html><head><title>Slack</title></head><body>Sign in to Slack</body></html>"


@dataclass(frozen=True, slots=True)
class RecordedCall:
    """One Web API request as it crossed the wire (`body` merges query string and body) and
    what the fake answered (`status`, `response`), so tests can tell delivered calls from
    refused ones without the fake adding keys to the body."""

    method: str
    headers: Mapping[str, str]
    body: dict[str, Any]
    status: int
    response: dict[str, Any]


@dataclass(frozen=True, slots=True)
class RecordedDownload:
    """One GET on a file URL: `authorized` when it carried the bot token, `served` when the
    bytes were sent (authorized and the file exists)."""

    file_id: str
    headers: Mapping[str, str]
    authorized: bool
    served: bool


@dataclass(frozen=True, slots=True)
class _Failure:
    status: int
    error: str
    retry_after: int | None
    page: str | None
    page_type: str


@dataclass(frozen=True, slots=True)
class _Answer:
    body: dict[str, Any]
    status: int = 200
    headers: Mapping[str, str] | None = None
    page: str | None = None
    """Sent instead of `body` (which is what `requests` records), as `page_type`."""
    page_type: str = "text/html"


@dataclass(frozen=True, slots=True)
class _File:
    name: str
    content: bytes
    mimetype: str


Handler = Callable[[dict[str, Any]], dict[str, Any]]


class FakeSlack(StandIn):
    """Slack's Web API for one workspace (`TEAM_ID`) with one bot (`BOT_USER_ID`/`BOT_ID`).

    Scripting and state tests may touch directly: `users[user_id]` (the user `users.info`
    returns, merged over defaults: `{"real_name": …, "profile": {"email": …}}`; unknown users
    are `user_not_found`) and `channels[channel_id]` (overrides for `conversations.info`, which
    otherwise derives a channel from the id's prefix: `D…` an IM, `G…` private, else public).
    """

    def __init__(self, *, token: str = BOT_TOKEN) -> None:
        super().__init__()
        self.token = token
        self.requests: list[RecordedCall] = []
        self.downloads: list[RecordedDownload] = []
        self.users: dict[str, dict[str, Any]] = {}
        self.channels: dict[str, dict[str, Any]] = {}
        self._failures: defaultdict[str, deque[_Failure]] = defaultdict(deque)
        self._last_ts = 0
        self._file_ids = itertools.count(1)
        self._files: dict[str, _File] = {}
        self._messages: dict[tuple[str, str], dict[str, Any]] = {}
        self._reactions: set[tuple[str, str, str]] = set()
        self._methods: dict[str, Handler] = {
            "auth.test": self._auth_test,
            "chat.postMessage": self._post_message,
            "chat.update": self._update,
            "chat.postEphemeral": self._post_ephemeral,
            "reactions.add": self._add_reaction,
            "conversations.info": self._conversation_info,
            "users.info": self._user_info,
            "conversations.history": self._history,
            "conversations.replies": self._replies,
        }
        self.download_gate = asyncio.Event()
        """Cleared by a test to hold file downloads (a slow file host) until it is set again."""
        self.download_gate.set()

    @property
    def root(self) -> str:
        """`http://127.0.0.1:PORT` once started, where file URLs live."""
        return self.url

    @property
    def base_url(self) -> str:
        """`http://127.0.0.1:PORT/api/` once started, the base URL to give the client."""
        return f"{self.url}/api/" if self.url else ""

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_route("*", "/api/{method}", self._api)
        app.router.add_get("/files/{file_id}/{name}", self._download)
        return app

    async def start(self) -> str:
        """Serve on 127.0.0.1 at a free port; the base URL to give the client (…/api/)."""
        await super().start()
        return self.base_url

    def calls(self, method: str) -> list[dict[str, Any]]:
        """The bodies of every request received for `method`, failed ones included, in order."""
        return [call.body for call in self.requests if call.method == method]

    def delivered(self, method: str) -> list[dict[str, Any]]:
        """The bodies of the requests for `method` that the fake answered `ok`."""
        return [call.body for call in self.requests if call.method == method and call.response["ok"]]

    def received_request_count(self, method: str) -> int:
        return sum(1 for call in self.requests if call.method == method)

    def fail_next(
        self,
        method: str,
        *,
        status: int = 200,
        error: str | None = None,
        retry_after: int | None = None,
        page: str | None = None,
        page_type: str = "text/html",
    ) -> None:
        """The next call to `method` fails and changes nothing; calls queue up in order.

        `status=429` answers HTTP 429 with `Retry-After: retry_after` (default 1) and error
        `ratelimited`; a 5xx answers `internal_error`; the default 200 answers Slack's usual
        in-band failure, `error` naming it (e.g. `"channel_not_found"`, `"not_in_channel"`).
        `page` answers that text instead of JSON, as a proxy in the way does (a 502 page), with
        the content type `page_type` (a gateway may keep the API's `application/json`).
        """
        if status == 429 and retry_after is None:
            retry_after = 1
        default = _DEFAULT_ERRORS.get(status, "internal_error")
        self._failures[method].append(_Failure(status, error or default, retry_after, page, page_type))

    def add_file(self, name: str, content: bytes, mimetype: str) -> dict[str, Any]:
        """Host `content` and return the file object as it appears in a message event's `files`."""
        if not self.root:
            raise RuntimeError("FakeSlack.add_file needs the server started (its URLs name the port)")
        file_id = f"F{next(self._file_ids):09d}"
        self._files[file_id] = _File(name, content, mimetype)
        url = f"{self.root}/files/{file_id}/{quote(name)}"
        created = int(time.time())
        return {
            "id": file_id,
            "created": created,
            "timestamp": created,
            "name": name,
            "title": name,
            "mimetype": mimetype,
            "filetype": name.rpartition(".")[2].lower() if "." in name else "binary",
            "size": len(content),
            "mode": "hosted",
            "is_external": False,
            "is_public": False,
            "url_private": url,
            "url_private_download": url,
            "permalink": f"https://supporthub-test.slack.com/files/{BOT_USER_ID}/{file_id}/{quote(name)}",
        }

    async def _api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        headers = CIMultiDictProxy(CIMultiDict(request.headers))
        arguments = await _arguments(request)
        answer = self._answer(method, headers, arguments)
        self.requests.append(RecordedCall(method, headers, arguments, answer.status, answer.body))
        await self.recorded()
        if answer.page is not None:
            return web.Response(text=answer.page, status=answer.status, content_type=answer.page_type)
        return web.json_response(answer.body, status=answer.status, headers=answer.headers)

    def _answer(self, method: str, headers: Mapping[str, str], arguments: dict[str, Any]) -> _Answer:
        handler = self._methods.get(method)
        if handler is None:
            return _Answer(_error("unknown_method"))
        authorization = headers.get("Authorization")
        if authorization is None:
            return _Answer(_error("not_authed"))
        if authorization != f"Bearer {self.token}":
            return _Answer(_error("invalid_auth"))
        if self._failures[method]:
            failure = self._failures[method].popleft()
            retry = {"Retry-After": str(failure.retry_after)} if failure.retry_after is not None else None
            return _Answer(_error(failure.error), failure.status, retry, failure.page, failure.page_type)
        return _Answer(handler(arguments))

    async def _download(self, request: web.Request) -> web.Response:
        file_id = request.match_info["file_id"]
        headers = CIMultiDictProxy(CIMultiDict(request.headers))
        file = self._files.get(file_id)
        authorized = headers.get("Authorization") == f"Bearer {self.token}"
        found = file is not None and request.match_info["name"] == file.name
        self.downloads.append(RecordedDownload(file_id, headers, authorized, served=authorized and found))
        await self.download_gate.wait()
        if not authorized:
            return web.Response(status=403, text=_LOGIN_PAGE, content_type="text/html")
        if file is None or not found:
            return web.Response(status=404, text="File not found", content_type="text/plain")
        return web.Response(body=file.content, content_type=file.mimetype)

    def _next_ts(self) -> str:
        """Slack's message ids are its clock's time, unique per channel: now, or just after the last."""
        micros = self._last_ts = max(self._last_ts + 100, time.time_ns() // 1000)
        return f"{micros // 1_000_000}.{micros % 1_000_000:06d}"

    def _auth_test(self, _: dict[str, Any]) -> dict[str, Any]:
        return {
            "ok": True,
            "url": "https://supporthub-test.slack.com/",
            "team": "T",
            "user": "supporthub",
            "team_id": TEAM_ID,
            "user_id": BOT_USER_ID,
            "bot_id": BOT_ID,
            "is_enterprise_install": False,
        }

    def _post_message(self, body: dict[str, Any]) -> dict[str, Any]:
        if not body.get("channel"):
            return _error("channel_not_found")
        if not (body.get("text") or body.get("blocks") or body.get("attachments")):
            return _error("no_text")
        ts = self._next_ts()
        message = {
            "type": "message",
            "user": BOT_USER_ID,
            "bot_id": BOT_ID,
            "app_id": APP_ID,
            "team": TEAM_ID,
            "ts": ts,
            "text": body.get("text", ""),
        }
        for key in ("blocks", "thread_ts", "metadata"):
            if body.get(key):
                message[key] = json.loads(body[key]) if isinstance(body[key], str) and key == "metadata" else body[key]
        self._messages[(body["channel"], ts)] = message
        return {"ok": True, "channel": body["channel"], "ts": ts, "message": message}

    def _history(self, body: dict[str, Any]) -> dict[str, Any]:
        """The channel's top-level messages since `oldest`, newest first, in pages of `limit`
        (metadata only with `include_all_metadata`)."""
        channel, oldest = body.get("channel", ""), float(body.get("oldest") or 0)
        found = sorted(
            (
                m
                for (c, ts), m in self._messages.items()
                if c == channel and float(ts) >= oldest and "thread_ts" not in m
            ),
            key=lambda m: float(m["ts"]),
            reverse=True,
        )
        return _page(found, body)

    def _replies(self, body: dict[str, Any]) -> dict[str, Any]:
        """A thread: its parent and its replies since `oldest`, oldest first, in pages of
        `limit` (metadata only with `include_all_metadata`)."""
        channel, parent, oldest = body.get("channel", ""), body.get("ts", ""), float(body.get("oldest") or 0)
        if (channel, parent) not in self._messages:
            return _error("thread_not_found")
        found = sorted(
            (
                m
                for (c, ts), m in self._messages.items()
                if c == channel and (ts == parent or (m.get("thread_ts") == parent and float(ts) >= oldest))
            ),
            key=lambda m: float(m["ts"]),
        )
        return _page(found, body)

    def _update(self, body: dict[str, Any]) -> dict[str, Any]:
        """Only messages this fake posted exist: the bot cannot edit anyone else's."""
        channel, ts = body.get("channel", ""), body.get("ts", "")
        message = self._messages.get((channel, ts))
        if message is None:
            return _error("message_not_found")
        message.update({key: body[key] for key in ("text", "blocks") if key in body})
        return {"ok": True, "channel": channel, "ts": ts, "text": message["text"], "message": message}

    def _post_ephemeral(self, body: dict[str, Any]) -> dict[str, Any]:
        if not body.get("channel"):
            return _error("channel_not_found")
        if not body.get("user"):
            return _error("user_not_in_channel")
        return {"ok": True, "message_ts": self._next_ts()}

    def _add_reaction(self, body: dict[str, Any]) -> dict[str, Any]:
        key = (body.get("channel", ""), body.get("timestamp", ""), body.get("name", ""))
        if not all(key):
            return _error("invalid_arguments")
        if key in self._reactions:
            return _error("already_reacted")
        self._reactions.add(key)
        return {"ok": True}

    def _conversation_info(self, body: dict[str, Any]) -> dict[str, Any]:
        channel_id = body.get("channel", "")
        if not channel_id:
            return _error("channel_not_found")
        is_im = channel_id.startswith("D")
        channel = {
            "id": channel_id,
            "created": 1_700_000_000,
            "is_channel": not is_im,
            "is_group": False,
            "is_im": is_im,
            "is_mpim": False,
            "is_private": is_im or channel_id.startswith("G"),
            "is_archived": False,
            "is_member": True,
            "context_team_id": TEAM_ID,
        }
        if not is_im:
            channel["name"] = channel_id.lower()
        return {"ok": True, "channel": channel | self.channels.get(channel_id, {})}

    def _user_info(self, body: dict[str, Any]) -> dict[str, Any]:
        user_id = body.get("user", "")
        configured = self.users.get(user_id)
        if configured is None:
            return _error("user_not_found")
        user: dict[str, Any] = {
            "id": user_id,
            "team_id": TEAM_ID,
            "name": user_id.lower(),
            "deleted": False,
            "is_bot": False,
            "real_name": "",
            "tz": "Europe/London",
        } | configured
        user["profile"] = {"real_name": user["real_name"], "display_name": ""} | configured.get("profile", {})
        return {"ok": True, "user": user}


async def _arguments(request: web.Request) -> dict[str, Any]:
    """Query string plus body: the SDK sends GET/`params=` methods in the query, `chat.*` as JSON."""
    arguments: dict[str, Any] = dict(request.query)
    if request.content_type == "application/json":
        arguments.update(await request.json())
    elif request.content_type == "application/x-www-form-urlencoded":
        arguments.update(await request.post())
    return arguments


def _page(found: list[dict[str, Any]], body: dict[str, Any]) -> dict[str, Any]:
    """One page of `limit` messages from `cursor`, as Slack pages a history or a thread
    (metadata only with `include_all_metadata`)."""
    with_metadata = str(body.get("include_all_metadata", "")).lower() in ("1", "true")
    start = int(body.get("cursor") or 0)
    limit = int(body.get("limit") or 100)
    page = [
        m if with_metadata else {k: v for k, v in m.items() if k != "metadata"} for m in found[start : start + limit]
    ]
    more = start + limit < len(found)
    return {
        "ok": True,
        "messages": page,
        "has_more": more,
        "response_metadata": {"next_cursor": str(start + limit) if more else ""},
    }


def _error(error: str) -> dict[str, Any]:
    return {"ok": False, "error": error}
