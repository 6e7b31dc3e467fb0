"""A local fake of Meta's Graph API for the Messenger Platform (Facebook Messenger, and Instagram
messaging, which speaks the same Send API), and the webhooks Meta posts to the hub, built and signed
the way Meta builds and signs them.

`api = await fake.start()` serves `http://127.0.0.1:PORT`; point the channel's `graph_url` at it
(with `graph_version = GRAPH_VERSION`). `FakeMessaging("messenger")` is the Facebook Page `PAGE_ID`
with the Page access token `PAGE_ACCESS_TOKEN`; `FakeMessaging("instagram")` is the Instagram
professional account `IG_ACCOUNT_ID` with `IG_ACCESS_TOKEN`.

What it answers, as the Graph API does (developers.facebook.com/docs/messenger-platform: "Send API",
"Sender Actions", "Messaging types", "Message tags", "Error codes"; .../instagram-platform:
"Instagram messaging"):

- `POST /{version}/{account}/messages` (or `/me/messages`) with `Authorization: Bearer <token>` and a JSON body. A
  sender action (`{"recipient": {"id"}, "sender_action": "mark_seen" | "typing_on" |
  "typing_off"}`) is answered `{"recipient_id"}` and kept in `actions`. A message
  (`{"recipient": {"id"}, "messaging_type", "tag"?, "message": {"text", "quick_replies"?}}`) is
  checked as Meta checks it (`messaging_type` RESPONSE, UPDATE or MESSAGE_TAG; a `tag` with
  MESSAGE_TAG only, HUMAN_AGENT on Instagram; text of at most `MAX_TEXT[platform]` characters;
  1–13 quick replies with titles of at most 20 characters and payloads of at most 1,000) and
  answered `{"recipient_id", "message_id"}`; its body is kept in `sent`.
- The messaging window: after `close_window(psid)` the customer last wrote more than 24 hours ago,
  and a message to them is refused (code 10, subcode 2018278) unless tagged HUMAN_AGENT and less
  than 7 days have passed (`close_window(psid, human_agent=False)`: more). `open_window(psid)`: the
  customer wrote again.
- `GET /{version}/{account}?fields=…` (or `/me`): the Page's `name`, or the Instagram account's
  `username` and `name` (those asked for) and `id`.
- `add_file` hosts a customer's attachment at a URL shaped like Meta's CDN
  (`/cdn/v/t1.15752-9/<name>?_nc_cat=1&oh=<signature>&oe=<expiry>`), which serves the bytes to
  anyone who brings the URL's own signature (no token: a hub should not send it there);
  `add_file(host="localhost")` puts it on another origin (one a hub must not fetch from). Every
  GET on it is in `downloads`, with whether it carried an Authorization header.

Refusals are Graph's error JSON, `{"error": {"message": "(#code) …", "type": "OAuthException",
"code", "error_subcode"?, "fbtrace_id"}}`: 401 code 190 without the token (the header only: the
fake takes no `access_token` query parameter, which would put the token in URLs and logs), 400 code
100 for an account, version or path it does not know or a parameter Meta would refuse, 400 code 10
outside the window. `fail_next(code, …)` makes the next POSTs to `/messages` fail so, with
Retry-After if asked.

Webhooks: the builders below return payloads exactly as Meta posts them (`"object": "page"` or
`"instagram"`, an entry per account with one `messaging` event); `combined` batches several into
one, as Meta does. `deliver(url, payload)` POSTs one with Meta's headers, signed
`X-Hub-Signature-256: sha256=<HMAC-SHA256 of the body with APP_SECRET>` (and the older SHA-1
`X-Hub-Signature`); `deliver(url, payload, forged=True)` signs it with another secret.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import mimetypes
import secrets
import time
from collections import deque
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any

import aiohttp
from aiohttp import hdrs, web

from core.sandbox.stand_in import Recorded, StandIn

GRAPH_VERSION = "v23.0"
PAGE_ID = "104511582359021"
PAGE_NAME = "Brightdesk Support"
PAGE_ACCESS_TOKEN = "EAAPagetokenfortestssupporthub0messenger"
IG_ACCOUNT_ID = "17841400008460056"
IG_USERNAME = "brightdesk.support"
IG_ACCESS_TOKEN = "IGQWRtesttokenforsupporthub0instagram"
APP_SECRET = "meta-messaging-test-app-secret"
VERIFY_TOKEN = "meta-messaging-test-verify-token"
CUSTOMER_PSID = "6573819240311845"
"""The customer's id as the account sees them: Page-scoped (PSID) or Instagram-scoped (IGSID)."""
APP_ID = 1517776481860111
"""The app an echo says sent the message."""
MAX_TEXT = {"messenger": 2000, "instagram": 1000}
MAX_QUICK_REPLIES = 13
MAX_QUICK_REPLY_TITLE = 20
MAX_QUICK_REPLY_PAYLOAD = 1000
TAGS = {
    "messenger": ("HUMAN_AGENT", "ACCOUNT_UPDATE", "CONFIRMED_EVENT_UPDATE", "POST_PURCHASE_UPDATE"),
    "instagram": ("HUMAN_AGENT",),
}
"""The message tags each platform takes with `messaging_type` MESSAGE_TAG."""
MESSAGING_TYPES = ("RESPONSE", "UPDATE", "MESSAGE_TAG")
SENDER_ACTIONS = ("mark_seen", "typing_on", "typing_off")
OUTSIDE_WINDOW = 2018278
"""The error subcode of a message sent outside the window (with code 10)."""

