"""SMS as a customer channel, through Twilio: webhooks in, the twilio SDK's async REST client out.

Twilio posts each incoming text to `POST /sms/twilio`, signed with the account's auth token
over the URL it called and the form fields; the URL is rebuilt from `sms.public_url`, since
behind a proxy the request's own URL is not what Twilio signed. A message is stored under its
`MessageSid` (Twilio's retries are answered once) before Twilio hears an empty TwiML
`<Response/>`; the answer goes out later through the outbox, as plain text fitted to
`sms.max_segments` (`channels.sms_format`). The sender's number is a verified phone, so an SMS
customer is the same person as on any other channel with that number.

Carrier keywords never reach the bot: STOP and its synonyms opt the number out (Twilio
confirms it itself, so nothing is sent, not even to say so), START and its synonyms opt it
back in, HELP answers `sms.help_text`. Twilio's delivery reports arrive on
`POST /sms/twilio/status` and are kept per reply, never moving backwards.

MMS media are fetched with the account's credentials only from Twilio's own API host (a forged
media URL must not receive them), following Twilio's redirect to its CDN without them.
"""

from __future__ import annotations

import asyncio
import logging
import mimetypes
import re
from collections import OrderedDict
from typing import TYPE_CHECKING, Protocol
from urllib.parse import parse_qsl, urljoin, urlsplit

import aiohttp
from aiohttp import web
from multidict import MultiDict
from twilio.base import values
from twilio.base.exceptions import TwilioException
from twilio.http.async_http_client import AsyncTwilioHttpClient
from twilio.request_validator import RequestValidator, get_signature_algorithm
from twilio.rest import Client
from twilio.twiml.messaging_response import MessagingResponse

from channels.downloads import capped_file, origin
from channels.sms_format import gsm7_letters, sms_body
from channels.sms_settings import SmsSettings
from channels.webhook_bodies import read_at_most
from core.channel import (
    Capabilities,
    ChannelRecords,
    CheckFailed,
    DeliveryError,
    HubPort,
    Intake,
    Languages,
    StorageUnavailable,
)
from core.languages import _, speaking
from core.messages import Address, Attachment, InboundMessage, StoredMessage
from core.metrics import Rejection, rejected
from core.ops.request_guards import bounded_int

if TYPE_CHECKING:
    from core.settings import Settings

log = logging.getLogger(__name__)

CHANNEL = "sms"
WEBHOOK_PATH = "/sms/twilio"
STATUS_PATH = "/sms/twilio/status"
OPT_OUT_WORDS = frozenset({"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT"})
OPT_IN_WORDS = frozenset({"START", "UNSTOP", "YES"})
HELP_WORDS = frozenset({"HELP", "INFO"})
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
UNSUBSCRIBED = 21610
"""Twilio's "Attempt to send to unsubscribed recipient": the number replied STOP."""
UNREACHABLE_CODES = frozenset({21211, 21214, 21612, 21614, 30004, 30005, 30006})
"""Errors that say the number will not receive texts (invalid, not mobile, blocked, unknown,
a landline): the conversation is marked unreachable. (21610, STOP, is an opt-out: START undoes it.)"""
RETRYABLE_CODES = frozenset({20003, 21611})
"""Refusals that are not about the message: credentials being rotated, the sender's queue full."""
MAX_FORM_BYTES = 64 * 1024
"""A Twilio webhook is a form of a few KB (ten media URLs included)."""
MEDIA_DEADLINE_S = 10.0
"""All of a message's media must be fetched by then: Twilio waits 15 s for the webhook's answer."""
TWILIO_MEDIA_ORIGIN = ("https", "api.twilio.com")
_E164 = re.compile(r"\+[1-9]\d{6,14}")
SEND_TIMEOUT_S = 20
"""The twilio SDK's async client ignores its own `timeout`: a hanging API must not hold the
conversation's outbox forever."""
MAX_REDIRECTS = 5
MAX_ID_CHARS = 64
"""Sids are 34 characters, numbers at most 16 (`whatsapp:+…` 25, sender names 11)."""
_ID_FIELDS = frozenset({"MessageSid", "From", "To"})
SAID_MEMORY = 1000


def keyword(body: str) -> str | None:
    """The carrier keyword a text consists of ("stop", " Stop! "), or None."""
    word = re.sub(r"[^A-Za-z]", "", body).upper() if len(body) <= 20 else ""
    return word if word in OPT_OUT_WORDS | OPT_IN_WORDS | HELP_WORDS else None


def _empty_twiml() -> web.Response:
    return web.Response(text=str(MessagingResponse()), content_type="application/xml")


class SmsHub(Intake, ChannelRecords, Languages, Protocol):
    """What SMS asks of the hub."""


