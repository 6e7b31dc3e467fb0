"""What every channel that goes through Twilio does alike (SMS, WhatsApp's Twilio route): read a
webhook's form within what Twilio sends, check Twilio's signature over it, rank delivery
statuses, keep numbers out of logs, open the SDK's async client, prove the credentials, and
fetch a customer's media with the account's credentials only where they belong.

Each function that answers, logs or counts takes the channel's name (`channel="sms"`), so a
refusal is counted and logged as that channel's.

Signatures: Twilio signs the URL it called (path and query included) and the form fields with
the account's auth token, or, when X-Twilio-Webhooks-Signature-Settings names HMAC-SHA256, with
the secret of a Webhooks SharedKey; behind a proxy the request's own URL is not what Twilio
signed, so the URL is rebuilt from the channel's configured public URL.

Media: a `MediaUrl` is on Twilio's API host and redirects to its CDN. The account's credentials
go only to the API host (a forged media URL must not receive them); the redirect is followed
without them.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from urllib.parse import parse_qsl, urljoin, urlsplit

import aiohttp
from aiohttp import web
from multidict import MultiDict
from twilio.base.exceptions import TwilioException
from twilio.http.async_http_client import AsyncTwilioHttpClient
from twilio.request_validator import RequestValidator, get_signature_algorithm
from twilio.rest import Client
from twilio.twiml.messaging_response import MessagingResponse

from channels.common.downloads import capped_file, origin
from core.channel import CheckFailed
from core.languages import _
from core.messages import Attachment
from core.metrics import Rejection, rejected
from core.request_bodies import read_at_most

log = logging.getLogger(__name__)

STATUS_RANKS = {
    "accepted": 0,
    "scheduled": 0,
    "queued": 1,
    "sending": 2,
    "sent": 3,
    "canceled": 4,
    "delivered": 4,
    "undelivered": 4,
    "failed": 4,
    "read": 5,
}
"""Twilio's delivery statuses in their order: a report arriving after a later one is kept out."""
MAX_FORM_BYTES = 64 * 1024
"""A Twilio webhook is a form of a few KB (ten media URLs included)."""
MAX_ID_CHARS = 64
"""Sids are 34 characters, numbers at most 16 (`whatsapp:+…` 25, sender names 11)."""
_ID_FIELDS = frozenset({"MessageSid", "From", "To"})
TWILIO_MEDIA_ORIGIN = ("https", "api.twilio.com")
MAX_REDIRECTS = 5
SEND_TIMEOUT_S = 20
"""The twilio SDK's async client ignores its own `timeout`: a hanging API must not hold the
conversation's outbox forever."""


def masked(number: str) -> str:
    """A phone number for the log: enough to tell numbers apart, not to dial one."""
    return number[:4] + "…" + number[-2:] if len(number) > 6 else "…"


def masked_numbers(text: str) -> str:
    """Twilio's error texts quote the recipient's number; logs and dead letters keep it masked."""
    return re.sub(r"\+\d{7,15}", lambda match: masked(match.group()), text)


def empty_twiml() -> web.Response:
    """The answer to a webhook when nothing is to be said in it: an empty `<Response/>`."""
    return web.Response(text=str(MessagingResponse()), content_type="application/xml")


class TwilioSignatures:
    """Checks Twilio's signature on a webhook (see the module): with the auth token, or with the
    Webhooks SharedKey secret (`signing_key`) where the request names HMAC-SHA256."""

    def __init__(self, *, auth_token: str, signing_key: str | None, public_url: str) -> None:
        self._validator = RequestValidator(auth_token)
        self._shared_key_validator = RequestValidator(signing_key) if signing_key else None
        self._public_url = public_url

    def valid(self, request: web.Request, form: MultiDict[str]) -> bool:
        signature = request.headers.get("X-Twilio-Signature", "")
        settings_header = request.headers.get("X-Twilio-Webhooks-Signature-Settings")
        validator = self._shared_key_validator if settings_header else self._validator
        if not signature or validator is None:
            return False
        algorithm = get_signature_algorithm(settings_header)
        return bool(validator.validate(self._public_url + request.path_qs, form, signature, algorithm))


async def read_form(request: web.Request, *, channel: str) -> MultiDict[str] | web.Response:
    """A webhook's form fields, read whole but never past what Twilio sends; a 4xx for
    anything that is not a UTF-8 urlencoded form (checked before the signature can be)."""
    if request.content_type != "application/x-www-form-urlencoded":
        rejected(channel, Rejection.BAD_INPUT)
        return web.json_response({"error": "expected a form (application/x-www-form-urlencoded)"}, status=415)
    body = await read_at_most(request, MAX_FORM_BYTES)
    if body is None:
        rejected(channel, Rejection.BAD_INPUT)
        return web.json_response({"error": "the body is larger than Twilio sends"}, status=413)
    try:
        return MultiDict(parse_qsl(body.decode("utf-8"), keep_blank_values=True, errors="strict"))
    except (UnicodeDecodeError, ValueError):
        rejected(channel, Rejection.BAD_INPUT)
        return web.json_response({"error": "the form is not UTF-8"}, status=400)


