"""A local fake of Meta's Graph API for the WhatsApp Cloud API (messages, media, the business phone
number), and the webhooks Meta posts to the hub, built and signed the way Meta builds and signs them.

`api = await fake.start()` serves `http://127.0.0.1:PORT`; point `whatsapp.graph_url` at it (with
`graph_version = GRAPH_VERSION`, `phone_number_id = PHONE_NUMBER_ID`, `access_token = ACCESS_TOKEN`).

What it answers, as the Graph API does (developers.facebook.com/documentation/business-messaging/
whatsapp: "Messages API", "Media", "Error codes"):

- `POST /{version}/{PHONE_NUMBER_ID}/messages` with `Authorization: Bearer ACCESS_TOKEN` and a JSON
  body. A message (`type` text, template or interactive) is checked against Meta's limits (text
  4,096 characters; an interactive body 1,024; 1–3 reply buttons with titles of at most 20, unique;
  a list's button text 20, 1–10 rows with titles of at most 24) and answered
  `{"messaging_product": "whatsapp", "contacts": [{"input", "wa_id"}], "messages": [{"id": "wamid.…"}]}`;
  its body is kept in `sent`. A read receipt (`{"status": "read", "message_id", "typing_indicator"?}`)
  is answered `{"success": true}` and kept in `reads`.
- `GET /{version}/{PHONE_NUMBER_ID}?fields=…`: the number's `verified_name`, `display_phone_number`,
  `quality_rating` (those asked for) and `id`.
- `GET /{version}/{media-id}` (`add_media`): `{"messaging_product", "url", "mime_type", "sha256",
  "file_size", "id"}`. The URL looks like lookaside.fbsbx.com's (`/media/<token>?mid=…&ext=…&hash=…`)
  on this server, wants the same Bearer token, and serves the bytes. `add_media(host="localhost")`
  puts it on another origin (a forged URL a hub must not send its token to); `redirect_host` makes it
  answer 307 to a CDN path on that host, which serves the bytes to anyone. Every GET on either is in
  `downloads`, with whether it carried the token.

Refusals are Graph's error JSON, `{"error": {"message": "(#code) title", "type": "OAuthException",
"code", "error_data": {"messaging_product": "whatsapp", "details"}, "fbtrace_id"}}` (no
`error_subcode`: not sent since v16.0): 401 code 190 without the token, 400 code 100 for a node or
path it does not know or a missing parameter, 400 code 131009 for a value over a limit.
`fail_next(code, status=…)` makes the next POSTs to `/messages` fail so, with Retry-After if asked.

Webhooks: the builders below return payloads exactly as Meta posts them (an entry per WhatsApp
Business Account, a `messages` change with `metadata`, `contacts` and `messages` or `statuses`);
`combined` batches several into one, as Meta does. `deliver(url, payload)` POSTs one with Meta's
headers, signed `X-Hub-Signature-256: sha256=<HMAC-SHA256 of the body with APP_SECRET>` (and the
older SHA-1 `X-Hub-Signature`); `deliver(url, payload, forged=True)` signs it with another secret.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
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
PHONE_NUMBER_ID = "106540352242922"
WABA_ID = "102290129340398"
DISPLAY_NUMBER = "15550783881"
"""The business number as webhooks' `metadata.display_phone_number` spell it."""
DISPLAY_PHONE_NUMBER = "+1 555-078-3881"
"""…and as the phone number node's `display_phone_number` does."""
VERIFIED_NAME = "Brightdesk Support"
ACCESS_TOKEN = "EAAGtestsystemusertoken0supporthub"
APP_SECRET = "whatsapp-test-app-secret"
VERIFY_TOKEN = "whatsapp-test-verify-token"
CUSTOMER = "+16505551234"
CUSTOMER_NAME = "Sheena Nelson"
MAX_TEXT = 4096
MAX_INTERACTIVE_BODY = 1024

