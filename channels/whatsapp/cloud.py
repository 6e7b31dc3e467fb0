"""WhatsApp through Meta's Cloud API: the `cloud` route of the WhatsApp channel (the seam is
`channels.whatsapp.route`), aiohttp to the Graph API and no SDK.

Webhooks. Meta checks the callback URL once with a GET (`hub.mode=subscribe`, `hub.verify_token`,
`hub.challenge`: the challenge is echoed when the token is ours), then POSTs every change as JSON
signed `X-Hub-Signature-256: sha256=<HMAC-SHA256 of the raw body with the app secret>`, checked on
the raw bytes before anything is parsed. A `messages` change carries customer messages
(`value.messages`) and reports on ours (`value.statuses`); only those to `phone_number_id` are taken
(one app may serve several numbers). Meta resends a webhook not answered 200, for days, so 503 with
Retry-After is answered only when the hub could keep nothing; a resend is harmless (the hub keeps a
message id once, and a report never moves a status back: `STATUS_RANKS`).

What a customer message becomes (`parse_webhook`): text; image, video, sticker, document and audio as
`Media` (the media id, fetched by `download`) with their caption as the text; a reply button or list
row pressed as its `choice` and title; a template's quick-reply button as its payload and text; a
location as its name, address and a map link; shared contacts as their names and numbers. Reactions,
`unsupported`, `system` (a number changed), orders, edits and any type newer than this are left out
(logged): nothing a support answer could use. So is a message without a phone number (a user known
only by a business-scoped id): this route answers numbers.

Sending: POST `/{version}/{phone-number-id}/messages` with the access token as Bearer. Up to 3
choices become reply buttons, up to 10 a list; an interactive body holds at most 1,024 characters, so
the head of a longer text goes first as a text message and the buttons come under its last
paragraphs. Graph errors become `DeliveryError`s by code, as Meta's "Error codes" page
(developers.facebook.com/documentation/business-messaging/whatsapp/support/error-codes) describes
them: see `REENGAGEMENT`, `RETRYABLE_CODES`, `UNREACHABLE_CODES`.

Media: GET `/{version}/{media-id}` gives a URL on lookaside.fbsbx.com, valid for minutes, that wants
the same Bearer token. The token goes only to the Graph API's origin and that host, never along a
redirect elsewhere.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import aiohttp
from aiohttp import web

from channels.common.downloads import origin
from channels.common.meta_graph import (
    BadWebhook,
    GraphClient,
    GraphError,
    MetaWebhook,
    json_object,
    json_objects,
    json_text,
    number,
)
from channels.whatsapp.route import Choice, Incoming, Media, Report, Template, Webhooks
from channels.whatsapp.settings import WhatsAppSettings
from core.channel import (
    CheckFailed,
    CustomerUnreachable,
    DeliveryError,
    DeliveryHeld,
    DeliveryRefused,
    StorageUnavailable,
)
from core.languages import _
from core.messages import Attachment
from core.metrics import Rejection, rejected
from core.ops.request_guards import bounded_int

log = logging.getLogger(__name__)

CHANNEL = "whatsapp"
WEBHOOK_PATH = "/whatsapp/webhook"
DOWNLOAD_TIMEOUT_S = 60.0
META_MEDIA_ORIGIN = ("https", "lookaside.fbsbx.com")
MAX_INTERACTIVE_BODY = 1024
MAX_BUTTONS = 3
MAX_BUTTON_TITLE = 20
MAX_ROWS = 10
MAX_ROW_TITLE = 24
MAX_LIST_BUTTON = 20
MAX_ID_CHARS = 255
"""The hub's column for a platform's message id; a wamid is about 60 characters."""
MAX_KIND_CHARS = 120
STATUS_RANKS = {"sent": 1, "delivered": 2, "failed": 2, "read": 3, "played": 4}
"""The Cloud API's statuses in their order: a late "delivered" never moves back a "read", and a
"failed" replaces a "sent". ("played" is a voice message's, which this route never sends.)"""
REENGAGEMENT = 131047
"""More than 24 hours since the customer last wrote: a template only, or wait for them."""
RETRYABLE_CODES = frozenset({0, 1, 2, 4, 190, 80007, 130429, 131000, 131016, 131056, 131057})
"""Refusals that are not about the message: throttling (4 app calls, 80007 account, 130429
throughput, 131056 too many to one number), Meta's own trouble (1 unknown, 2 service, 131000
unknown, 131016 unavailable, 131057 maintenance), an access token expired or being rotated (0, 190)."""
UNREACHABLE_CODES = frozenset({131026, 131030})
"""The number cannot get WhatsApp messages from this sender: 131026 undeliverable (not on
WhatsApp, an old app, terms not accepted; Meta also says nothing more when it blocked us) and
131030 not in a test number's allowed list."""
_NUMBER = re.compile(r"[1-9]\d{6,14}")
_MEDIA_ID = re.compile(r"\d{1,40}")
_NUMBERS = re.compile(r"(?<![\w.])\+?\d{7,15}(?!\w)")
_TEMPLATE_SPACES = re.compile(r" {4,}")
_MEDIA_TYPES = frozenset({"image", "video", "sticker", "document", "audio"})


class CloudRoute:
    """The Cloud API route (see the module)."""

    max_text = 4096

    def __init__(self, settings: WhatsAppSettings) -> None:
        token, secret, verify_token = settings.access_token, settings.app_secret, settings.verify_token
        if not settings.phone_number_id or token is None or secret is None or verify_token is None:
            raise ValueError(
                "whatsapp: the Cloud API route needs SUPPORTHUB_WHATSAPP__PHONE_NUMBER_ID, __ACCESS_TOKEN, "
                "__APP_SECRET and __VERIFY_TOKEN"
            )
        self._settings = settings
        self._graph = GraphClient(
            channel=CHANNEL,
            graph_url=settings.graph_url,
            version=settings.graph_version,
            token=token.get_secret_value(),
        )
        self._webhook = MetaWebhook(
            channel=CHANNEL, app_secret=secret.get_secret_value(), verify_token=verify_token.get_secret_value()
        )
        self._messages = f"/{settings.phone_number_id}/messages"
        self._media_origins = {origin(settings.graph_url), META_MEDIA_ORIGIN}

    def routes(self, webhooks: Webhooks) -> list[web.AbstractRouteDef]:
        async def incoming(request: web.Request) -> web.Response:
            return await self._incoming(request, webhooks)

        return [web.get(WEBHOOK_PATH, self._webhook.handshake), web.post(WEBHOOK_PATH, incoming)]

    async def start(self) -> None:
        await self._graph.start()

    async def stop(self) -> None:
        await self._graph.stop()

    async def check(self) -> str:
        """The business number as Meta has it, on a session of its own (the route is not started)."""
        number_id = self._settings.phone_number_id
        fields = {"fields": "display_phone_number,verified_name,quality_rating"}
        async with aiohttp.ClientSession() as session:
            try:
                found = await self._graph.call("GET", f"/{number_id}", params=fields, session=session)
            except GraphError as failure:
                raise CheckFailed(f"phone number {number_id}: {self._safe(str(failure))}") from None
        shown, name, quality = (
            json_text(found.get(key)) for key in ("display_phone_number", "verified_name", "quality_rating")
        )
        return f"phone number {number_id}: {shown} ({name}), quality {quality or 'unknown'}"

    # -- sending -----------------------------------------------------------------------------

    async def send_text(self, number: str, text: str) -> str:
        return await self._send(number, {"type": "text", "text": {"body": text, "preview_url": True}})

    async def send_template(self, number: str, template: Template) -> str:
        sent: dict[str, Any] = {"name": template.name, "language": {"code": template.language}}
        if template.parameter is not None:
            # Meta refuses a parameter with a new line, a tab or more than 4 spaces in a row (132018).
            text = _TEMPLATE_SPACES.sub("   ", re.sub(r"\s*[\n\t\r]\s*", " ", template.parameter))
            sent["components"] = [{"type": "body", "parameters": [{"type": "text", "text": text}]}]
        return await self._send(number, {"type": "template", "template": sent})

    async def send_choices(self, number: str, text: str, choices: Sequence[Choice], *, button: str) -> str:
        """Up to 3 choices as reply buttons, up to 10 as a list (more are left out, logged). A text
        longer than an interactive body goes first as a text message, without its last paragraphs,
        which carry the buttons; the id returned is then the text message's (the reply's first part)."""
        if not choices:
            return await self.send_text(number, text)
        if len(choices) > MAX_ROWS:
            log.warning("whatsapp: %d choices offered, the first %d sent", len(choices), MAX_ROWS)
        head, body = _split_for_interactive(text)
        first = await self.send_text(number, head) if head else None
        if len(choices) <= MAX_BUTTONS:
            buttons = [
                {"type": "reply", "reply": {"id": c.id, "title": _fit(c.title, MAX_BUTTON_TITLE)}} for c in choices
            ]
            interactive: dict[str, Any] = {"type": "button", "body": {"text": body}, "action": {"buttons": buttons}}
        else:
            rows = [{"id": c.id, "title": _fit(c.title, MAX_ROW_TITLE)} for c in choices[:MAX_ROWS]]
            action = {"button": _fit(button, MAX_LIST_BUTTON), "sections": [{"rows": rows}]}
            interactive = {"type": "list", "body": {"text": body}, "action": action}
        sent = await self._send(number, {"type": "interactive", "interactive": interactive})
        return first or sent

    async def mark_read(self, message_id: str, *, typing: bool) -> None:
        read: dict[str, Any] = {"messaging_product": "whatsapp", "status": "read", "message_id": message_id}
        if typing:
            read["typing_indicator"] = {"type": "text"}
        try:
            await self._graph.call("POST", self._messages, body=read)
        except GraphError as failure:
            log.info("whatsapp: marking %s read failed: %s", message_id, self._safe(str(failure)))

    async def _send(self, number: str, message: dict[str, Any]) -> str:
        body = {"messaging_product": "whatsapp", "recipient_type": "individual", "to": number.removeprefix("+")}
        try:
            answer = await self._graph.call("POST", self._messages, body=body | message)
        except GraphError as failure:
            raise self._delivery_error(failure) from None
        sent = answer.get("messages")
        if isinstance(sent, list) and sent and isinstance(sent[0], dict) and isinstance(sent[0].get("id"), str):
            return str(sent[0]["id"])
        raise DeliveryError("whatsapp: the Graph API answered without a message id")

    def _delivery_error(self, failure: GraphError) -> DeliveryError:
        reason = "whatsapp: " + self._safe(str(failure))
        if failure.code == REENGAGEMENT:
            return DeliveryHeld(reason)
        if failure.status in (0, 429) or failure.status >= 500 or failure.code in RETRYABLE_CODES:
            return DeliveryError(reason, retry_after=failure.retry_after)
        return (CustomerUnreachable if failure.code in UNREACHABLE_CODES else DeliveryRefused)(reason)

    # -- media -------------------------------------------------------------------------------

    async def download(self, media: Media, *, name: str, max_bytes: int) -> Attachment:
        unfetched = Attachment(name, media.kind, b"", problem=_("{name} could not be fetched from WhatsApp", name=name))
        if not _MEDIA_ID.fullmatch(media.ref):
            log.warning("whatsapp: media %s not fetched: %r is not a media id", name, media.ref[:40])
            return unfetched
        try:
            found = await self._graph.call("GET", f"/{media.ref}")
        except GraphError as failure:
            log.warning("whatsapp: media %s not found: %s", name, self._safe(str(failure)))
            return unfetched
        url, kind = json_text(found.get("url")), json_text(found.get("mime_type"))
        kind = kind if 0 < len(kind) <= MAX_KIND_CHARS else media.kind
        size = bounded_int(str(found.get("file_size", "")), max_digits=12)
        if not self._trusted(url):
            log.warning("whatsapp: media %s not fetched: %r is not Meta's media host", name, _host(url))
            return unfetched
        if size is not None and size > max_bytes:
            return Attachment(name, kind, b"", declared_size=size)
        try:
            async with asyncio.timeout(DOWNLOAD_TIMEOUT_S):
                fetched = await self._graph.fetch(
                    url,
                    name=name,
                    kind=kind,
                    max_bytes=max_bytes,
                    size=size,
                    allowed=_anywhere,
                    token_for=self._trusted,
                )
                return fetched or unfetched
        except (aiohttp.ClientError, TimeoutError) as exc:
            log.warning("whatsapp: fetching media %s failed: %s", name, type(exc).__name__)
            return unfetched

    def _trusted(self, url: str) -> bool:
        try:
            return origin(url) in self._media_origins
        except ValueError:  # not a URL urlsplit can read
            return False

    def _safe(self, text: str) -> str:
        """A reason fit for a log or a dead letter: no token, numbers masked, one short line."""
        return _masked_numbers(self._graph.safe(text))

    # -- webhooks ----------------------------------------------------------------------------

    async def _incoming(self, request: web.Request, webhooks: Webhooks) -> web.Response:
        """Signature on the raw body first (403, nothing parsed); then each message and report
        handed on, 503 with Retry-After if the hub could keep nothing."""
        body = await self._webhook.signed_body(request)
        if isinstance(body, web.Response):
            return body
        try:
            found = parse_webhook(json.loads(body), phone_number_id=self._settings.phone_number_id)
        except (ValueError, RecursionError) as exc:  # BadWebhook, JSON, UTF-8
            rejected(CHANNEL, Rejection.BAD_INPUT)
            reason = str(exc) if isinstance(exc, BadWebhook) else "the body is not JSON"
            return web.json_response({"error": reason}, status=400)
        try:
            for item in found:
                if isinstance(item, Incoming):
                    await webhooks.message(item)
                else:
                    await webhooks.report(item)
        except StorageUnavailable as exc:  # Meta sends the whole webhook again
            return web.Response(status=503, headers={"Retry-After": str(exc.retry_after_s)})
        return web.Response(status=200)


# -- reading webhooks -----------------------------------------------------------------------


def parse_webhook(payload: Any, *, phone_number_id: str) -> list[Incoming | Report]:
    """The customer messages and status reports a webhook carries for `phone_number_id`, in its
    order; raises `BadWebhook` when its frame (entries, changes, lists) is not Meta's. One message
    this route cannot use is left out (logged), not the webhook refused: Meta would resend it."""
    if not isinstance(payload, dict):
        raise BadWebhook("the body is not a JSON object")
    if payload.get("object") != "whatsapp_business_account":
        log.info("whatsapp: ignored a webhook for %r", json_text(payload.get("object"))[:40])
        return []
    found: list[Incoming | Report] = []
    for entry in json_objects(payload.get("entry"), "entry"):
        for change in json_objects(entry.get("changes"), "entry[].changes"):
            value = change.get("value")
            if change.get("field") != "messages" or not isinstance(value, dict):
                continue
            metadata = value.get("metadata")
            if not isinstance(metadata, dict) or json_text(metadata.get("phone_number_id")) != phone_number_id:
                continue  # another number of the same app
            for error in json_objects(value.get("errors"), "value.errors"):
                log.warning("whatsapp: Meta reported error %s", _error_line(error))
            names = {
                json_text(contact.get("wa_id")): json_text(json_object(contact.get("profile")).get("name")) or None
                for contact in json_objects(value.get("contacts"), "value.contacts")
            }
            found += filter(None, (_message(m, names) for m in json_objects(value.get("messages"), "value.messages")))
            found += filter(None, (_report(s) for s in json_objects(value.get("statuses"), "value.statuses")))
    return found


def _message(message: dict[str, Any], names: Mapping[str, str | None]) -> Incoming | None:
    message_id, sender, kind = (json_text(message.get(key)) for key in ("id", "from", "type"))
    if not message_id or len(message_id) > MAX_ID_CHARS or not _NUMBER.fullmatch(sender):
        log.warning("whatsapp: left out a %s message without a usable id or phone number", kind[:20] or "typeless")
        return None
    base = Incoming(message_id, "+" + sender, "", name=names.get(sender), sent_at=_moment(message.get("timestamp")))
    content = json_object(message.get(kind))
    if kind == "text":
        return replace(base, text=json_text(content.get("body")))
    if kind in _MEDIA_TYPES and json_text(content.get("id")):
        mime = json_text(content.get("mime_type"))
        media = Media(
            ref=json_text(content.get("id")),
            kind=mime if 0 < len(mime) <= MAX_KIND_CHARS else "application/octet-stream",
            filename=json_text(content.get("filename")) or None if kind == "document" else None,
            voice=kind == "audio" and content.get("voice") is True,
        )
        return replace(base, text=json_text(content.get("caption")), media=(media,))
    if kind == "interactive" and (pressed := json_object(content.get(json_text(content.get("type"))))).get("id"):
        return replace(base, text=json_text(pressed.get("title")), choice=json_text(pressed.get("id")))
    if kind == "button" and json_text(content.get("payload")):
        return replace(base, text=json_text(content.get("text")), choice=json_text(content.get("payload")))
    if kind == "location" and (place := _location(content)):
        return replace(base, text=place)
    if kind == "contacts" and (cards := _contacts(message.get("contacts"))):
        return replace(base, text=cards)
    log.info("whatsapp: left out a %s message %s", kind[:20] or "typeless", message_id)
    return None


def _report(status: dict[str, Any]) -> Report | None:
    message_id, word = json_text(status.get("id")), json_text(status.get("status"))
    if not message_id or word not in STATUS_RANKS:
        return None  # a status added after this was written: nothing to keep
    recipient = json_text(status.get("recipient_id"))
    errors = json_objects(status.get("errors"), "statuses[].errors")
    code = number(errors[0].get("code")) if errors else None
    failed = word == "failed"
    return Report(
        message_id=message_id,
        status=word,
        rank=STATUS_RANKS[word],
        recipient="+" + recipient if _NUMBER.fullmatch(recipient) and status.get("recipient_type") != "group" else None,
        error=_error_line(errors[0]) if errors else None,
        window_closed=failed and code == REENGAGEMENT,
        unreachable=failed and code in UNREACHABLE_CODES,
    )


def _location(location: dict[str, Any]) -> str:
    """Its name and address, and a map link (a number, so no language): what staff and the bot can read."""
    latitude, longitude = location.get("latitude"), location.get("longitude")
    lines = [json_text(location.get("name")), json_text(location.get("address"))]
    if all(isinstance(value, int | float) and not isinstance(value, bool) for value in (latitude, longitude)):
        lines.append(f"https://maps.google.com/?q={latitude},{longitude}")
    return "\n".join(line for line in lines if line)


def _contacts(cards: Any) -> str:
    """One line per shared contact: its name and its first number."""
    lines = []
    for card in cards if isinstance(cards, list) else []:
        card = json_object(card)
        listed = card.get("phones")
        phones = (
            [json_text(phone.get("phone")) for phone in listed if isinstance(phone, dict)]
            if isinstance(listed, list)
            else []
        )
        line = " ".join(
            filter(None, [json_text(json_object(card.get("name")).get("formatted_name")), next(iter(phones), "")])
        )
        lines.append(line)
    return "\n".join(line for line in lines if line)


def _error_line(error: dict[str, Any]) -> str:
    """ "131047 Re-engagement message": code and title, numbers masked, fit for a log."""
    title = json_text(error.get("title")) or json_text(error.get("message"))
    return _masked_numbers(f"{number(error.get('code'))} {title}".strip())[:200]


# -- small helpers --------------------------------------------------------------------------


def _split_for_interactive(text: str) -> tuple[str, str]:
    """`text` as what goes first as a text message ("" when it all fits) and an interactive body of
    at most `MAX_INTERACTIVE_BODY` characters from its end: whole paragraphs, else lines, sentences
    or words, else a hard cut."""
    text = text.strip()
    start = len(text) - MAX_INTERACTIVE_BODY
    if start <= 0:
        return "", text
    for separator in ("\n\n", "\n", ". ", " "):
        found = text.find(separator, start - len(separator))
        if found != -1:
            cut = found + len(separator)
            return text[:cut].strip(), text[cut:].strip()
    return text[:start], text[start:]


def _fit(title: str, limit: int) -> str:
    return title if len(title) <= limit else title[: limit - 1].rstrip() + "…"


def _masked(number: str) -> str:
    """A phone number for the log: enough to tell numbers apart, not to dial one."""
    return number[:4] + "…" + number[-2:] if len(number) > 6 else "…"


def _masked_numbers(text: str) -> str:
    """Graph's error texts may quote a recipient's number (with or without its "+")."""
    return _NUMBERS.sub(lambda match: _masked(match.group()), text)


def _moment(value: Any) -> datetime | None:
    seconds = bounded_int(value if isinstance(value, str) else "", max_digits=11)
    return datetime.fromtimestamp(seconds, UTC) if seconds is not None else None


def _anywhere(url: str) -> bool:
    """Meta's media URL may redirect to a CDN of any name: followed, without the token."""
    return True


def _host(url: str) -> str:
    """Where a URL points, without its path and query (a media URL's query is a credential)."""
    try:
        return urlsplit(url).netloc
    except ValueError:
        return "?"