async def signed_form(
    request: web.Request, signatures: TwilioSignatures, *, channel: str
) -> MultiDict[str] | web.Response:
    """A webhook's form once Twilio's signature over it is checked; otherwise the answer to give
    (4xx for what is no Twilio form, 403 for a bad signature, nothing else looked at)."""
    form = await read_form(request, channel=channel)
    if isinstance(form, web.Response):
        return form
    if not signatures.valid(request, form):
        return refusal(request, channel=channel)
    if (problem := unstorable(form)) is not None:
        rejected(channel, Rejection.BAD_INPUT)
        return web.json_response({"error": problem}, status=400)
    return form


def unstorable(form: MultiDict[str]) -> str | None:
    """Why a signed form's fields could not be stored as they are (an id or media type longer
    than Twilio's and than its column); None when they can. A NUL is no reason: the hub cleans
    such text where it enters (`core.clean_text`)."""
    for name, value in form.items():
        too_long = (
            len(value) > MAX_ID_CHARS
            if name in _ID_FIELDS
            else len(value) > 120
            if name.startswith("MediaContentType")
            else False
        )
        if too_long:
            return f"{name} is longer than Twilio sends"
    return None


def refusal(request: web.Request, *, channel: str) -> web.Response:
    """The 403 for a webhook without a valid Twilio signature, logged and counted."""
    log.info("%s: refused a request to %s without a valid Twilio signature (HTTP 403)", channel, request.path)
    rejected(channel, Rejection.BAD_SIGNATURE)
    return web.json_response({"error": "the request is not signed by Twilio for this URL"}, status=403)


def open_client(account_sid: str, auth_token: str, api_url: str) -> tuple[AsyncTwilioHttpClient, Client]:
    """The SDK's async client on `api_url`, and its HTTP client to close. Call it inside the
    running loop. No max_retries: the SDK's retrying client repeats a POST on a 5xx, which can
    send a message twice; the outbox retries instead."""
    http = AsyncTwilioHttpClient()
    client = Client(account_sid, auth_token, http_client=http)
    client.api.base_url = api_url
    return http, client


@dataclass(frozen=True, slots=True)
class Refusal:
    """What a TwilioException says: the HTTP status (0 when none), Twilio's error code, and a
    reason fit for logs and dead letters (numbers masked)."""

    status: int
    code: int | None
    reason: str


def refusal_of(exc: TwilioException, *, doing: str = "twilio") -> Refusal:
    status, code = getattr(exc, "status", 0) or 0, getattr(exc, "code", None)
    reason = masked_numbers(f"{doing}: HTTP {status}, error {code}: {getattr(exc, 'msg', '') or exc}")
    return Refusal(status, code, reason)


async def check_account(account_sid: str, auth_token: str, api_url: str) -> str:
    """Fetch the account with its sid and auth token, on a client of its own (closed after):
    one line of what was verified, or `CheckFailed` with Twilio's reason."""
    http, client = open_client(account_sid, auth_token, api_url)
    try:
        account = await client.api.v2010.accounts(account_sid).fetch_async()
    except TwilioException as exc:
        raise CheckFailed(refusal_of(exc, doing="account fetch").reason) from None
    finally:
        await http.close()
    return f"account {account.sid} ({account.friendly_name}): {account.status}"


class TwilioMedia:
    """Fetches the media of a customer's message (see the module), for `channel`'s logs."""

    def __init__(self, *, account_sid: str, auth_token: str, api_url: str, channel: str) -> None:
        self._credentials = {"Authorization": aiohttp.encode_basic_auth(account_sid, auth_token)}
        self._origins = {origin(api_url), TWILIO_MEDIA_ORIGIN}
        self._channel = channel
        self._session: aiohttp.ClientSession | None = None

    async def start(self) -> None:
        self._session = aiohttp.ClientSession()

    async def stop(self) -> None:
        if self._session is not None:
            await self._session.close()

    async def fetch(self, url: str, *, name: str, kind: str, max_bytes: int) -> Attachment:
        """The file at a `MediaUrl` (`channels.common.downloads.capped_file`); on any failure one without
        data whose problem says it could not be fetched from Twilio."""
        unfetched = Attachment(name, kind, b"", problem=_("{name} could not be fetched from Twilio", name=name))
        channel = self._channel
        if self._session is None or origin(url) not in self._origins:
            log.warning("%s: media %s not fetched: %s is not Twilio's media host", channel, name, urlsplit(url).netloc)
            return unfetched
        try:
            for _redirect in range(MAX_REDIRECTS + 1):
                async with self._session.get(
                    url, headers=self._credentials if origin(url) in self._origins else None, allow_redirects=False
                ) as response:
                    if response.status in (301, 302, 303, 307, 308) and "Location" in response.headers:
                        url = urljoin(url, response.headers["Location"])
                        continue
                    if response.status != 200:
                        log.warning("%s: fetching media %s failed: HTTP %s", channel, name, response.status)
                        return unfetched
                    return await capped_file(response, name=name, kind=kind, max_bytes=max_bytes)
        except aiohttp.ClientError as exc:
            log.warning("%s: fetching media %s failed: %s", channel, name, type(exc).__name__)
            return unfetched
        log.warning("%s: fetching media %s failed: more than %d redirects", channel, name, MAX_REDIRECTS)
        return unfetched
