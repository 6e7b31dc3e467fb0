"""A local fake of Twilio's REST API (the Account and Messages resources and message media), for
pointing the real `twilio` SDK at, and the webhooks Twilio posts to the hub, signed the way Twilio
signs them.

`api = await fake.start()`, then, inside the running loop (the client opens an aiohttp
`ClientSession` in its constructor):

    http = AsyncTwilioHttpClient(timeout=10)          # no max_retries, see below
    client = Client(ACCOUNT_SID, AUTH_TOKEN, http_client=http)
    client.api.base_url = api                         # … and `await http.close()` at the end

`client.api` is the `Api` Domain (`twilio/base/domain.py`); every request URL is its `base_url`
("https://api.twilio.com") joined with "2010-04-01/Accounts/{sid}/…" when the request is made, so
setting it before the first request is enough. Leave `region`/`edge` (and the TWILIO_REGION and
TWILIO_EDGE environment variables, which `Client` reads even when given `environment={}`) unset:
`ClientBase.get_hostname` would rewrite "127.0.0.1:PORT" as if it were "api.<edge>.<region>.twilio.com".

What twilio 9.13 puts on the wire (`rest/api/v2010/account/message/__init__.py`, `base/client_base.py`,
`http/async_http_client.py`): `messages.create_async` POSTs a form body to
`/2010-04-01/Accounts/{sid}/Messages.json` with HTTP Basic auth (account sid, auth token), `Accept:
application/json` and redirects not followed. Arguments left unset are left out; list arguments
(`media_url`) repeat the key (`MediaUrl=a&MediaUrl=b`); booleans travel as "true"/"false". The fake
records the form as strings, a repeated key as a list, so tests assert `params["Body"] == "hi"`.

How it reads answers (`base/version.py`): anything outside 2xx raises. A JSON body with `type`, `title`,
`status` and `code` (RFC 9457) becomes `TwilioServiceException`; Twilio's usual error JSON
`{"code", "message", "more_info", "status"}` becomes `TwilioRestException(status=HTTP status,
code=body["code"], msg="Unable to create record: <message>")`; a body that is not JSON (a proxy's
HTML page, which `fail_next(5xx)` without a code sends) is still a `TwilioRestException`, with
`msg="Unable to create record"` and `code` = the HTTP status. Nothing reads Retry-After. Transport
failures (connection refused or reset) come out as raw `aiohttp.ClientError`, not TwilioException.

Retries and timeouts: with `max_retries` unset the session is a plain `ClientSession` and nothing
is retried. `max_retries=N` wraps it in aiohttp_retry's `ExponentialRetry`, which resends every
method, POST included, on every 5xx and every exception: one SMS sent N times. 429 is not
retried either way. The constructor's `timeout` is stored but never used: `request` hands aiohttp
the per-call timeout, `None` from the resource methods, which aiohttp turns into "no timeout at
all" (overriding even the session default), so callers must bound a send with `asyncio.timeout`.
A send the caller gave up on is still answered and recorded here, as Twilio would still send it.
With aiohttp 3.14 every SDK request warns twice (DeprecationWarning: `BasicAuth` and the `auth`
parameter, from `async_http_client.py` and `client_base.py`); they are the SDK's, not the hub's.

The Account: `client.api.v2010.accounts(sid).fetch_async()` GETs `/2010-04-01/Accounts/{sid}.json`
(401 20003 without the account's Basic auth); like Twilio's, the resource carries the auth token.

Media: `add_media` returns the MediaUrl Twilio puts in an inbound webhook. A GET on it answers
307 to the CDN (`/cdn/<token>` on this server, addressed as `cdn_host`, "localhost", so it is a
different origin as Twilio's CDN is and aiohttp drops the Authorization header on the way). The
CDN serves the bytes to anyone; the MediaUrl itself demands the account's Basic auth unless
added with `require_auth=False` (Twilio's "HTTP Basic Authentication for media" setting).
Both hops are recorded in `downloads`.
"""

from __future__ import annotations

import asyncio
import base64
import math
import re
import secrets
import time
import uuid
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime
from http import HTTPStatus
from typing import Any