ERROR_TITLES = {
    1: "API Unknown",
    2: "API Service",
    4: "API Too Many Calls",
    100: "Invalid parameter",
    190: "Access token has expired",
    80007: "Rate limit issues",
    130429: "Rate limit hit",
    131000: "Something went wrong",
    131009: "Parameter value is not valid",
    131026: "Message Undeliverable",
    131030: "Recipient phone number not in allowed list",
    131047: "Re-engagement message",
    131051: "Unsupported message type",
    131056: "(Business Account, Consumer Account) pair rate limit hit",
}
"""Titles as Meta's "Error codes" page gives them; a Graph error's message is "(#code) title"."""
_ERROR_DETAILS = {
    131026: "Message failed to send because the recipient cannot receive WhatsApp messages.",
    131047: "Message failed to send because more than 24 hours have passed since the customer last replied to this number.",
    131056: "Message failed to send because there were too many messages sent from this phone number to the same phone number in a short period of time.",
}


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


@dataclass(frozen=True, slots=True)
class RecordedDownload:
    """One GET on a media URL or the CDN it redirected to: `host` is the Host it was sent to."""

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
class _Media:
    media_id: str
    data: bytes
    mime_type: str
    token: str
    file_size: int | None
    host: str
    redirect_host: str | None


class FakeGraph(StandIn):
    """Meta's Graph API for one business number (`PHONE_NUMBER_ID`) and one token (`ACCESS_TOKEN`).

    State tests may read: `calls` (every request, refused ones included), `sent` (the bodies of the
    messages accepted, in order), `reads` (read receipts accepted), `downloads`. State tests may
    change: `quality_rating`.
    """

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[RecordedCall] = []
        self.sent: list[dict[str, Any]] = []
        self.reads: list[dict[str, Any]] = []
        self.downloads: list[RecordedDownload] = []
        self.quality_rating = "GREEN"
        self._media: dict[str, _Media] = {}
        self._failures: deque[_Answer] = deque()

    @property
    def api_url(self) -> str:
        """The Graph API root, `http://127.0.0.1:PORT` once started."""
        return self.url

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/{version}/{node}/messages", self._messages)
        app.router.add_get("/{version}/{node}", self._node)
        app.router.add_get("/media/{token}", self._media_url)
        app.router.add_get("/cdn/{token}", self._cdn)
        app.router.add_route("*", "/{tail:.*}", self._unknown)
        return app

    async def wait_for_sent(self, count: int, *, timeout: float = 30.0) -> list[dict[str, Any]]:
        """Wait until at least `count` messages were accepted; all of them so far. On timeout, an
        AssertionError lists every call."""

        def expected() -> str:
            seen = [(call.method, call.path, call.status, call.code) for call in self.calls]
            return f"expected {count} message(s) sent, got {len(self.sent)}: {seen}"

        await self.wait_until(lambda: len(self.sent) >= count, timeout=timeout, expected=expected)
        return list(self.sent)

    def fail_next(
        self,
        code: int,
        *,
        status: int = HTTPStatus.BAD_REQUEST,
        details: str | None = None,
        retry_after: int | None = None,
        times: int = 1,
    ) -> None:
        """The next `times` authorized POSTs to `/messages` (messages and read receipts) are answered
        `status` with Graph's error JSON for `code` (its title from `ERROR_TITLES`), and send nothing."""
        headers = {"Retry-After": str(retry_after)} if retry_after is not None else {}
        answer = _error(status, code, details)
        self._failures.extend([_Answer(answer.status, answer.body, headers)] * times)

    def add_media(
        self,
        data: bytes,
        mime_type: str,
        *,
        media_id: str | None = None,
        file_size: int | None = -1,
        host: str = "127.0.0.1",
        redirect_host: str | None = None,
    ) -> str:
        """Host `data` as a customer's media; its media id, as a webhook carries it. `file_size`
        is what the media node declares (default: the real size; None: left out, and the bytes are
        streamed without a Content-Length). `host` is the
        media URL's host (another than 127.0.0.1 is another origin); with `redirect_host` the URL
        answers 307 to a CDN on that host."""
        media_id = media_id or str(secrets.randbelow(10**15) + 10**15)
        size = len(data) if file_size == -1 else file_size
        media = _Media(media_id, data, mime_type, secrets.token_urlsafe(16), size, host, redirect_host)
        self._media[media_id] = media
        return media_id

    # -- handlers ----------------------------------------------------------------------------

    async def _messages(self, request: web.Request) -> web.Response:
        body = await _json_body(request)
        authorized = _authorized(request)
        if not authorized:
            answer = _error(HTTPStatus.UNAUTHORIZED, 190, "Invalid OAuth access token - Cannot parse access token")
        elif request.match_info["node"] != PHONE_NUMBER_ID:
            answer = _unknown_node(request.match_info["node"], "post")
        elif body is None:
            answer = _error(HTTPStatus.BAD_REQUEST, 100, "The request body is not a JSON object.")
        elif self._failures:
            answer = self._failures.popleft()
        else:
            answer = self._read(body) if "status" in body else self._accept(body)
        return await self._record(request, body, authorized, answer)

    def _accept(self, body: dict[str, Any]) -> _Answer:
        refusal = _refusal(body)
        if refusal is not None:
            return _error(HTTPStatus.BAD_REQUEST, *refusal)
        self.sent.append(body)
        to = str(body["to"])
        return _Answer(
            HTTPStatus.OK,
            {
                "messaging_product": "whatsapp",
                "contacts": [{"input": to, "wa_id": to.removeprefix("+")}],
                "messages": [{"id": wamid()}],
            },
        )

    def _read(self, body: dict[str, Any]) -> _Answer:
        typing = body.get("typing_indicator")
        if body.get("messaging_product") != "whatsapp" or body.get("status") != "read":
            return _error(
                HTTPStatus.BAD_REQUEST, 100, "A read receipt needs messaging_product whatsapp and status read."
            )
        if not isinstance(body.get("message_id"), str) or not body["message_id"].startswith("wamid."):
            return _error(HTTPStatus.BAD_REQUEST, 100, "Param message_id is not a WhatsApp message id.")
        if typing is not None and typing != {"type": "text"}:
            return _error(HTTPStatus.BAD_REQUEST, 131009, "typing_indicator.type must be text.")
        self.reads.append(body)
        return _Answer(HTTPStatus.OK, {"success": True})

    async def _node(self, request: web.Request) -> web.Response:
        node = request.match_info["node"]
        authorized = _authorized(request)
        if not authorized:
            answer = _error(HTTPStatus.UNAUTHORIZED, 190, "Invalid OAuth access token - Cannot parse access token")
        elif node == PHONE_NUMBER_ID:
            known = {
                "verified_name": VERIFIED_NAME,
                "display_phone_number": DISPLAY_PHONE_NUMBER,
                "quality_rating": self.quality_rating,
                "code_verification_status": "VERIFIED",
            }
            asked = request.query.get("fields", ",".join(known)).split(",")
            answer = _Answer(HTTPStatus.OK, {key: known[key] for key in asked if key in known} | {"id": node})
        elif (media := self._media.get(node)) is not None:
            answer = _Answer(HTTPStatus.OK, self._media_node(media))
        else:
            answer = _unknown_node(node, "get")
        return await self._record(request, None, authorized, answer)

    def _media_node(self, media: _Media) -> dict[str, Any]:
        url = (
            f"http://{media.host}:{self.port}/media/{media.token}"
            f"?mid={media.media_id}&ext={int(time.time())}&hash={secrets.token_urlsafe(12)}"
        )
        found: dict[str, Any] = {
            "messaging_product": "whatsapp",
            "url": url,
            "mime_type": media.mime_type,
            "sha256": hashlib.sha256(media.data).hexdigest(),
            "id": media.media_id,
        }
        if media.file_size is not None:
            found["file_size"] = media.file_size
        return found

    async def _media_url(self, request: web.Request) -> web.StreamResponse:
        media = next((m for m in self._media.values() if m.token == request.match_info["token"]), None)
        authorized = _authorized(request)
        if media is None:
            response = _error(HTTPStatus.NOT_FOUND, 100, "No such media.").response()
        elif not authorized:
            response = _error(HTTPStatus.UNAUTHORIZED, 190, "Invalid OAuth access token").response()
        elif media.redirect_host is not None:
            location = f"http://{media.redirect_host}:{self.port}/cdn/{media.token}"
            response = web.Response(status=HTTPStatus.TEMPORARY_REDIRECT, headers={hdrs.LOCATION: location})
        elif media.file_size is None:  # nothing declared: streamed without a Content-Length
            self.downloads.append(RecordedDownload(request.path, authorized, request.host, HTTPStatus.OK))
            return await _streamed(request, media)
        else:
            response = web.Response(body=media.data, content_type=media.mime_type.split(";")[0])
        self.downloads.append(RecordedDownload(request.path, authorized, request.host, response.status))
        return response

    async def _cdn(self, request: web.Request) -> web.Response:
        media = next((m for m in self._media.values() if m.token == request.match_info["token"]), None)
        if media is None:
            response = web.Response(status=HTTPStatus.FORBIDDEN, text="URL signature expired")
        else:
            response = web.Response(body=media.data, content_type=media.mime_type.split(";")[0])
        self.downloads.append(RecordedDownload(request.path, _authorized(request), request.host, response.status))
        return response

    async def _unknown(self, request: web.Request) -> web.Response:
        body = await _json_body(request) if request.method == "POST" else None
        answer = _unknown_node(request.path.rsplit("/", 1)[-1], request.method.lower())
        return await self._record(request, body, _authorized(request), answer)

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


