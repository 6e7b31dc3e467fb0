"""WhatsApp through a Twilio WhatsApp sender: Twilio's Messages API with `whatsapp:+E164` addresses,
webhooks signed like SMS's (`channels.twilio.common`, shared with `channels.sms.channel`).

Twilio posts each customer message to `POST /whatsapp/twilio` and each status of a message we
sent to `POST /whatsapp/twilio/status`, both as forms signed over `whatsapp.public_url` + the
path; the signature is checked before anything is parsed or handed on. WhatsApp's fields on top
of SMS's (Twilio's "incoming message webhook" guide): `ProfileName` (the customer's profile
name), `ButtonPayload`/`ButtonText` (a quick-reply button pressed). Twilio gives a voice note
as one `MediaUrl0` of type `audio/ogg` (WhatsApp records them as Ogg Opus) with no other mark,
so an `audio/ogg` file is taken for a voice note (an .ogg file sent as audio would be too).

Sends: `Body` for free-form text, `ContentSid`/`ContentVariables` for an approved template (the
only way Twilio sends a WhatsApp template since April 2025, Twilio error 63016's page). Buttons
and lists need Content templates made beforehand, so choices go as numbered lines of text.

Twilio's error codes that decide what a failed send becomes (twilio.com/docs/api/errors/<code>,
and "List of Corresponding Twilio and WhatsApp Error Codes"):
- 63016 "Failed to send freeform message because you are outside the allowed window": the
  customer last wrote more than 24 hours ago; the reply is held. Twilio usually accepts such a
  message and reports 63016 in its status callback (`Report.window_closed`); a 63016 answered
  to the send itself is handled alike.
- 63003 "Channel could not find To address" (inactive or invalid), 63024 "Invalid message
  recipient" (not a WhatsApp user, WhatsApp 1002/1026), 63014 "blocked by user action" (the
  customer blocked the sender), 21211 invalid To: the number cannot get our WhatsApp messages.
- 63018 "Rate limit exceeded for Channel" (WhatsApp 429/471/1015), 63012 (WhatsApp's internal
  errors, 500/1011/1014), 20003 (credentials being rotated), 21611 (the sender's queue full),
  HTTP 429 and 5xx: worth retrying.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, Mapping, Sequence

import aiohttp
from aiohttp import web
from multidict import MultiDict
from twilio.base import values
from twilio.base.exceptions import TwilioException
from twilio.http.async_http_client import AsyncTwilioHttpClient
from twilio.rest import Client

from channels.twilio.common import (
    SEND_TIMEOUT_S,
    STATUS_RANKS,
    TwilioMedia,
    TwilioSignatures,
    check_account,
    empty_twiml,
    masked_numbers,
    open_client,
    refusal_of,
    signed_form,
)
from channels.whatsapp.route import Choice, Incoming, Media, Report, Template, Webhooks
from channels.whatsapp.settings import E164, WhatsAppSettings
from core.channel import CustomerUnreachable, DeliveryError, DeliveryHeld, DeliveryRefused, StorageUnavailable
from core.languages import _
from core.messages import Attachment
from core.metrics import Rejection, rejected
from core.ops.request_guards import bounded_int

CHANNEL = "whatsapp"
WEBHOOK_PATH = "/whatsapp/twilio"
STATUS_PATH = "/whatsapp/twilio/status"
PREFIX = "whatsapp:"
WINDOW_CLOSED = 63016
UNREACHABLE_CODES = frozenset({21211, 63003, 63014, 63024})
RETRYABLE_CODES = frozenset({20003, 21611, 63012, 63018})
ERROR_TITLES = {
    21211: "invalid To number",
    63003: "channel could not find To address",
    63012: "channel provider returned an internal service error",
    63014: "message blocked by user action",
    63016: "outside the allowed window",
    63018: "rate limit exceeded for channel",
    63024: "invalid message recipient",
}
"""Twilio's titles for the codes this route acts on, for `Report.error` (the callback carries
only the code)."""
FAILED = frozenset({"failed", "undelivered"})
VOICE_NOTE = "audio/ogg"
MAX_MEDIA = 10
"""WhatsApp carries one file per message; a form naming more is read no further than this."""
MEDIA_TIMEOUT_S = 10.0
"""One file must be fetched by then: a stalled CDN must not hold the caller (Twilio waits 15 s
for a webhook's answer)."""


class TwilioRoute:
    """WhatsApp through Twilio (see the module); implements `channels.whatsapp.route.Route`."""

    max_text = 1600

    def __init__(self, settings: WhatsAppSettings) -> None:
        if not settings.account_sid or settings.auth_token is None:
            raise ValueError(
                "whatsapp: the Twilio route needs SUPPORTHUB_WHATSAPP__ACCOUNT_SID and SUPPORTHUB_WHATSAPP__AUTH_TOKEN"
            )
        self._settings = settings
        self._token = settings.auth_token.get_secret_value()
        self._signatures = TwilioSignatures(
            auth_token=self._token,
            signing_key=settings.webhook_signing_key.get_secret_value() if settings.webhook_signing_key else None,
            public_url=settings.public_url,
        )
        self._media = TwilioMedia(
            account_sid=settings.account_sid, auth_token=self._token, api_url=settings.api_url, channel=CHANNEL
        )
        self._http: AsyncTwilioHttpClient | None = None
        self._client: Client | None = None

    def routes(self, webhooks: Webhooks) -> list[web.AbstractRouteDef]:
        async def incoming(request: web.Request) -> web.Response:
            return await self._take(request, lambda form: webhooks.message(parse_incoming(form)), empty_twiml)

        async def status(request: web.Request) -> web.Response:
            async def hand_on(form: MultiDict[str]) -> None:
                if (report := parse_report(form)) is not None:
                    await webhooks.report(report)

            return await self._take(request, hand_on, lambda: web.Response(status=204))

        return [web.post(WEBHOOK_PATH, incoming), web.post(STATUS_PATH, status)]

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

    async def send_text(self, number: str, text: str) -> str:
        return await self._create(number, body=text)

    async def send_choices(self, number: str, text: str, choices: Sequence[Choice], *, button: str) -> str:
        """`text` with the choices as numbered lines ("1. Great"): Twilio sends buttons and lists
        only from Content templates made beforehand. The customer answers by typing the digit or
        the words, which reach the bot as a text (no `Incoming.choice`); `button` is unused."""
        lines = "\n".join(f"{index}. {choice.title}" for index, choice in enumerate(choices, start=1))
        room = self.max_text - len(lines) - 2
        head = text if len(text) <= room else text[: max(room - 1, 0)] + "…"
        return await self._create(number, body=f"{head}\n\n{lines}" if lines else text)

    async def send_template(self, number: str, template: Template) -> str:
        """The Content template `template.name` (HX…), its one variable {{1}} set when given
        (the Content SID has its language: `template.language` is not sent)."""
        variables = json.dumps({"1": template.parameter}) if template.parameter is not None else values.unset
        return await self._create(number, content_sid=template.name, content_variables=variables)

    async def download(self, media: Media, *, name: str, max_bytes: int) -> Attachment:
        try:
            async with asyncio.timeout(MEDIA_TIMEOUT_S):
                return await self._media.fetch(media.ref, name=name, kind=media.kind, max_bytes=max_bytes)
        except TimeoutError:
            return Attachment(name, media.kind, b"", problem=_("{name} could not be fetched in time", name=name))

    async def mark_read(self, message_id: str, *, typing: bool) -> None:
        """Nothing: this route sends no read receipts or typing indicator, so the customer sees
        the delivered ticks only. (Twilio's typing indicator for WhatsApp, which also marks the
        message read, is a Public Beta outside Twilio's SLA, not used here.)"""

    # -- inside ----------------------------------------------------------------------------

    async def _take(
        self,
        request: web.Request,
        hand_on: Callable[[MultiDict[str]], Awaitable[None]],
        answer: Callable[[], web.Response],
    ) -> web.Response:
        """A webhook: the signed form (403 with nothing handed on otherwise), handed on once
        parsed (400 when it cannot be), 503 when the hub could keep nothing."""
        form = await signed_form(request, self._signatures, channel=CHANNEL)
        if isinstance(form, web.Response):
            return form
        try:
            await hand_on(form)
        except BadForm as exc:
            rejected(CHANNEL, Rejection.BAD_INPUT)
            return web.json_response({"error": str(exc)}, status=400)
        except StorageUnavailable as exc:
            return web.Response(status=503, headers={"Retry-After": str(exc.retry_after_s)})
        return answer()

    async def _create(
        self,
        number: str,
        *,
        body: str | object = values.unset,
        content_sid: str | object = values.unset,
        content_variables: str | object = values.unset,
    ) -> str:
        if self._client is None:
            raise DeliveryError("the WhatsApp channel's Twilio route is not started")
        settings = self._settings
        try:
            async with asyncio.timeout(SEND_TIMEOUT_S):
                created = await self._client.messages.create_async(
                    to=PREFIX + number,
                    from_=PREFIX + settings.from_number if settings.from_number else values.unset,
                    messaging_service_sid=settings.messaging_service_sid or values.unset,
                    status_callback=settings.public_url + STATUS_PATH if settings.status_callbacks else values.unset,
                    body=body,
                    content_sid=content_sid,
                    content_variables=content_variables,
                )
        except TwilioException as exc:
            raise self._refused(exc) from None
        except (aiohttp.ClientError, TimeoutError) as exc:  # Twilio may have taken it: the outbox decides
            raise DeliveryError(masked_numbers(f"twilio: {type(exc).__name__}: {exc}")) from None
        return str(created.sid)

    def _refused(self, exc: TwilioException) -> DeliveryError:
        """What Twilio's refusal means for the outbox (see the module); numbers masked, and the
        auth token never in the reason, whatever Twilio's text holds."""
        refused = refusal_of(exc)
        reason = refused.reason.replace(self._token, "…")
        if refused.code == WINDOW_CLOSED:
            return DeliveryHeld(reason)
        if refused.status == 429 or refused.status >= 500 or refused.code in RETRYABLE_CODES:
            return DeliveryError(reason)
        return (CustomerUnreachable if refused.code in UNREACHABLE_CODES else DeliveryRefused)(reason)


class BadForm(ValueError):
    """A signed form this route cannot use (the reason is answered with a 400)."""


def parse_incoming(form: Mapping[str, str]) -> Incoming:
    """A customer's message from Twilio's form (see the module); `BadForm` when the sid is
    missing or the sender is not a WhatsApp number in E.164."""
    sid = form.get("MessageSid", "")
    number = _number(form.get("From", ""))
    if not sid:
        raise BadForm("MessageSid is required")
    if number is None:
        raise BadForm("From is not a WhatsApp number (whatsapp:+E.164)")
    return Incoming(
        message_id=sid,
        number=number,
        text=form.get("Body") or form.get("ButtonText") or "",
        name=form.get("ProfileName") or None,
        media=_media(form),
        choice=form.get("ButtonPayload") or None,
    )


def _media(form: Mapping[str, str]) -> tuple[Media, ...]:
    """Every `MediaUrl{i}` below `NumMedia` (up to `MAX_MEDIA`); an `audio/ogg` one is a voice note."""
    found = []
    for index in range(min(bounded_int(form.get("NumMedia", "0"), max_digits=3) or 0, MAX_MEDIA)):
        url = form.get(f"MediaUrl{index}", "")
        kind = form.get(f"MediaContentType{index}") or "application/octet-stream"
        if url:
            found.append(Media(ref=url, kind=kind, voice=kind.split(";")[0].strip().lower() == VOICE_NOTE))
    return tuple(found)


def parse_report(form: Mapping[str, str]) -> Report | None:
    """A status callback as a `Report`; None for a status this route does not know (one Twilio
    added later: nothing to do); `BadForm` without the sid or status."""
    sid, status = form.get("MessageSid", ""), form.get("MessageStatus", "")
    if not sid or not status:
        raise BadForm("MessageSid and MessageStatus are required")
    if status not in STATUS_RANKS:
        return None
    code = bounded_int(form.get("ErrorCode", ""), max_digits=9) if status in FAILED else None
    return Report(
        message_id=sid,
        status=status,
        rank=STATUS_RANKS[status],
        recipient=_number(form.get("To", "")),
        error=None if code is None else _error_line(code),
        window_closed=code == WINDOW_CLOSED,
        unreachable=code in UNREACHABLE_CODES,
    )


def _error_line(code: int) -> str:
    title = ERROR_TITLES.get(code)
    return f"Twilio error {code}: {title}" if title else f"Twilio error {code}"


def _number(address: str) -> str | None:
    """The E.164 number of a `whatsapp:+…` address, None for anything else."""
    number = address.removeprefix(PREFIX)
    return number if address.startswith(PREFIX) and E164.fullmatch(number) else None