ERROR_TITLES = {
    2: "An unexpected error has occurred. Please retry your request later.",
    4: "Application request limit reached",
    10: "This message is sent outside of allowed window.",
    100: "Invalid parameter",
    190: "Invalid OAuth access token.",
    551: "This person isn't available right now.",
    613: "Calls to this API have exceeded the rate limit.",
    1200: "Temporary send message failure. Please try again later.",
}
"""Titles as Meta's Messenger "Error codes" page gives them; a Graph error's message is
"(#code) title", but for the generic error 2 and the token's 190, which Meta words bare."""
_BARE_TITLES = {2, 190}


@dataclass(frozen=True, slots=True, kw_only=True)
class RecordedCall(Recorded):
    """One Graph API request as it crossed the wire and what the fake answered. `body` is the JSON
    body (None for a GET), `query` the query string; `authorized` when it carried the Bearer token."""

    method: str
    path: str
    query: dict[str, str]
    body: dict[str, Any] | None
    authorized: bool

    @property
    def code(self) -> int | None:
        """The Graph error code, None for a success."""
        error = self.response.get("error")
        return error.get("code") if isinstance(error, dict) else None

    @property
    def subcode(self) -> int | None:
        """The Graph error's `error_subcode`, None for a success or an error without one."""
        error = self.response.get("error")
        return error.get("error_subcode") if isinstance(error, dict) else None


@dataclass(frozen=True, slots=True)
class RecordedDownload:
    """One GET on a CDN URL of `add_file`: `host` is the Host it was sent to, `authorized` whether
    it carried an Authorization header (any: a CDN has no use for one)."""

    path: str
    authorized: bool
    host: str
    status: int


@dataclass(frozen=True, slots=True)
class _Answer:
    status: int
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)

    def response(self) -> web.Response:
        headers = {"x-fb-trace-id": secrets.token_urlsafe(8), **self.headers}
        return web.json_response(self.body, status=self.status, headers=headers)


@dataclass(frozen=True, slots=True)
class _File:
    data: bytes
    mime_type: str
    signature: str
    """The URL's `oh`: the CDN serves the file only to a URL that carries it."""