def _refusal(body: dict[str, Any]) -> tuple[int, str] | None:
    """Why the Graph API would refuse this message (code, details), or None."""
    kind, to = body.get("type"), body.get("to")
    content = body.get(kind) if isinstance(kind, str) else None
    if body.get("messaging_product") != "whatsapp":
        return 100, "The parameter messaging_product is required."
    if not isinstance(to, str) or not to.removeprefix("+").isdigit():
        return 100, "The parameter to is required."
    if body.get("recipient_type", "individual") != "individual" or not isinstance(content, dict):
        return 100, f"Param {kind} is required for a {kind} message."
    if kind == "text":
        text = content.get("body")
        ok = isinstance(text, str) and 0 < len(text) <= MAX_TEXT
        return None if ok else (100, f"Param text['body'] must be 1 to {MAX_TEXT} characters long.")
    if kind == "template":
        ok = isinstance(content.get("name"), str) and isinstance(content.get("language", {}).get("code"), str)
        return None if ok else (100, "Param template needs a name and a language code.")
    if kind == "interactive":
        return _interactive_refusal(content)
    return 131051, f"Message type {kind} is not supported."


def _interactive_refusal(interactive: dict[str, Any]) -> tuple[int, str] | None:
    body, action = interactive.get("body", {}).get("text"), interactive.get("action", {})
    if not isinstance(body, str) or not 0 < len(body) <= MAX_INTERACTIVE_BODY:
        return 131009, f"Param interactive['body']['text'] must be 1 to {MAX_INTERACTIVE_BODY} characters long."
    if interactive.get("type") == "button":
        replies = [button.get("reply", {}) for button in action.get("buttons", [])]
        titles = [reply.get("title") for reply in replies]
        if not 1 <= len(replies) <= 3:
            return 131009, "Param interactive['action']['buttons'] must have 1 to 3 buttons."
        if not all(isinstance(t, str) and 0 < len(t) <= 20 for t in titles) or len(set(titles)) < len(titles):
            return 131009, "Button titles must be unique, 1 to 20 characters long."
        if not all(isinstance(reply.get("id"), str) and 0 < len(reply["id"]) <= 256 for reply in replies):
            return 131009, "Button ids must be 1 to 256 characters long."
        return None
    if interactive.get("type") == "list":
        sections = action.get("sections", [])
        rows = [row for section in sections for row in section.get("rows", [])]
        button = action.get("button")
        if not isinstance(button, str) or not 0 < len(button) <= 20:
            return 131009, "Param interactive['action']['button'] must be 1 to 20 characters long."
        if not 1 <= len(rows) <= 10 or (len(sections) > 1 and not all(s.get("title") for s in sections)):
            return 131009, "A list has 1 to 10 rows; with several sections each needs a title."
        if not all(isinstance(row.get("title"), str) and 0 < len(row["title"]) <= 24 for row in rows):
            return 131009, "Row titles must be 1 to 24 characters long."
        if not all(isinstance(row.get("id"), str) and 0 < len(row["id"]) <= 200 for row in rows):
            return 131009, "Row ids must be 1 to 200 characters long."
        return None
    return 100, "Param interactive['type'] must be button or list here."