from aiohttp import hdrs, web
from twilio.request_validator import HMAC_SHA256, SIGNATURE_HEADER, SIGNATURE_SETTINGS_HEADER, RequestValidator

from core.sandbox.stand_in import Answer, Recorded, StandIn

ACCOUNT_SID = "AC" + "0" * 30 + "01"
"""34 characters, like every Twilio account sid."""
AUTH_TOKEN = "twilio-test-auth-token"
ACCOUNT_NAME = "Brightdesk Support"
HUB_NUMBER = "+15005550006"
"""The hub's own number; the only `From` the fake accepts until a test adds to `numbers`."""
CUSTOMER_NUMBER = "+14155550100"
SHARED_KEY_ID = "webhooks_sharedkey_test"
"""Named in X-Twilio-Webhooks-Signature-Settings of HMAC-SHA256 signed webhooks."""
API_VERSION = "2010-04-01"
MAX_BODY_LENGTH = 1600
"""Messages.json refuses longer bodies (21617)."""

_MESSAGES = f"/{API_VERSION}/Accounts/{{account}}/Messages"
_E164 = re.compile(r"(?:[a-z]+:)?\+[1-9]\d{6,14}")
_MESSAGES_ERRORS = {
    20003: "Authenticate",
    20404: "The requested resource was not found",
    20429: "Too Many Requests",
    20500: "Internal Server Error",
    20503: "Service Unavailable",
    21211: "Invalid 'To' Phone Number",
    21408: "Permission to send an SMS has not been enabled for the region indicated by the 'To' number",
    21602: "Message body is required.",
    21603: "A 'From' phone number is required.",
    21604: "A 'To' phone number is required.",
    21606: "The 'From' phone number provided is not a valid message-capable Twilio phone number for this destination/account",
    21609: "Invalid StatusCallback url",
    21610: "Attempt to send to unsubscribed recipient",
    21614: "'To' number is not a valid mobile number",
    21617: "The concatenated message body exceeds the 1600 character limit",
}
_DEFAULT_CODES = {401: 20003, 404: 20404, 429: 20429}
_GSM_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡"
    "ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
_GSM_EXTENDED = frozenset("^{}\\[~]|€\f")


@dataclass(frozen=True, slots=True, kw_only=True)
class RecordedCall(Recorded):
    """One REST request as it crossed the wire and what the fake answered (`{}` for a scripted
    HTML page). `authorized` when its Basic auth was the account's; `params` is the form body
    (and query string), a repeated key as a list."""

    method: str
    path: str
    params: dict[str, str | list[str]]
    authorized: bool

    @property
    def code(self) -> int | None:
        """Twilio's error code, None for a success or a non-JSON answer."""
        code = self.response.get("code")
        return code if isinstance(code, int) else None

    @property
    def sid(self) -> str | None:
        """The message sid the fake handed out, None when it refused the message."""
        sid = self.response.get("sid") if self.ok else None
        return sid if isinstance(sid, str) else None


@dataclass(frozen=True, slots=True)
class RecordedDownload:
    """One GET on a MediaUrl or on the CDN it redirects to. `authorized` when the request
    carried the account's Basic auth (present and right); `host` is the Host it was sent to,
    "127.0.0.1:PORT" for the MediaUrl and `cdn_host:PORT` for the CDN."""

    path: str
    authorized: bool
    host: str
    status: int
    at: float = field(default_factory=time.monotonic)


def _twilio_response(answer: Answer) -> web.Response:
    """An answer with the headers Twilio sends: a request id, and Basic's challenge on a 401."""
    headers = {"Twilio-Request-Id": "RQ" + uuid.uuid4().hex}
    if answer.status == HTTPStatus.UNAUTHORIZED:
        headers["WWW-Authenticate"] = 'Basic realm="Twilio API"'
    return answer.response(headers)


@dataclass(frozen=True, slots=True)
class _Media:
    data: bytes
    content_type: str
    require_auth: bool
    token: str