class FakeMessaging(StandIn):
    """Meta's Graph API for one messaging account: the Facebook Page `PAGE_ID` (platform
    "messenger") or the Instagram account `IG_ACCOUNT_ID` ("instagram"), and its token.

    State tests may read: `calls` (every request, refused ones included), `sent` (the bodies of the
    messages accepted, in order), `actions` (the sender actions accepted), `downloads`. State tests
    may change: the window, through `close_window` and `open_window`.
    """

    def __init__(self, platform: str = "messenger") -> None:
        super().__init__()
        self.account_id = _account(platform)
        self.platform = platform
        self.access_token = PAGE_ACCESS_TOKEN if platform == "messenger" else IG_ACCESS_TOKEN
        self.calls: list[RecordedCall] = []
        self.sent: list[dict[str, Any]] = []
        self.actions: list[dict[str, Any]] = []
        self.downloads: list[RecordedDownload] = []
        self._files: dict[str, _File] = {}
        self._failures: deque[_Answer] = deque()
        self._closed: dict[str, bool] = {}
        """The customers whose window is closed, each with whether HUMAN_AGENT still reaches them."""

    @property
    def api_url(self) -> str:
        """The Graph API root, `http://127.0.0.1:PORT` once started."""
        return self.url

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/{version}/{node}/messages", self._messages)
        app.router.add_get("/{version}/{node}", self._node)
        app.router.add_get("/cdn/v/t1.15752-9/{name}", self._cdn)
        app.router.add_route("*", "/{tail:.*}", self._unknown)
        return app

    async def wait_for_sent(self, count: int, *, timeout: float = 30.0) -> list[dict[str, Any]]:
        """Wait until at least `count` messages were accepted; all of them so far. On timeout, an
        AssertionError lists every call."""
        await self._wait_for(self.sent, count, "message(s) sent", timeout)
        return list(self.sent)

    async def wait_for_actions(self, count: int, *, timeout: float = 30.0) -> list[dict[str, Any]]:
        """Wait until at least `count` sender actions were accepted; all of them so far. On
        timeout, an AssertionError lists every call."""
        await self._wait_for(self.actions, count, "sender action(s)", timeout)
        return list(self.actions)

    async def _wait_for(self, records: list[dict[str, Any]], count: int, what: str, timeout: float) -> None:
        def expected() -> str:
            seen = [(call.method, call.path, call.status, call.code) for call in self.calls]
            return f"expected {count} {what}, got {len(records)}: {seen}"

        await self.wait_until(lambda: len(records) >= count, timeout=timeout, expected=expected)

    def close_window(self, psid: str = CUSTOMER_PSID, *, human_agent: bool = True) -> None:
        """The customer `psid` last wrote more than 24 hours ago: a message to them is refused
        unless tagged HUMAN_AGENT, and that too when not `human_agent` (more than 7 days ago)."""
        self._closed[psid] = human_agent

    def open_window(self, psid: str = CUSTOMER_PSID) -> None:
        """The customer `psid` wrote again: any message reaches them."""
        self._closed.pop(psid, None)

    def fail_next(
        self,
        code: int,
        *,
        subcode: int | None = None,
        status: int = HTTPStatus.BAD_REQUEST,
        message: str | None = None,
        retry_after: int | None = None,
        times: int = 1,
    ) -> None:
        """The next `times` authorized POSTs to `/messages` (messages and sender actions) are
        answered `status` with Graph's error JSON for `code` and `subcode`, and send nothing. Its
        message is `message` as given, else Meta's for `code` ("(#code) title", `ERROR_TITLES`)."""
        headers = {"Retry-After": str(retry_after)} if retry_after is not None else {}
        answer = _error(status, code, message, subcode=subcode)
        self._failures.extend([_Answer(answer.status, answer.body, headers)] * times)

    def add_file(self, data: bytes, mime_type: str, *, host: str | None = None) -> str:
        """Host `data` as a customer's attachment; its CDN URL, as a webhook carries it (the fake
        must be started). `host` is the URL's host instead of 127.0.0.1 (another origin)."""
        if not self.port:
            raise RuntimeError("start the fake before adding files: their URLs name its port")
        extension = (mimetypes.guess_extension(mime_type.split(";")[0].strip()) or ".bin").removeprefix(".")
        name = f"{secrets.randbelow(10**9)}_{secrets.randbelow(10**16)}_{secrets.randbelow(10**19)}_n.{extension}"
        signature = "03_" + secrets.token_urlsafe(24)
        self._files[name] = _File(data, mime_type, signature)
        expiry = format(int(time.time()) + 7 * 24 * 3600, "X")
        return (
            f"http://{host or '127.0.0.1'}:{self.port}/cdn/v/t1.15752-9/{name}"
            f"?_nc_cat=1&ccb=1-7&_nc_sid=fc17b8&oh={signature}&oe={expiry}"
        )

    # -- handlers ----------------------------------------------------------------------------

    async def _messages(self, request: web.Request) -> web.Response:
        body = await _json_body(request)
        authorized = self._authorized(request)
        if not authorized:
            answer = _error(HTTPStatus.UNAUTHORIZED, 190)
        elif request.match_info["version"] != GRAPH_VERSION:
            answer = _unknown_path(request.path)
        elif request.match_info["node"] not in (self.account_id, "me"):
            answer = _unknown_node(request.match_info["node"], "post")
        elif body is None:
            answer = _invalid("The request body is not a JSON object.")
        elif self._failures:
            answer = self._failures.popleft()
        elif "sender_action" in body:
            answer = self._act(body)
        else:
            answer = self._accept(body)
        return await self._record(request, body, authorized, answer)

    def _act(self, body: dict[str, Any]) -> _Answer:
        refusal = _action_refusal(body)
        if refusal is not None:
            return _invalid(refusal)
        self.actions.append(body)
        return _Answer(HTTPStatus.OK, {"recipient_id": body["recipient"]["id"]})

    def _accept(self, body: dict[str, Any]) -> _Answer:
        refusal = _message_refusal(body, self.platform)
        if refusal is not None:
            return _invalid(refusal)
        psid = body["recipient"]["id"]
        if psid in self._closed:
            human_agent = body["messaging_type"] == "MESSAGE_TAG" and body["tag"] == "HUMAN_AGENT"
            if not (human_agent and self._closed[psid]):
                return _error(HTTPStatus.BAD_REQUEST, 10, subcode=OUTSIDE_WINDOW)
        self.sent.append(body)
        return _Answer(HTTPStatus.OK, {"recipient_id": psid, "message_id": new_mid(self.platform)})

    async def _node(self, request: web.Request) -> web.Response:
        node = request.match_info["node"]
        authorized = self._authorized(request)
        if not authorized:
            answer = _error(HTTPStatus.UNAUTHORIZED, 190)
        elif request.match_info["version"] != GRAPH_VERSION:
            answer = _unknown_path(request.path)
        elif node in (self.account_id, "me"):
            answer = self._account_node(request.query.get("fields"))
        else:
            answer = _unknown_node(node, "get")
        return await self._record(request, None, authorized, answer)

    def _account_node(self, fields: str | None) -> _Answer:
        """The account's node with the `fields` asked for (comma-separated; Graph's default when
        None), or Graph's refusal of a field the node does not have."""
        if self.platform == "messenger":
            node_type, known, default = "Page", {"name": PAGE_NAME}, "name"
        else:
            node_type, known, default = "IGUser", {"username": IG_USERNAME, "name": PAGE_NAME}, "username"
        asked = [name.strip() for name in (fields or default).split(",") if name.strip() and name.strip() != "id"]
        unknown = next((name for name in asked if name not in known), None)
        if unknown is not None:
            return _invalid(f"Tried accessing nonexisting field ({unknown}) on node type ({node_type})")
        return _Answer(HTTPStatus.OK, {name: known[name] for name in asked} | {"id": self.account_id})

    async def _cdn(self, request: web.Request) -> web.Response:
        file = self._files.get(request.match_info["name"])
        if file is None:
            response = web.Response(status=HTTPStatus.NOT_FOUND, text="Not Found")
        elif not secrets.compare_digest(request.query.get("oh", ""), file.signature):
            response = web.Response(status=HTTPStatus.FORBIDDEN, text="URL signature mismatch")
        else:
            response = web.Response(body=file.data, content_type=file.mime_type.split(";")[0])
        authorized = hdrs.AUTHORIZATION in request.headers
        self.downloads.append(RecordedDownload(request.path, authorized, request.host, response.status))
        return response

    async def _unknown(self, request: web.Request) -> web.Response:
        body = await _json_body(request) if request.method == "POST" else None
        return await self._record(request, body, self._authorized(request), _unknown_path(request.path))

    async def _record(
        self, request: web.Request, body: dict[str, Any] | None, authorized: bool, answer: _Answer
    ) -> web.Response:
        call = RecordedCall(
            method=request.method,
            path=request.path,
            query=dict(request.query),
            body=body,
            authorized=authorized,
            status=answer.status,
            response=answer.body,
        )
        self.calls.append(call)
        await self.recorded()
        return answer.response()

    def _authorized(self, request: web.Request) -> bool:
        scheme, _, token = request.headers.get(hdrs.AUTHORIZATION, "").partition(" ")
        return scheme.lower() == "bearer" and secrets.compare_digest(token.strip(), self.access_token)