def _error(status: int, code: int, details: str | None = None) -> _Answer:
    title = ERROR_TITLES.get(code, HTTPStatus(status).phrase)
    error: dict[str, Any] = {
        "message": f"(#{code}) {title}",
        "type": "OAuthException",
        "code": code,
        "error_data": {"messaging_product": "whatsapp", "details": details or _ERROR_DETAILS.get(code, title)},
        "fbtrace_id": secrets.token_urlsafe(16),
    }
    return _Answer(int(status), {"error": error})


def _unknown_node(node: str, method: str) -> _Answer:
    details = (
        f"Unsupported {method} request. Object with ID '{node}' does not exist, cannot be loaded due to missing "
        "permissions, or does not support this operation."
    )
    return _error(HTTPStatus.BAD_REQUEST, 100, details)


async def _streamed(request: web.Request, media: _Media) -> web.StreamResponse:
    response = web.StreamResponse(headers={hdrs.CONTENT_TYPE: media.mime_type.split(";")[0]})
    response.enable_chunked_encoding()
    await response.prepare(request)
    for start in range(0, len(media.data), 1024):
        await response.write(media.data[start : start + 1024])
    await response.write_eof()
    return response


def _authorized(request: web.Request) -> bool:
    scheme, _, token = request.headers.get(hdrs.AUTHORIZATION, "").partition(" ")
    return scheme.lower() == "bearer" and secrets.compare_digest(token.strip(), ACCESS_TOKEN)