class SmsChannel:
    """Customers who text the hub's Twilio number."""

    name = CHANNEL
    settings_model = SmsSettings

    @staticmethod
    def configured(settings: Settings) -> bool:
        """On when the account, its auth token and a sender are set."""
        return settings.section(SmsSettings).enabled

    def __init__(self, settings: Settings, hub: HubPort) -> None:
        sms = settings.section(SmsSettings)
        if not sms.enabled or sms.auth_token is None:
            raise ValueError(
                "sms: set SUPPORTHUB_SMS__ACCOUNT_SID, SUPPORTHUB_SMS__AUTH_TOKEN and "
                "SUPPORTHUB_SMS__FROM_NUMBER (or MESSAGING_SERVICE_SID) to enable SMS"
            )
        self._settings: SmsSettings = sms
        self._token = sms.auth_token.get_secret_value()
        self._validator = RequestValidator(self._token)
        self._shared_key_validator = (
            RequestValidator(sms.webhook_signing_key.get_secret_value()) if sms.webhook_signing_key else None
        )
        self._max_file_bytes = settings.attachments.max_bytes
        self._max_files = settings.attachments.max_files
        self._media_origins = {origin(sms.api_url), TWILIO_MEDIA_ORIGIN}
        self.capabilities = Capabilities(max_text_length=1600)
        self._hub: SmsHub = hub
        self._http: AsyncTwilioHttpClient | None = None
        self._client: Client | None = None
        self._media: aiohttp.ClientSession | None = None
        self._said: OrderedDict[str, None] = OrderedDict()

    def routes(self) -> list[web.AbstractRouteDef]:
        return [web.post(WEBHOOK_PATH, self._incoming), web.post(STATUS_PATH, self._status)]

    async def start(self) -> None:
        # No max_retries: the SDK's retrying client repeats a POST on a 5xx, which can send an
        # SMS twice. The outbox retries instead.
        self._http = AsyncTwilioHttpClient()
        self._client = Client(self._settings.account_sid, self._token, http_client=self._http)
        self._client.api.base_url = self._settings.api_url
        self._media = aiohttp.ClientSession()

    async def stop(self) -> None:
        if self._http is not None:
            await self._http.close()
        if self._media is not None:
            await self._media.close()

    async def check(self) -> str:
        """Fetch the account with its sid and auth token, on a client of its own (closed after)."""
        settings = self._settings
        http = AsyncTwilioHttpClient()
        try:
            client = Client(settings.account_sid, self._token, http_client=http)
            client.api.base_url = settings.api_url
            account = await client.api.v2010.accounts(settings.account_sid).fetch_async()
        except TwilioException as exc:
            status, code = getattr(exc, "status", 0) or 0, getattr(exc, "code", None)
            raise CheckFailed(f"account fetch: HTTP {status}, error {code}: {getattr(exc, 'msg', '') or exc}") from None
        finally:
            await http.close()
        return f"account {account.sid} ({account.friendly_name}): {account.status}"

    async def send(self, address: Address, message: StoredMessage) -> str | None:
        hub, client = self._started()
        settings = self._settings
        try:
            async with asyncio.timeout(SEND_TIMEOUT_S):
                created = await client.messages.create_async(
                    to=address.chat_id,
                    body=sms_body(
                        message.text,
                        message.citations,
                        max_segments=settings.max_segments,
                        plain_letters=settings.plain_letters,
                    ),
                    from_=settings.from_number or values.unset,
                    messaging_service_sid=settings.messaging_service_sid or values.unset,
                    status_callback=settings.public_url + STATUS_PATH if settings.status_callbacks else values.unset,
                )
        except TwilioException as exc:
            status, code = getattr(exc, "status", 0) or 0, getattr(exc, "code", None)
            reason = _masked_numbers(f"twilio: HTTP {status}, error {code}: {getattr(exc, 'msg', '') or exc}")
            if code == UNSUBSCRIBED:
                await hub.set_opted_out(address, True)
            if status == 429 or status >= 500 or code in RETRYABLE_CODES:
                raise DeliveryError(reason) from None
            raise DeliveryError(reason, permanent=True, unreachable=code in UNREACHABLE_CODES) from None
        except (aiohttp.ClientError, TimeoutError) as exc:  # Twilio may have taken it: see Known limits
            raise DeliveryError(f"twilio: {type(exc).__name__}: {exc}") from None
        return str(created.sid)

    # -- inbound ---------------------------------------------------------------------------

    async def _incoming(self, request: web.Request) -> web.Response:
        """Signature first (403, nothing stored); keywords handled here; anything else stored
        before Twilio hears the empty `<Response/>`."""
        taken = await self._signed_form(request)
        if isinstance(taken, web.Response):
            return taken
        hub, form = taken
        sid, sender, body = form.get("MessageSid", ""), form.get("From", ""), form.get("Body", "")
        if not sid or not sender:
            rejected(CHANNEL, Rejection.BAD_INPUT)
            return web.json_response({"error": "MessageSid and From are required"}, status=400)
        address = Address(CHANNEL, sender)
        word = keyword(body)
        try:
            if word in OPT_OUT_WORDS:
                await hub.set_opted_out(address, True)
                log.info("sms: %s opted out", _masked(sender))
                return _empty_twiml()
            if word in OPT_IN_WORDS and (await hub.set_opted_out(address, False) or word != "YES"):
                log.info("sms: %s opted in", _masked(sender))
                return _empty_twiml()  # a "yes" from a number that never opted out is for the bot
            if word in HELP_WORDS:
                with speaking(await hub.language_at(address)):
                    return self._help_once(sid)
            if not (await hub.admit(channel=CHANNEL, sender=sender)).allowed:
                return _empty_twiml()  # dropped and counted by the hub
            await hub.receive(
                InboundMessage(
                    address=address,
                    external_id=sid,
                    sender_id=sender,
                    text=body,
                    attachments=await self._attachments(form, address),
                    verified_phone=sender if _E164.fullmatch(sender) else None,
                )
            )
        except StorageUnavailable as exc:  # nothing kept (see README: Twilio's retries)
            return web.Response(status=503, headers={"Retry-After": str(exc.retry_after_s)})
        return _empty_twiml()

    async def _status(self, request: web.Request) -> web.Response:
        """A delivery report on one of our replies; stored unless a later one came first."""
        taken = await self._signed_form(request)
        if isinstance(taken, web.Response):
            return taken
        hub, form = taken
        sid, status = form.get("MessageSid", ""), form.get("MessageStatus", "")
        if not sid or not status:
            rejected(CHANNEL, Rejection.BAD_INPUT)
            return web.json_response({"error": "MessageSid and MessageStatus are required"}, status=400)
        if status not in STATUS_RANKS:  # a status added after this was written: nothing to do
            return web.Response(status=204)
        error = bounded_int(form.get("ErrorCode", ""), max_digits=9)
        unreachable = (
            f"SMS {status}: Twilio error {error}"
            if status in ("undelivered", "failed") and error in UNREACHABLE_CODES
            else None
        )
        try:
            await hub.delivery_status(CHANNEL, sid, status, STATUS_RANKS[status], unreachable=unreachable)
            recipient = form.get("To", "")
            if error == UNSUBSCRIBED and recipient:
                await hub.set_opted_out(Address(CHANNEL, recipient), True)
        except StorageUnavailable as exc:
            return web.Response(status=503, headers={"Retry-After": str(exc.retry_after_s)})
        return web.Response(status=204)

    async def _signed_form(self, request: web.Request) -> tuple[SmsHub, MultiDict[str]] | web.Response:
        """A webhook's form once Twilio's signature over it is checked, with the hub to hand it
        to; otherwise the answer to give (4xx, 403, or 503 while the channel is not started)."""
        form = await _form(request)
        if isinstance(form, web.Response):
            return form
        if not self._signed(request, form):
            return _refusal(request)
        if (problem := _unstorable(form)) is not None:
            rejected(CHANNEL, Rejection.BAD_INPUT)
            return web.json_response({"error": problem}, status=400)
        return self._hub, form

    def _signed(self, request: web.Request, form: MultiDict[str]) -> bool:
        """Twilio's signature over the public URL it called (path and query included) and the
        form: with the auth token, or — where X-Twilio-Webhooks-Signature-Settings names
        HMAC-SHA256 — with the Webhooks SharedKey secret (`sms.webhook_signing_key`)."""
        signature = request.headers.get("X-Twilio-Signature", "")
        settings_header = request.headers.get("X-Twilio-Webhooks-Signature-Settings")
        validator = self._shared_key_validator if settings_header else self._validator
        if not signature or validator is None:
            return False
        algorithm = get_signature_algorithm(settings_header)
        return bool(validator.validate(self._settings.public_url + request.path_qs, form, signature, algorithm))

    def _help_once(self, sid: str) -> web.Response:
        """HELP is answered in the TwiML itself (not stored); a redelivery gets an empty one."""
        if sid in self._said:
            return _empty_twiml()
        self._said[sid] = None
        while len(self._said) > SAID_MEMORY:
            self._said.popitem(last=False)
        response = MessagingResponse()
        help_text = _(self._settings.help_text)
        response.message(gsm7_letters(help_text) if self._settings.plain_letters else help_text)
        return web.Response(text=str(response), content_type="application/xml")

    async def _attachments(self, form: MultiDict[str], address: Address) -> tuple[Attachment, ...]:
        """Every `MediaUrl{i}`, fetched within one deadline (Twilio waits 15 s for our answer);
        those past `attachments.max_files` are only named, not fetched. A file's problem is
        written in the conversation's language (looked up only for a message with media)."""
        count = bounded_int(form.get("NumMedia", "0"), max_digits=3) or 0
        if not count:
            return ()
        with speaking(await self._hub.language_at(address)):
            return await self._fetched(form, count)

    async def _fetched(self, form: MultiDict[str], count: int) -> tuple[Attachment, ...]:
        found = []
        deadline = asyncio.get_running_loop().time() + MEDIA_DEADLINE_S
        for index in range(min(count, 100)):
            url, kind = (
                form.get(f"MediaUrl{index}", ""),
                form.get(f"MediaContentType{index}") or "application/octet-stream",
            )
            name = f"mms-{index + 1}{mimetypes.guess_extension(kind.split(';')[0].strip()) or ''}"
            if not url or index >= self._max_files:
                found.append(Attachment(name, kind, b""))
                continue
            try:
                async with asyncio.timeout_at(deadline):
                    found.append(await self._download(url, name, kind))
            except TimeoutError:
                found.append(Attachment(name, kind, b"", problem=_("{name} could not be fetched in time", name=name)))
        return tuple(found)

    async def _download(self, url: str, name: str, kind: str) -> Attachment:
        """The media file (`channels.downloads.capped_file`). The account's credentials go
        only to Twilio's API host; its redirect to the CDN is followed without them."""
        unfetched = Attachment(name, kind, b"", problem=_("{name} could not be fetched from Twilio", name=name))
        if self._media is None or origin(url) not in self._media_origins:
            log.warning("sms: media %s not fetched: %s is not Twilio's media host", name, urlsplit(url).netloc)
            return unfetched
        credentials = {"Authorization": aiohttp.encode_basic_auth(self._settings.account_sid, self._token)}
        try:
            for _redirect in range(MAX_REDIRECTS + 1):
                async with self._media.get(
                    url, headers=credentials if origin(url) in self._media_origins else None, allow_redirects=False
                ) as response:
                    if response.status in (301, 302, 303, 307, 308) and "Location" in response.headers:
                        url = urljoin(url, response.headers["Location"])
                        continue
                    if response.status != 200:
                        log.warning("sms: fetching media %s failed: HTTP %s", name, response.status)
                        return unfetched
                    return await capped_file(response, name=name, kind=kind, max_bytes=self._max_file_bytes)
        except aiohttp.ClientError as exc:
            log.warning("sms: fetching media %s failed: %s", name, type(exc).__name__)
            return unfetched
        log.warning("sms: fetching media %s failed: more than %d redirects", name, MAX_REDIRECTS)
        return unfetched

    def _started(self) -> tuple[SmsHub, Client]:
        if self._client is None:
            raise DeliveryError("the SMS channel is not started")
        return self._hub, self._client