def _recipient_refusal(body: dict[str, Any]) -> str | None:
    recipient = body.get("recipient")
    psid = recipient.get("id") if isinstance(recipient, dict) else None
    if not isinstance(psid, str) or not psid.isdigit():
        return 'Param recipient[id] must be a valid ID string (e.g., "123")'
    return None


def _action_refusal(body: dict[str, Any]) -> str | None:
    """Why the Send API would refuse this sender action (a code 100 message's details), or None."""
    if "message" in body:
        return "Param sender_action cannot be sent with a message."
    if body["sender_action"] not in SENDER_ACTIONS:
        return f"Param sender_action must be one of {{{', '.join(SENDER_ACTIONS)}}}"
    return _recipient_refusal(body)


def _message_refusal(body: dict[str, Any], platform: str) -> str | None:
    """Why the Send API would refuse this message (a code 100 message's details), or None."""
    kind, tag, message = body.get("messaging_type"), body.get("tag"), body.get("message")
    text = message.get("text") if isinstance(message, dict) else None
    if (refusal := _recipient_refusal(body)) is not None:
        return refusal
    if kind not in MESSAGING_TYPES:
        return f"Param messaging_type must be one of {{{', '.join(MESSAGING_TYPES)}}}"
    if kind == "MESSAGE_TAG" and tag not in TAGS[platform]:
        return f"Param tag must be one of {{{', '.join(TAGS[platform])}}}"
    if kind != "MESSAGE_TAG" and tag is not None:
        return "Param tag is only allowed with messaging_type MESSAGE_TAG"
    if not isinstance(message, dict):
        return "Param message must be a JSON object"
    if not isinstance(text, str) or not text:
        return "Param message[text] must be a non-empty UTF-8 encoded string"
    if len(text) > MAX_TEXT[platform]:
        return f"Length of param message[text] must be less than or equal to {MAX_TEXT[platform]}"
    if "quick_replies" in message:
        return _quick_replies_refusal(message["quick_replies"])
    return None