async def _json_body(request: web.Request) -> dict[str, Any] | None:
    try:
        body = json.loads(await request.read())
    except ValueError:
        return None
    return body if isinstance(body, dict) else None


def wamid() -> str:
    """A message id shaped like Meta's ("wamid." and base64 of a protobuf-like blob)."""
    blob = b"\x15\x02\x00\x11\x18\x12" + secrets.token_hex(9).upper().encode() + b"\x00"
    return "wamid." + base64.b64encode(blob).decode()


# -- webhooks as Meta sends them ---------------------------------------------------------------


def envelope(value: dict[str, Any], *, field: str = "messages") -> dict[str, Any]:
    """One change of a WhatsApp Business Account, as a whole webhook."""
    return {
        "object": "whatsapp_business_account",
        "entry": [{"id": WABA_ID, "changes": [{"value": value, "field": field}]}],
    }


def combined(*payloads: dict[str, Any]) -> dict[str, Any]:
    """Several webhooks batched into one, their changes in one entry, as Meta batches them."""
    changes = [change for payload in payloads for entry in payload["entry"] for change in entry["changes"]]
    return {"object": "whatsapp_business_account", "entry": [{"id": WABA_ID, "changes": changes}]}


def customer_message(
    kind: str,
    content: Any,
    *,
    from_: str = CUSTOMER,
    name: str | None = CUSTOMER_NAME,
    message_id: str | None = None,
    timestamp: int | None = None,
    context: dict[str, Any] | None = None,
    phone_number_id: str = PHONE_NUMBER_ID,
) -> dict[str, Any]:
    """The webhook for one customer message of `kind` (text, image, interactive…) whose `kind`
    object is `content`, from the customer at `from_` (E.164) with profile `name`."""
    wa_id = from_.removeprefix("+")
    message: dict[str, Any] = {
        "from": wa_id,
        "id": message_id or wamid(),
        "timestamp": str(timestamp if timestamp is not None else int(time.time())),
        "type": kind,
    }
    if context is not None:
        message["context"] = context
    if kind == "contacts":
        message["contacts"] = content
    elif content is not None:
        message[kind] = content
    value: dict[str, Any] = {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": DISPLAY_NUMBER, "phone_number_id": phone_number_id},
        "contacts": [{"profile": {"name": name}, "wa_id": wa_id}] if name is not None else [],
        "messages": [message],
    }
    return envelope(value)


def text_message(body: str, **kwargs: Any) -> dict[str, Any]:
    return customer_message("text", {"body": body}, **kwargs)


def image_message(
    media_id: str, *, mime_type: str = "image/jpeg", caption: str | None = None, **kwargs: Any
) -> dict[str, Any]:
    image = {"mime_type": mime_type, "sha256": _sha(media_id), "id": media_id} | (
        {"caption": caption} if caption else {}
    )
    return customer_message("image", image, **kwargs)


