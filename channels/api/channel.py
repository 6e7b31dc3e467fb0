"""The plain REST channel: `POST /api/messages` answers in the response; clients pull later
messages (a person's reply after a handoff) from the conversation's message list.

The API is for the company's servers, not for browsers: another site's page is refused (its
Origin or Sec-Fetch-Site says so), bodies must be JSON (a page can post `text/plain` to
another site without asking first, but not JSON), and without `api.token` — where being able
to reach the hub is the only credential — a request must name the hub by a known Host, so a
page on a host name its DNS points at 127.0.0.1 (DNS rebinding) cannot read conversations.
Who is calling is checked and counted before a body is read.
"""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import partial
from typing import Any, Protocol

from aiohttp import web

from channels.api.exposure import api_exposure
from channels.api.settings import ApiSettings
from channels.common.payloads import (
    MAX_MESSAGE_ID,
    PayloadError,
    decoded_off_loop,
    parse_attachments,
    parse_vote,
    plain_text,
)
from core.channel import Capabilities, ConversationReads, FeedbackResult, HubPort, IdentityConflict, Intake
from core.invariants import present
from core.messages import (
    Address,
    Attachment,
    InboundMessage,
    StoredMessage,
    citation_json,
    encoded_message_bytes,
    stored_message_json,
)
from core.metrics import Rejection, rejected
from core.ops.request_guards import (
    bearer_refusal,
    could_be_row_id,
    cross_site,
    json_error,
    known_host,
)
from core.request_bodies import read_at_most, too_large
from core.settings import AttachmentSettings, Settings
from knowledge.hits import hit_json

REPLY_TIMEOUT_S = 30.0
MAX_ID_LENGTH = 200
MAX_CONTACT_LENGTH = 200
MAX_K = 50
MAX_COMMENT_LENGTH = 2000
MAX_FEEDBACK_BYTES = 32 * 1024
"""A vote with the longest comment, every character escaped as JSON's 12-byte surrogate pair."""
EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
PHONE = re.compile(r"\+[1-9]\d{6,14}")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
BAD_INPUT_STATUSES = frozenset({400, 403, 413, 415})
"""The refusals of a request the API cannot use, as counted in `supporthub_webhook_rejections_total`."""


def bad_request(reason: str) -> web.HTTPBadRequest:
    return json_error(web.HTTPBadRequest, reason)


@dataclass(frozen=True, slots=True)
class ApiMessage:
    contact: str
    text: str
    id: str | None
    email: str | None
    phone: str | None
    attachments: tuple[Attachment, ...]


def parse_message_body(raw: bytes, *, max_text_length: int, attachments: AttachmentSettings) -> ApiMessage:
    """The message in a request body, or HTTPBadRequest naming what is wrong."""
    body = _json_object(raw)
    contact = checked_string(body, "contact", max_length=MAX_CONTACT_LENGTH, required=True)
    try:
        files = parse_attachments(body.get("attachments"), max_files=attachments.max_files)
    except PayloadError as exc:
        raise bad_request(str(exc)) from None
    if files and body.get("text") in (None, ""):
        body = {**body, "text": None}  # a file alone is a message too
    text = checked_string(body, "text", max_length=max_text_length, required=not files, multiline=True)
    message_id = checked_string(body, "id", max_length=MAX_ID_LENGTH, required=False)
    email = checked_string(body, "email", max_length=MAX_CONTACT_LENGTH, required=False)
    phone = checked_string(body, "phone", max_length=MAX_CONTACT_LENGTH, required=False)
    if email is not None and not EMAIL.fullmatch(email):
        raise bad_request("'email' is not an email address")
    if phone is not None and not PHONE.fullmatch(phone):
        raise bad_request("'phone' must be in international format, e.g. +4915112345678")
    contact = present(contact, "the message's 'contact', which required=True guarantees,")
    return ApiMessage(contact, text or "", message_id, email, phone, files)


@dataclass(frozen=True, slots=True)
class ApiFeedback:
    contact: str
    """Whose conversation the rated reply must be in: ids are sequential, so naming only the
    message would let anyone rate anyone's replies."""
    message_id: int
    rating: str
    comment: str | None


def parse_feedback_body(raw: bytes) -> ApiFeedback:
    body = _json_object(raw)
    contact = checked_string(body, "contact", max_length=MAX_CONTACT_LENGTH, required=True)
    try:
        message_id, rating = parse_vote(body.get("message_id"), body.get("rating"))
    except PayloadError as exc:
        raise bad_request(str(exc)) from None
    comment = checked_string(body, "comment", max_length=MAX_COMMENT_LENGTH, required=False, multiline=True)
    contact = present(contact, "the feedback's 'contact', which required=True guarantees,")
    return ApiFeedback(contact, message_id, rating, comment)