def _quick_replies_refusal(replies: Any) -> str | None:
    if not isinstance(replies, list) or not 1 <= len(replies) <= MAX_QUICK_REPLIES:
        return f"Param message[quick_replies] must be an array of 1 to {MAX_QUICK_REPLIES} elements"
    for index, reply in enumerate(replies):
        param = f"message[quick_replies][{index}]"
        if not isinstance(reply, dict) or reply.get("content_type") != "text":
            return f"Param {param}[content_type] must be text"
        title, payload = reply.get("title"), reply.get("payload")
        if not isinstance(title, str) or not 0 < len(title) <= MAX_QUICK_REPLY_TITLE:
            return f"Param {param}[title] must be a non-empty string of at most {MAX_QUICK_REPLY_TITLE} characters"
        if not isinstance(payload, str) or not 0 < len(payload) <= MAX_QUICK_REPLY_PAYLOAD:
            return f"Param {param}[payload] must be a non-empty string of at most {MAX_QUICK_REPLY_PAYLOAD} characters"
    return None


def _error(
    status: int, code: int, message: str | None = None, *, subcode: int | None = None, kind: str = "OAuthException"
) -> _Answer:
    """Graph's error JSON for `code`: `message` as given, else Meta's message for the code."""
    if message is None:
        title = ERROR_TITLES.get(code, HTTPStatus(status).phrase)
        message = title if code in _BARE_TITLES else f"(#{code}) {title}"
    error: dict[str, Any] = {"message": message, "type": kind, "code": code}
    if subcode is not None:
        error["error_subcode"] = subcode
    error["fbtrace_id"] = secrets.token_urlsafe(16)
    return _Answer(int(status), {"error": error})