class FakeTwilio(StandIn):
    """Twilio's REST API for one account (`ACCOUNT_SID`, `AUTH_TOKEN`) owning `HUB_NUMBER`.

    State tests may change: `opted_out`, numbers that texted STOP (sends to them fail with 21610);
    `numbers`, the account's numbers allowed as `From` (others fail with 21606); `cdn_host`.
    State tests may read: `calls` (every REST request, refused ones included), `downloads`,
    `messages` (the resources created, by sid, which GET `Messages/{sid}.json` answers).
    """

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[RecordedCall] = []
        self.downloads: list[RecordedDownload] = []
        self.messages: dict[str, dict[str, Any]] = {}
        self.opted_out: set[str] = set()
        self.numbers: set[str] = {HUB_NUMBER}
        self.cdn_host = "localhost"
        self._failures: deque[Answer] = deque()
        self._delays: deque[float] = deque()
        self._media: dict[tuple[str, str], _Media] = {}
        self._cdn: dict[str, _Media] = {}

    @property
    def api_url(self) -> str:
        """The API root, `http://127.0.0.1:PORT` once started."""
        return self.url

    def app(self) -> web.Application:
        # cancels_handlers stays False: a send whose caller timed out is still answered and
        # recorded, as Twilio would still deliver it.
        app = web.Application()
        app.router.add_get(f"/{API_VERSION}/Accounts/{{account}}.json", self._fetch_account)
        app.router.add_post(f"{_MESSAGES}.json", self._create_message)
        app.router.add_get(f"{_MESSAGES}/{{message}}.json", self._fetch_message)
        app.router.add_get(f"{_MESSAGES}/{{message}}/Media/{{media}}", self._media_url)
        app.router.add_get("/cdn/{token}", self._cdn_download)
        app.router.add_route("*", "/{tail:.*}", self._not_found)
        return app

    def send_attempts(self, to: str | None = None) -> list[RecordedCall]:
        """Every Messages.json POST (to `to` when given), refused ones included, in the order answered."""
        suffix = "/Messages.json"
        return [
            call
            for call in self.calls
            if call.method == "POST" and call.path.endswith(suffix) and (to is None or call.params.get("To") == to)
        ]

    def sent(self, to: str | None = None) -> list[RecordedCall]:
        """The Messages.json POSTs answered 201 (to `to` when given), in order."""
        return [call for call in self.send_attempts(to) if call.status == HTTPStatus.CREATED]

    async def wait_for_sent(self, count: int, *, timeout: float = 15.0, ok_only: bool = True) -> list[RecordedCall]:
        """Wait until at least `count` Messages.json POSTs (only those answered 201 unless
        `ok_only=False`) were answered; returns all of them so far. On timeout, an
        AssertionError lists every call."""

        def matching() -> list[RecordedCall]:
            return self.sent() if ok_only else self.send_attempts()

        def expected() -> str:
            seen = [(call.method, call.path, call.status, call.code) for call in self.calls]
            kind = "sent" if ok_only else "attempted"
            return f"expected {count} message(s) {kind}, got {len(matching())}; calls: {seen}"

        await self.wait_until(lambda: len(matching()) >= count, timeout=timeout, expected=expected)
        return matching()

    def fail_next(self, status: int, *, code: int | None = None, message: str | None = None, times: int = 1) -> None:
        """The next `times` authorized Messages.json POSTs are answered `status` with Twilio's
        error JSON and send nothing.

        `code` defaults by status (401 20003, 404 20404, 429 20429, other 4xx the status itself);
        `message` defaults to Twilio's text for the code. A 5xx without `code` answers a plain
        HTML page instead, as the load balancer in front of the API does.
        """
        if code is None and status >= HTTPStatus.INTERNAL_SERVER_ERROR:
            title = message or f"{status} {_reason(status)}"
            page = f"<html><head><title>{title}</title></head><body><h1>{title}</h1></body></html>"
            answer = Answer(status, {}, page)
        else:
            code = _DEFAULT_CODES.get(status, status) if code is None else code
            answer = _error(status, code, message)
        self._failures.extend([answer] * times)

    def slow_next(self, seconds: float, *, times: int = 1) -> None:
        """The next `times` Messages.json POSTs are answered (as usual) only after `seconds`."""
        self._delays.extend([seconds] * times)

    def add_media(
        self, message_sid: str, media_sid: str, data: bytes, content_type: str, *, require_auth: bool = True
    ) -> str:
        """Host `data` as media `media_sid` of the inbound message `message_sid`; returns its
        MediaUrl as Twilio puts it in the webhook (pair it with `content_type` for `incoming_sms`)."""
        media = _Media(data, content_type, require_auth, secrets.token_urlsafe(16))
        self._media[(message_sid, media_sid)] = media
        self._cdn[media.token] = media
        return f"{self.api_url}/{API_VERSION}/Accounts/{ACCOUNT_SID}/Messages/{message_sid}/Media/{media_sid}"

    async def _create_message(self, request: web.Request) -> web.Response:
        params = await _params(request)
        authorized = _authorized(request)
        if not authorized:
            answer = _error(HTTPStatus.UNAUTHORIZED, 20003)
        elif request.match_info["account"] != ACCOUNT_SID:
            answer = _not_found_error(request.path)
        else:
            if self._delays:
                await asyncio.sleep(self._delays.popleft())
            answer = self._failures.popleft() if self._failures else self._accept(params)
        return await self._record(request, params, authorized, answer)

    def _accept(self, params: Mapping[str, str | list[str]]) -> Answer:
        to, sender, service = (_first(params, name) for name in ("To", "From", "MessagingServiceSid"))
        body, callback = _first(params, "Body"), _first(params, "StatusCallback")
        media = _all(params, "MediaUrl")
        refusal = (
            (not to, 21604),
            (not sender and not service, 21603),
            (not body and not media and not _first(params, "ContentSid"), 21602),
            (len(body) > MAX_BODY_LENGTH, 21617),
            (not _E164.fullmatch(to), 21211),
            (bool(sender) and sender not in self.numbers, 21606),
            (bool(callback) and not callback.startswith(("http://", "https://")), 21609),
            (to in self.opted_out, 21610),
        )
        for refused, code in refusal:
            if refused:
                message = f"{_MESSAGES_ERRORS[code]}: {to}" if code == 21211 else None
                return _error(HTTPStatus.BAD_REQUEST, code, message)
        sid = "SM" + uuid.uuid4().hex
        created = format_datetime(datetime.now(UTC))
        uri = f"/{API_VERSION}/Accounts/{ACCOUNT_SID}/Messages/{sid}"
        resource: dict[str, Any] = {
            "account_sid": ACCOUNT_SID,
            "api_version": API_VERSION,
            "body": body,
            "date_created": created,
            "date_sent": None,
            "date_updated": created,
            "direction": "outbound-api",
            "error_code": None,
            "error_message": None,
            "from": sender or None,
            "messaging_service_sid": service or None,
            "num_media": str(len(media)),
            "num_segments": str(segment_count(body)),
            "price": None,
            "price_unit": "USD",
            "sid": sid,
            "status": "queued" if sender else "accepted",
            "subresource_uris": {"media": f"{uri}/Media.json"},
            "to": to,
            "uri": f"{uri}.json",
        }
        self.messages[sid] = resource
        return Answer(int(HTTPStatus.CREATED), resource)

    async def _fetch_message(self, request: web.Request) -> web.Response:
        params = await _params(request)
        authorized = _authorized(request)
        resource = self.messages.get(request.match_info["message"])
        if not authorized:
            answer = _error(HTTPStatus.UNAUTHORIZED, 20003)
        elif request.match_info["account"] != ACCOUNT_SID or resource is None:
            answer = _not_found_error(request.path)
        else:
            answer = Answer(int(HTTPStatus.OK), dict(resource))
        return await self._record(request, params, authorized, answer)

    async def _fetch_account(self, request: web.Request) -> web.Response:
        params = await _params(request)
        authorized = _authorized(request)
        if not authorized:
            answer = _error(HTTPStatus.UNAUTHORIZED, 20003)
        elif request.match_info["account"] != ACCOUNT_SID:
            answer = _not_found_error(request.path)
        else:
            answer = Answer(int(HTTPStatus.OK), _account())
        return await self._record(request, params, authorized, answer)

    async def _not_found(self, request: web.Request) -> web.Response:
        params = await _params(request)
        authorized = _authorized(request)
        answer = _not_found_error(request.path) if authorized else _error(HTTPStatus.UNAUTHORIZED, 20003)
        return await self._record(request, params, authorized, answer)

    async def _record(
        self, request: web.Request, params: dict[str, str | list[str]], authorized: bool, answer: Answer
    ) -> web.Response:
        self.calls.append(
            RecordedCall(
                method=request.method,
                path=request.path,
                params=params,
                authorized=authorized,
                status=answer.status,
                response=answer.body,
            )
        )
        await self.recorded()
        return _twilio_response(answer)

    async def _media_url(self, request: web.Request) -> web.Response:
        authorized = _authorized(request)
        media = self._media.get((request.match_info["message"], request.match_info["media"]))
        if request.match_info["account"] != ACCOUNT_SID:
            media = None
        if media is not None and media.require_auth and not authorized:
            response = _twilio_response(_error(HTTPStatus.UNAUTHORIZED, 20003))
        elif media is None:
            response = _twilio_response(_not_found_error(request.path))
        else:
            location = f"http://{self.cdn_host}:{self.port}/cdn/{media.token}"
            response = web.Response(status=HTTPStatus.TEMPORARY_REDIRECT, headers={hdrs.LOCATION: location})
        self.downloads.append(RecordedDownload(request.path, authorized, request.host, response.status))
        return response

    async def _cdn_download(self, request: web.Request) -> web.Response:
        media = self._cdn.get(request.match_info["token"])
        if media is None:
            response = web.Response(status=HTTPStatus.FORBIDDEN, text="AccessDenied", content_type="application/xml")
        else:
            response = web.Response(body=media.data, content_type=media.content_type)
        self.downloads.append(RecordedDownload(request.path, _authorized(request), request.host, response.status))
        return response