def document_message(
    media_id: str, filename: str, *, mime_type: str = "application/pdf", caption: str | None = None, **kwargs: Any
) -> dict[str, Any]:
    document = {"filename": filename, "mime_type": mime_type, "sha256": _sha(media_id), "id": media_id}
    return customer_message("document", document | ({"caption": caption} if caption else {}), **kwargs)


def voice_message(media_id: str, **kwargs: Any) -> dict[str, Any]:
    """A voice note recorded in the app (an audio file sent has `voice: false`)."""
    audio = {"mime_type": "audio/ogg; codecs=opus", "sha256": _sha(media_id), "id": media_id, "voice": True}
    return customer_message("audio", audio, **kwargs)


def button_reply(button_id: str, title: str, *, replied_to: str | None = None, **kwargs: Any) -> dict[str, Any]:
    """A reply button pressed under our message `replied_to`."""
    interactive = {"type": "button_reply", "button_reply": {"id": button_id, "title": title}}
    return customer_message("interactive", interactive, context=_context(replied_to), **kwargs)


def list_reply(
    row_id: str, title: str, *, description: str | None = None, replied_to: str | None = None, **kwargs: Any
) -> dict[str, Any]:
    """A list row chosen under our message `replied_to`."""
    row = {"id": row_id, "title": title} | ({"description": description} if description else {})
    return customer_message(
        "interactive", {"type": "list_reply", "list_reply": row}, context=_context(replied_to), **kwargs
    )


def quick_reply(payload: str, text: str, *, replied_to: str | None = None, **kwargs: Any) -> dict[str, Any]:
    """A template's quick-reply button pressed (type `button`)."""
    return customer_message("button", {"payload": payload, "text": text}, context=_context(replied_to), **kwargs)


def location_message(
    latitude: float, longitude: float, *, name: str | None = None, address: str | None = None, **kwargs: Any
) -> dict[str, Any]:
    place: dict[str, Any] = {"latitude": latitude, "longitude": longitude}
    place |= {key: value for key, value in (("name", name), ("address", address)) if value}
    return customer_message("location", place, **kwargs)


def reaction_message(message_id: str, emoji: str, **kwargs: Any) -> dict[str, Any]:
    """A reaction to `message_id` (an empty `emoji` takes one back)."""
    return customer_message("reaction", {"message_id": message_id, "emoji": emoji}, **kwargs)


def unsupported_message(**kwargs: Any) -> dict[str, Any]:
    """A message of a type the Cloud API does not deliver (a poll, a view-once photo…)."""
    payload = customer_message("unsupported", {"type": "poll"}, **kwargs)
    payload["entry"][0]["changes"][0]["value"]["messages"][0]["errors"] = [
        {
            "code": 131051,
            "title": "Message type unknown",
            "message": "Message type unknown",
            "error_data": {"details": "Message type is currently not supported."},
        }
    ]
    return payload


def status_update(
    message_id: str,
    status: str,
    *,
    recipient: str = CUSTOMER,
    error_code: int | None = None,
    timestamp: int | None = None,
    phone_number_id: str = PHONE_NUMBER_ID,
) -> dict[str, Any]:
    """Meta's report on our message `message_id`: sent, delivered, read, or failed with `error_code`."""
    report: dict[str, Any] = {
        "id": message_id,
        "status": status,
        "timestamp": str(timestamp if timestamp is not None else int(time.time())),
        "recipient_id": recipient.removeprefix("+"),
    }
    if error_code is not None:
        title = ERROR_TITLES.get(error_code, "Something went wrong")
        report["errors"] = [
            {
                "code": error_code,
                "title": title,
                "message": title,
                "error_data": {"details": _ERROR_DETAILS.get(error_code, title)},
                "href": "https://developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes/",
            }
        ]
    elif status in ("sent", "delivered", "read"):
        report["pricing"] = {
            "billable": True,
            "pricing_model": "PMP",
            "category": "service",
            "type": "free_customer_service",
        }
    value = {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": DISPLAY_NUMBER, "phone_number_id": phone_number_id},
        "statuses": [report],
    }
    return envelope(value)


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


def _context(replied_to: str | None) -> dict[str, Any]:
    return {"from": DISPLAY_NUMBER, "id": replied_to or wamid()}


def _sha(media_id: str) -> str:
    return base64.b64encode(hashlib.sha256(media_id.encode()).digest()).decode()