def _invalid(details: str) -> _Answer:
    return _error(HTTPStatus.BAD_REQUEST, 100, f"(#100) {details}")


def _unknown_node(node: str, method: str) -> _Answer:
    """Graph's answer for a node that is not this account's (or that its token cannot see)."""
    message = (
        f"Unsupported {method} request. Object with ID '{node}' does not exist, cannot be loaded due to missing "
        "permissions, or does not support this operation. Please read the Graph API documentation at "
        "https://developers.facebook.com/docs/graph-api"
    )
    return _error(HTTPStatus.BAD_REQUEST, 100, message, subcode=33, kind="GraphMethodException")


def _unknown_path(path: str) -> _Answer:
    return _error(HTTPStatus.BAD_REQUEST, 100, f"Unknown path components: {path}")


async def _json_body(request: web.Request) -> dict[str, Any] | None:
    try:
        body = json.loads(await request.read())
    except ValueError:
        return None
    return body if isinstance(body, dict) else None


def _account(platform: str) -> str:
    """The account node `platform` messages go through (ValueError for neither platform)."""
    accounts = {"messenger": PAGE_ID, "instagram": IG_ACCOUNT_ID}
    if platform not in accounts:
        raise ValueError(f"platform is messenger or instagram, not {platform!r}")
    return accounts[platform]


def new_mid(platform: str = "messenger") -> str:
    """A message id shaped like Meta's: "m_" and a url-safe token on Messenger; on Instagram,
    the base64 of an "ig_message_item" key Meta's ids start with ("aWdfZAG1faXRlbTox…")."""
    if platform == "instagram":
        key = f"{IG_ACCOUNT_ID}:{secrets.randbelow(10**39)}:{secrets.randbelow(10**19)}"
        return "aWdfZAG1faXRlbToxOklHTWVzc2FnZAU" + base64.urlsafe_b64encode(key.encode()).decode().rstrip("=")
    return "m_" + secrets.token_urlsafe(64)


def _now_ms() -> int:
    return int(time.time() * 1000)


# -- webhooks as Meta sends them ---------------------------------------------------------------


def envelope(
    content: dict[str, Any],
    *,
    platform: str = "messenger",
    psid: str = CUSTOMER_PSID,
    timestamp: int | None = None,
    from_account: bool = False,
) -> dict[str, Any]:
    """One messaging event as a whole webhook: `content` (`{"message": …}`, `{"read": …}`…) from
    the customer `psid` to the account, or from the account to them when `from_account` (an
    echo). `timestamp` is in milliseconds since the epoch (default: now)."""
    account = _account(platform)
    at = timestamp if timestamp is not None else _now_ms()
    sender, recipient = (account, psid) if from_account else (psid, account)
    messaging = {"sender": {"id": sender}, "recipient": {"id": recipient}, "timestamp": at, **content}
    return {
        "object": "page" if platform == "messenger" else "instagram",
        "entry": [{"id": account, "time": at, "messaging": [messaging]}],
    }


def combined(*payloads: dict[str, Any]) -> dict[str, Any]:
    """Several webhooks of one object batched into one body, an entry each, as Meta batches them."""
    objects = {payload["object"] for payload in payloads}
    if len(objects) != 1:
        raise ValueError(f"Meta batches the webhooks of one object only, not {sorted(objects)}")
    return {"object": objects.pop(), "entry": [entry for payload in payloads for entry in payload["entry"]]}


def text_message(
    text: str,
    *,
    platform: str = "messenger",
    psid: str = CUSTOMER_PSID,
    mid: str | None = None,
    timestamp: int | None = None,
) -> dict[str, Any]:
    message = {"mid": mid or new_mid(platform), "text": text}
    return envelope({"message": message}, platform=platform, psid=psid, timestamp=timestamp)


def attachment_message(
    url: str,
    kind: str,
    *,
    text: str | None = None,
    platform: str = "messenger",
    psid: str = CUSTOMER_PSID,
    mid: str | None = None,
    timestamp: int | None = None,
) -> dict[str, Any]:
    """A customer's attachment of `kind` (image, audio, video, file) at the CDN `url` (`add_file`),
    with the `text` written with it."""
    message: dict[str, Any] = {"mid": mid or new_mid(platform)}
    if text is not None:
        message["text"] = text
    message["attachments"] = [{"type": kind, "payload": {"url": url}}]
    return envelope({"message": message}, platform=platform, psid=psid, timestamp=timestamp)