def _masked(number: str) -> str:
    """A phone number for the log: enough to tell numbers apart, not to dial one."""
    return number[:4] + "…" + number[-2:] if len(number) > 6 else "…"


def _masked_numbers(text: str) -> str:
    """Twilio's error texts quote the recipient's number; logs and dead letters keep it masked."""
    return re.sub(r"\+\d{7,15}", lambda match: _masked(match.group()), text)


async def _form(request: web.Request) -> MultiDict[str] | web.Response:
    """A webhook's form fields, read whole but never past what Twilio sends; a 4xx for
    anything that is not a UTF-8 urlencoded form (checked before the signature can be)."""
    if request.content_type != "application/x-www-form-urlencoded":
        rejected(CHANNEL, Rejection.BAD_INPUT)
        return web.json_response({"error": "expected a form (application/x-www-form-urlencoded)"}, status=415)
    body = await read_at_most(request, MAX_FORM_BYTES)
    if body is None:
        rejected(CHANNEL, Rejection.BAD_INPUT)
        return web.json_response({"error": "the body is larger than Twilio sends"}, status=413)
    try:
        return MultiDict(parse_qsl(body.decode("utf-8"), keep_blank_values=True, errors="strict"))
    except (UnicodeDecodeError, ValueError):
        rejected(CHANNEL, Rejection.BAD_INPUT)
        return web.json_response({"error": "the form is not UTF-8"}, status=400)


def _unstorable(form: MultiDict[str]) -> str | None:
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


def _refusal(request: web.Request) -> web.Response:
    log.info("sms: refused a request to %s without a valid Twilio signature (HTTP 403)", request.path)
    rejected(CHANNEL, Rejection.BAD_SIGNATURE)
    return web.json_response({"error": "the request is not signed by Twilio for this URL"}, status=403)
