"""SMS as a customer channel, through Twilio: webhooks in, the twilio SDK's async REST client out.

Twilio posts each incoming text to `POST /sms/twilio`, signed with the account's auth token
over the URL it called and the form fields; the URL is rebuilt from `sms.public_url`, since
behind a proxy the request's own URL is not what Twilio signed. A message is stored under its
`MessageSid` (Twilio's retries are answered once) before Twilio hears an empty TwiML
`<Response/>`; the answer goes out later through the outbox, as plain text fitted to
`sms.max_segments` (`channels.sms.format`). The sender's number is a verified phone, so an SMS
customer is the same person as on any other channel with that number.

Carrier keywords never reach the bot: STOP and its synonyms opt the number out (Twilio
confirms it itself, so nothing is sent, not even to say so), START and its synonyms opt it
back in, HELP answers `sms.help_text`. Twilio's delivery reports arrive on
`POST /sms/twilio/status` and are kept per reply, never moving backwards.

MMS media are fetched with the account's credentials only from Twilio's own API host (a forged
media URL must not receive them), following Twilio's redirect to its CDN without them. The form
reading, signatures, status ranks and media fetching are shared with WhatsApp's Twilio route
(`channels.twilio.common`).
"""

from __future__ import annotations

import asyncio
import logging
import mimetypes
import re
from collections import OrderedDict
from typing import TYPE_CHECKING, Protocol

import aiohttp
from aiohttp import web
from multidict import MultiDict
from twilio.base import values
from twilio.base.exceptions import TwilioException
from twilio.http.async_http_client import AsyncTwilioHttpClient
from twilio.rest import Client
from twilio.twiml.messaging_response import MessagingResponse

from channels.common.opt_out import HELP_WORDS, OPT_IN_WORDS, OPT_OUT_WORDS, keyword
from channels.sms.format import gsm7_letters, sms_body
from channels.sms.settings import SmsSettings
from channels.twilio.common import (
    SEND_TIMEOUT_S,
    STATUS_RANKS,
    TwilioMedia,
    TwilioSignatures,
    check_account,
    empty_twiml,
    masked,
    open_client,
    refusal_of,
    signed_form,
)
from core.channel import (
    Capabilities,
    ChannelRecords,
    CustomerUnreachable,
    DeliveryError,
    DeliveryRefused,
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
UNSUBSCRIBED = 21610
"""Twilio's "Attempt to send to unsubscribed recipient": the number replied STOP."""
UNREACHABLE_CODES = frozenset({21211, 21214, 21612, 21614, 30004, 30005, 30006})
"""Errors that say the number will not receive texts (invalid, not mobile, blocked, unknown,
a landline): the conversation is marked unreachable. (21610, STOP, is an opt-out: START undoes it.)"""
RETRYABLE_CODES = frozenset({20003, 21611})
"""Refusals that are not about the message: credentials being rotated, the sender's queue full."""
MEDIA_DEADLINE_S = 10.0
"""All of a message's media must be fetched by then: Twilio waits 15 s for the webhook's answer."""
_E164 = re.compile(r"\+[1-9]\d{6,14}")
SAID_MEMORY = 1000


class SmsHub(Intake, ChannelRecords, Languages, Protocol):
    """What SMS asks of the hub."""


class SmsChannel:
    """Customers who text the hub's Twilio number."""

    name = CHANNEL
    settings_model = SmsSettings
    sandbox_pane = "channels.sms.sandbox:SmsPane"

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
        self._signatures = TwilioSignatures(
            auth_token=self._token,
            signing_key=sms.webhook_signing_key.get_secret_value() if sms.webhook_signing_key else None,
            public_url=sms.public_url,
        )
        self._max_file_bytes = settings.attachments.max_bytes
        self._max_files = settings.attachments.max_files
        self._media = TwilioMedia(
            account_sid=sms.account_sid, auth_token=self._token, api_url=sms.api_url, channel=CHANNEL
        )
        self.capabilities = Capabilities(max_text_length=1600)
        self._hub: SmsHub = hub
        self._http: AsyncTwilioHttpClient | None = None
        self._client: Client | None = None
        self._said: OrderedDict[str, None] = OrderedDict()

    def routes(self) -> list[web.AbstractRouteDef]:
        return [web.post(WEBHOOK_PATH, self._incoming), web.post(STATUS_PATH, self._status)]

    async def start(self) -> None:
        self._http, self._client = open_client(self._settings.account_sid, self._token, self._settings.api_url)
        await self._media.start()

    async def stop(self) -> None:
        if self._http is not None:
            await self._http.close()
        await self._media.stop()

    async def check(self) -> str:
        """Fetch the account with its sid and auth token, on a client of its own (closed after)."""
        return await check_account(self._settings.account_sid, self._token, self._settings.api_url)

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
            refused = refusal_of(exc)
            if refused.code == UNSUBSCRIBED:
                await hub.set_opted_out(address, True)
            if refused.status == 429 or refused.status >= 500 or refused.code in RETRYABLE_CODES:
                raise DeliveryError(refused.reason) from None
            raise (CustomerUnreachable if refused.code in UNREACHABLE_CODES else DeliveryRefused)(
                refused.reason
            ) from None
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
                log.info("sms: %s opted out", masked(sender))
                return empty_twiml()
            if word in OPT_IN_WORDS and (await hub.set_opted_out(address, False) or word != "YES"):
                log.info("sms: %s opted in", masked(sender))
                return empty_twiml()  # a "yes" from a number that never opted out is for the bot
            if word in HELP_WORDS:
                with speaking(await hub.language_at(address)):
                    return self._help_once(sid)
            if not (await hub.admit(channel=CHANNEL, sender=sender)).allowed:
                return empty_twiml()  # dropped and counted by the hub
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
        return empty_twiml()

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
        form = await signed_form(request, self._signatures, channel=CHANNEL)
        if isinstance(form, web.Response):
            return form
        return self._hub, form

    def _help_once(self, sid: str) -> web.Response:
        """HELP is answered in the TwiML itself (not stored); a redelivery gets an empty one."""
        if sid in self._said:
            return empty_twiml()
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
        """The media file (`channels.twilio.common.TwilioMedia`): the account's credentials go
        only to Twilio's API host; its redirect to the CDN is followed without them."""
        return await self._media.fetch(url, name=name, kind=kind, max_bytes=self._max_file_bytes)

    def _started(self) -> tuple[SmsHub, Client]:
        if self._client is None:
            raise DeliveryError("the SMS channel is not started")
        return self._hub, self._client