def quick_reply(
    title: str,
    payload: str,
    *,
    platform: str = "messenger",
    psid: str = CUSTOMER_PSID,
    mid: str | None = None,
    timestamp: int | None = None,
) -> dict[str, Any]:
    """A quick reply tapped: its `title` comes as the message's text, with its `payload`."""
    message = {"mid": mid or new_mid(platform), "text": title, "quick_reply": {"payload": payload}}
    return envelope({"message": message}, platform=platform, psid=psid, timestamp=timestamp)


def postback(
    title: str,
    payload: str,
    *,
    platform: str = "messenger",
    psid: str = CUSTOMER_PSID,
    mid: str | None = None,
    timestamp: int | None = None,
) -> dict[str, Any]:
    """A postback button (or an ice breaker, a persistent-menu item) tapped."""
    content = {"mid": mid or new_mid(platform), "title": title, "payload": payload}
    return envelope({"postback": content}, platform=platform, psid=psid, timestamp=timestamp)


def echo(
    text: str,
    *,
    platform: str = "messenger",
    psid: str = CUSTOMER_PSID,
    mid: str | None = None,
    timestamp: int | None = None,
) -> dict[str, Any]:
    """A message the account itself sent to `psid` (through the API, or typed in Meta's inbox)."""
    message = {"mid": mid or new_mid(platform), "text": text, "is_echo": True, "app_id": APP_ID}
    return envelope({"message": message}, platform=platform, psid=psid, timestamp=timestamp, from_account=True)


def delivery(
    mids: list[str], *, watermark: int | None = None, psid: str = CUSTOMER_PSID, timestamp: int | None = None
) -> dict[str, Any]:
    """Messenger's report that our messages `mids` (and all before `watermark`, in milliseconds)
    reached the customer; Instagram sends none."""
    at = timestamp if timestamp is not None else _now_ms()
    content = {"mids": mids, "watermark": watermark if watermark is not None else at}
    return envelope({"delivery": content}, psid=psid, timestamp=at)


def read(
    watermark: int | None = None,
    *,
    mid: str | None = None,
    platform: str = "messenger",
    psid: str = CUSTOMER_PSID,
    timestamp: int | None = None,
) -> dict[str, Any]:
    """The customer read our messages: on Messenger all sent before `watermark` (milliseconds;
    default: the event's time), on Instagram the message `mid` (default: a new id)."""
    at = timestamp if timestamp is not None else _now_ms()
    if platform == "instagram":
        content: dict[str, Any] = {"mid": mid or new_mid(platform)}
    else:
        content = {"watermark": watermark if watermark is not None else at}
    return envelope({"read": content}, platform=platform, psid=psid, timestamp=at)


def signature(body: bytes, secret: str = APP_SECRET) -> str:
    """`X-Hub-Signature-256` for `body`: "sha256=" and the hex HMAC-SHA256 with the app secret."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def signed_headers(body: bytes, *, secret: str = APP_SECRET) -> dict[str, str]:
    """The headers Meta posts a webhook with."""
    return {
        "Content-Type": "application/json",
        "User-Agent": "facebookexternalua",
        "X-Hub-Signature": "sha1=" + hmac.new(secret.encode(), body, hashlib.sha1).hexdigest(),
        "X-Hub-Signature-256": signature(body, secret),
    }


async def deliver(url: str, payload: dict[str, Any], *, forged: bool = False) -> tuple[int, str]:
    """POST `payload` to the hub's webhook `url` as Meta does (signed with `APP_SECRET`, or with
    another secret when `forged`); the status and body it was answered."""
    body = json.dumps(payload, separators=(",", ":"), ensure_ascii=True).encode()
    headers = signed_headers(body, secret="not-the-app-secret" if forged else APP_SECRET)
    async with aiohttp.ClientSession() as session, session.post(url, data=body, headers=headers) as response:
        return response.status, await response.text()