def signed_form(
    url: str, params: Mapping[str, str], *, token: str = AUTH_TOKEN, algorithm: str | None = None
) -> dict[str, str]:
    """The headers Twilio sends with a webhook POSTing `params` to `url`: X-Twilio-Signature,
    and for `algorithm="HMAC_SHA256"` (SharedKey signing, where `token` is the key's secret)
    also X-Twilio-Webhooks-Signature-Settings naming the key and algorithm."""
    signature = RequestValidator(token).compute_signature(url, params, algorithm)
    headers = {SIGNATURE_HEADER: signature}
    if algorithm is not None and algorithm.upper() == HMAC_SHA256:
        headers[SIGNATURE_SETTINGS_HEADER] = f"key={SHARED_KEY_ID},algorithm={HMAC_SHA256}"
    return headers


def incoming_sms(
    body: str,
    *,
    from_: str = CUSTOMER_NUMBER,
    to: str = HUB_NUMBER,
    message_sid: str | None = None,
    media: Sequence[tuple[str, str]] = (),
) -> dict[str, str]:
    """The form Twilio POSTs to a number's messaging webhook for an inbound SMS, or MMS when
    `media` lists (MediaUrl, content type) pairs. Sids start "SM" for SMS and "MM" for MMS."""
    sid = message_sid or ("MM" if media else "SM") + uuid.uuid4().hex
    form = {
        "ToCountry": "US",
        "ToState": "CA",
        "SmsMessageSid": sid,
        "NumMedia": str(len(media)),
        "ToCity": "",
        "FromZip": "94105",
        "SmsSid": sid,
        "FromState": "CA",
        "SmsStatus": "received",
        "FromCity": "SAN FRANCISCO",
        "Body": body,
        "FromCountry": "US",
        "To": to,
        "ToZip": "",
        "NumSegments": str(segment_count(body)),
        "ReferralNumMedia": "0",
        "MessageSid": sid,
        "AccountSid": ACCOUNT_SID,
        "From": from_,
        "ApiVersion": API_VERSION,
    }
    for index, (url, content_type) in enumerate(media):
        form[f"MediaContentType{index}"] = content_type
        form[f"MediaUrl{index}"] = url
    return form