def _json_object(raw: bytes) -> dict[str, Any]:
    try:
        body = json.loads(raw.decode("utf-8"))  # bytes to json.loads would take UTF-16 and UTF-32 too
    except json.JSONDecodeError as exc:
        raise bad_request(f"body is not valid JSON: {exc.msg}") from None
    except UnicodeDecodeError:
        raise bad_request("body is not valid UTF-8") from None
    except ValueError:  # Python refuses integers of more than 4,300 digits
        raise bad_request("body holds a number too long to read") from None
    except RecursionError:
        raise bad_request("body is nested too deeply") from None
    if not isinstance(body, dict):
        raise bad_request("body must be a JSON object")
    return body


def checked_string(
    body: dict[str, Any], name: str, *, max_length: int, required: bool, multiline: bool = False
) -> str | None:
    """A field that must be a non-empty string of printable text within `max_length`."""
    value = body.get(name)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value.strip():
        raise bad_request(f"'{name}' is required and must be a non-empty string")
    value = value.strip()
    if len(value) > max_length:
        raise bad_request(f"'{name}' is longer than {max_length} characters")
    if not plain_text(value, multiline=multiline):
        raise bad_request(f"'{name}' holds control characters or invalid unicode")
    return value


def external_id(contact: str, client_id: str) -> str:
    """The stored id of a client's message: scoped by contact, so one client's id can never
    fetch another contact's reply, and hashed to a fixed length no separator can fool."""
    return hashlib.sha256(json.dumps([contact, client_id]).encode()).hexdigest()


def int_param(request: web.Request, name: str, *, default: int, low: int, high: int) -> int:
    raw = request.query.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise bad_request(f"'{name}' must be an integer") from None
    if not low <= value <= high:
        raise bad_request(f"'{name}' must be between {low} and {high}")
    return value


class ApiHub(Intake, ConversationReads, Protocol):
    """What the REST API asks of the hub."""


class ApiChannel:
    name = "api"
    settings_model = ApiSettings
    exposure = staticmethod(api_exposure)

    def __init__(self, settings: Settings, hub: HubPort) -> None:
        self._settings = api = settings.section(ApiSettings)
        self._attachments = settings.attachments
        self._message_bytes = encoded_message_bytes(
            max_text_length=api.max_text_length,
            max_file_bytes=settings.attachments.max_bytes,
            files=settings.attachments.max_files,
        )
        self._host_names = frozenset(settings.server.public_hosts) | {settings.server.host.lower()}
        self.capabilities = Capabilities(max_text_length=api.max_text_length, push=False)
        self._hub: ApiHub = hub

    def routes(self) -> list[web.AbstractRouteDef]:
        return [
            web.post("/api/messages", self._authorized(self.post_message)),
            web.get("/api/conversations/{conversation_id}", self._authorized(self.get_conversation)),
            web.get("/api/conversations/{conversation_id}/messages", self._authorized(self.list_messages)),
            web.get("/api/search", self._authorized(self.search)),
            web.post("/api/feedback", self._authorized(self.post_feedback)),
        ]

    async def check(self) -> str:
        """Nothing to reach: the hub itself serves the API (`serve` says who may call it)."""
        if self._settings.token is not None:
            return "serves the REST API (/api/…) to callers with the bearer token (api.token)"
        return "serves the REST API (/api/…) without a token: on loopback only, unless api.public = true"

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        return None

    async def send(self, address: Address, message: StoredMessage) -> str | None:
        """Never called: `push=False`, the conversation's message list is the delivery."""
        return None

    @property
    def hub(self) -> ApiHub:
        return self._hub

    def _authorized(self, handler: Handler) -> Handler:
        token = self._settings.token

        async def checked(request: web.Request) -> web.StreamResponse:
            if (refusal := bearer_refusal(request, token, named="token")) is not None:
                rejected(self.name, Rejection.BAD_SIGNATURE)
                raise refusal
            try:
                self._refuse_browsers(request)
                return await handler(request)
            except web.HTTPClientError as exc:
                if exc.status in BAD_INPUT_STATUSES:
                    rejected(self.name, Rejection.BAD_INPUT)
                raise

        return checked

    def _refuse_browsers(self, request: web.Request) -> None:
        """403 for another site's page, and without a token for a Host the hub does not go by."""
        if self._settings.token is None and not known_host(request, self._host_names):
            raise json_error(
                web.HTTPForbidden,
                "the API without a token answers only to this hub's own host names "
                "(localhost, an IP address, server.host, server.public_hosts)",
            )
        if cross_site(request):
            raise json_error(web.HTTPForbidden, "the API is for servers: other sites' pages may not call it")

    async def _body(self, request: web.Request, limit: int) -> bytes:
        """The JSON body, at most `limit` bytes (413, unread, past it)."""
        if request.content_type != "application/json":
            raise json_error(
                web.HTTPUnsupportedMediaType, "send the body as JSON, with 'Content-Type: application/json'"
            )
        raw = await read_at_most(request, limit)
        if raw is None:
            raise too_large(request, limit)
        return raw

    async def post_message(self, request: web.Request) -> web.Response:
        parse = partial(
            parse_message_body, max_text_length=self._settings.max_text_length, attachments=self._attachments
        )
        if self._settings.token is None:  # the caller's address is counted before its body is read
            await self._admit(ip=request.remote)
        body = await decoded_off_loop(parse, await self._body(request, self._message_bytes))
        if (body.email or body.phone) and self._settings.token is None:
            raise web.HTTPForbidden(
                text=json.dumps(
                    {
                        "error": "'email' and 'phone' link a person's identity and memory across channels, "
                        "so they are accepted only when the API requires a token (api.token)"
                    }
                ),
                content_type="application/json",
            )
        message = InboundMessage(
            address=Address(self.name, body.contact),
            external_id=external_id(body.contact, body.id or uuid.uuid4().hex),
            sender_id=body.contact,
            text=body.text,
            attachments=body.attachments,
            verified_email=body.email,
            verified_phone=body.phone,
        )
        await self._admit(contact=body.contact)
        try:
            receipt = await self.hub.receive(message)
        except IdentityConflict as conflict:
            raise json_error(web.HTTPConflict, f"contact {body.contact!r}: {conflict}") from None
        reply = await self.hub.wait_for_reply(receipt.message_id, timeout=REPLY_TIMEOUT_S)
        with_staff = False
        if reply is None and await self.hub.answered(receipt.message_id):
            reply = await self.hub.wait_for_reply(receipt.message_id, timeout=0)  # it may have just landed
            with_staff = reply is None
        if reply is None:
            body_json = {
                "conversation_id": receipt.conversation_id,
                "message_id": receipt.message_id,
                "reply": None,
                "status": "with_staff" if with_staff else "pending",
            }
            return web.json_response(body_json, status=202)
        return web.json_response(
            {
                "conversation_id": receipt.conversation_id,
                "message_id": receipt.message_id,
                "reply": {
                    "id": reply.id,
                    "text": reply.text,
                    "citations": [citation_json(c) for c in reply.citations],
                    "handoff": reply.handoff,
                },
            }
        )

    async def _admit(self, *, contact: str | None = None, ip: str | None = None) -> None:
        """429 with Retry-After for a contact or an IP address over `[limits]`. The address is
        counted only without an API token: with it the caller is the company's backend,
        speaking for many customers from one address, and only its contacts are counted."""
        admission = await self.hub.admit(channel=self.name, sender=contact, ip=ip)
        if not admission.allowed:
            raise web.HTTPTooManyRequests(
                text=json.dumps({"error": f"too many messages; try again in {admission.retry_after_s} s"}),
                content_type="application/json",
                headers={"Retry-After": str(admission.retry_after_s)},
            )

    async def post_feedback(self, request: web.Request) -> web.Response:
        vote = parse_feedback_body(await self._body(request, MAX_FEEDBACK_BYTES))
        result = await self.hub.feedback(
            vote.message_id, rating=vote.rating, comment=vote.comment, address=Address(self.name, vote.contact)
        )
        if result is FeedbackResult.NOT_FOUND:
            raise web.HTTPNotFound(
                text=json.dumps({"error": "no such message in this contact's conversation"}),
                content_type="application/json",
            )
        if result is FeedbackResult.NOT_A_REPLY:
            raise bad_request("feedback is for the bot's replies; this message is not one")
        return web.json_response({"message_id": vote.message_id, "rating": vote.rating})

    async def get_conversation(self, request: web.Request) -> web.Response:
        conversation_id = request.match_info["conversation_id"]
        overview = await self.hub.conversation_overview(conversation_id) if could_be_row_id(conversation_id) else None
        if overview is None:
            raise web.HTTPNotFound(text=json.dumps({"error": "no such conversation"}), content_type="application/json")
        case = overview.case
        return web.json_response(
            {
                "id": overview.id,
                "state": overview.state,
                "summary": overview.summary,
                "case": None
                if case is None
                else {
                    "id": case.id,
                    "state": case.state,
                    "rule": case.rule,
                    "reason": case.reason,
                    "owner": case.owner,
                    "opened_at": case.opened_at.isoformat(),
                },
                "sentiment": {
                    "intents": list(overview.intents),
                    "frustration": [round(f, 3) for f in overview.frustration],
                    "trend": round(overview.trend, 3),
                },
            }
        )

    async def list_messages(self, request: web.Request) -> web.Response:
        after = int_param(request, "after", default=0, low=0, high=MAX_MESSAGE_ID)
        limit = int_param(request, "limit", default=200, low=1, high=1000)
        conversation_id = request.match_info["conversation_id"]
        messages = (
            await self.hub.conversation_messages(conversation_id, after=after, limit=limit)
            if could_be_row_id(conversation_id)
            else None
        )
        if messages is None:
            raise web.HTTPNotFound(text=json.dumps({"error": "no such conversation"}), content_type="application/json")
        return web.json_response({"messages": [stored_message_json(m) for m in messages]})

    async def search(self, request: web.Request) -> web.Response:
        query = request.query.get("q", "").strip()
        if not query:
            raise bad_request("'q' is required")
        if len(query) > self._settings.max_text_length:
            raise bad_request(f"'q' is longer than {self._settings.max_text_length} characters")
        k = int_param(request, "k", default=5, low=1, high=MAX_K)
        hits = await self.hub.search(query, k)
        return web.json_response([hit_json(hit) for hit in hits])