def status_callback(
    message_sid: str, status: str, *, to: str = CUSTOMER_NUMBER, error_code: str | None = None
) -> dict[str, str]:
    """The form Twilio POSTs to a message's StatusCallback when its status changes (queued, sent,
    delivered, undelivered, failed…); ErrorCode comes with failures (30003, 30007…)."""
    form = {
        "SmsSid": message_sid,
        "SmsStatus": status,
        "MessageStatus": status,
        "To": to,
        "MessageSid": message_sid,
        "AccountSid": ACCOUNT_SID,
        "From": HUB_NUMBER,
        "ApiVersion": API_VERSION,
    }
    if error_code is not None:
        form["ErrorCode"] = error_code
    return form


def segment_count(body: str) -> int:
    """SMS segments Twilio bills for `body` without smart encoding: GSM-7 (extension characters
    such as € count two) fits 160 in one segment, 153 per part; anything else is UCS-2, 70 UTF-16
    units in one, 67 per part. An empty body (media only) is one segment."""
    if all(char in _GSM_BASIC or char in _GSM_EXTENDED for char in body):
        units, single, part = sum(2 if char in _GSM_EXTENDED else 1 for char in body), 160, 153
    else:
        units, single, part = len(body.encode("utf-16-le")) // 2, 70, 67
    return 1 if units <= single else math.ceil(units / part)


async def _params(request: web.Request) -> dict[str, str | list[str]]:
    """Query string plus form body; a key given more than once becomes the list of its values."""
    pairs = [(key, value) for key, value in request.query.items()]
    if request.content_type == "application/x-www-form-urlencoded":
        pairs += [(key, value) for key, value in (await request.post()).items() if isinstance(value, str)]
    grouped: dict[str, list[str]] = {}
    for key, value in pairs:
        grouped.setdefault(key, []).append(value)
    return {key: values[0] if len(values) == 1 else values for key, values in grouped.items()}


def _authorized(request: web.Request) -> bool:
    """Basic auth with the account's sid and token (aiohttp 3.14 deprecates `BasicAuth`)."""
    scheme, _, encoded = request.headers.get(hdrs.AUTHORIZATION, "").partition(" ")
    try:
        credentials = base64.b64decode(encoded.strip(), validate=True).decode("latin-1")
    except ValueError:  # binascii.Error is a ValueError
        return False
    login, _, password = credentials.partition(":")
    return (
        scheme.lower() == "basic"
        and secrets.compare_digest(login, ACCOUNT_SID)
        and secrets.compare_digest(password, AUTH_TOKEN)
    )


def _account() -> dict[str, Any]:
    uri = f"/{API_VERSION}/Accounts/{ACCOUNT_SID}"
    created = format_datetime(datetime(2024, 1, 2, tzinfo=UTC), usegmt=True)
    return {
        "auth_token": AUTH_TOKEN,
        "date_created": created,
        "date_updated": created,
        "friendly_name": ACCOUNT_NAME,
        "owner_account_sid": ACCOUNT_SID,
        "sid": ACCOUNT_SID,
        "status": "active",
        "subresource_uris": {"messages": f"{uri}/Messages.json"},
        "type": "Full",
        "uri": f"{uri}.json",
    }


def _first(params: Mapping[str, str | list[str]], key: str) -> str:
    value = params.get(key, "")
    return value[0] if isinstance(value, list) else value


def _all(params: Mapping[str, str | list[str]], key: str) -> list[str]:
    value = params.get(key)
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _error(status: int, code: int, message: str | None = None) -> Answer:
    body: dict[str, Any] = {
        "code": code,
        "message": message or _MESSAGES_ERRORS.get(code, _reason(status)),
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
        "status": int(status),
    }
    if code == 20003:
        body["detail"] = "Your AccountSid or AuthToken was incorrect."
    return Answer(int(status), body)


def _not_found_error(path: str) -> Answer:
    return _error(HTTPStatus.NOT_FOUND, 20404, f"The requested resource {path} was not found")


def _reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"
