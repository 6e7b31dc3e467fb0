"""Slack as a customer channel: slack-bolt's AsyncApp on our aiohttp app (`POST /slack/events`,
or Socket Mode), the Web API through slack-sdk at a configurable base URL.

Customers write to the bot in a direct message, or in a configured customer channel by
mentioning it (the answer starts a thread) and then inside that thread. The staff channel's
case threads go to the staff desk (`core.handoff.desk`), whose port this channel implements: case
cards in Block Kit, thread posts, and the card buttons' clicks. Bolt verifies every
request's signature on the raw bytes before anything parses them (401 for a missing, bad or
stale one; 413 past `MAX_BODY_BYTES`; 400 for a signed body that is not UTF-8), and Bolt drops
the bot's own messages; other
bots' messages are ignored here. A message is stored under `<channel>:<ts>`, so Slack's
retries and the `message` + `app_mention` pair of one mention give one answer.

The translation is pure functions — `route_event` here, the rendering in `channels.slack.format` —
tested on payloads; `SlackChannel` wires them to Bolt and the hub.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import re
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from enum import Enum
from functools import partial
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import urlparse

import aiohttp
from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response
from slack_bolt.async_app import AsyncApp
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.web.async_slack_response import AsyncSlackResponse

from channels.common.downloads import capped_file, origin
from channels.common.survey_buttons import survey_choice
from channels.slack.errors import NOT_SLACK, refusal
from channels.slack.format import (
    MAX_BLOCKS,
    SECTION_LIMIT,
    answered_blocks,
    card_blocks,
    escape,
    render_mrkdwn,
    reply_blocks,
    survey_buttons,
)
from channels.slack.links import slack_thread_url
from channels.slack.settings import SlackSettings
from channels.slack.shapes import shape_problem
from core.channel import (
    Capabilities,
    CheckFailed,
    ConversationReads,
    DeliveryError,
    HubPort,
    Intake,
    Languages,
    RatingResult,
    StaffEvents,
    StorageUnavailable,
)
from core.desk_port import CaseAction, CaseCard
from core.invariants import InvariantError
from core.languages import _, speaking
from core.messages import SURVEY_SCORES, Address, Attachment, InboundMessage, StoredMessage, SurveyPart
from core.metrics import Rejection, rejected
from core.ops.request_guards import bounded_int
from core.quoting import literal
from core.request_bodies import read_at_most

if TYPE_CHECKING:
    from core.settings import Settings

log = logging.getLogger(__name__)

CHANNEL = "slack"
CASE_METADATA = "supporthub_case"
"""The event type of the metadata a case card carries, so a card can be found by its case."""
LINE_METADATA = "supporthub_line"
"""The event type of the metadata a desk line carries, so a line can be found by its key."""
FALLBACK_LIMIT = 3000
SIGNATURE_MAX_AGE_S = 300
"""A signed request older than this is refused: Slack's rule against replays."""
MAX_BODY_BYTES = 512 * 1024
"""The largest request body read: Slack's events and interactivity payloads are a few KB to a
few hundred KB (a modal's full view state); anything larger is refused unread."""
STORE_ATTEMPTS = 3
SHUTDOWN_GRACE_S = 10.0
"""How long stopping waits for messages whose files are still downloading."""
SLACK_FILE_ORIGIN = ("https", "files.slack.com")
"""Where Slack serves shared files: the bot token goes there (and to the Web API's own host)."""
ACCEPTED_SUBTYPES = frozenset({None, "file_share", "thread_broadcast"})
PERSON_NAME_TIMEOUT_S = 1.5
"""How long a staff member's name is waited for (a canned reply's `{agent}`): the staff message
that asked for it must still be answered within Slack's 3 s, or Slack sends it again."""
_MENTION = re.compile(r"<@([A-Z0-9]+)>")


class Route(Enum):
    CUSTOMER = "customer"
    """A new question or a follow-up: goes to the hub."""
    FOLLOW_UP = "follow_up"
    """A reply in a customer channel's thread: goes to the hub if the thread is ours."""
    STAFF = "staff"
    """A person writing in a case thread of the staff channel: goes to the desk."""
    IGNORE = "ignore"


@dataclass(frozen=True, slots=True)
class Routed:
    route: Route
    address: Address | None = None
    text: str = ""


def route_event(event: Mapping[str, Any], *, bot_user_id: str | None, settings: SlackSettings) -> Routed:
    """Where a `message` or `app_mention` event goes. Pure: no I/O."""
    if event.get("bot_id") or event.get("subtype") not in ACCEPTED_SUBTYPES:
        return Routed(Route.IGNORE)  # other bots (no loops), edits, deletions, joins
    user, channel, ts = event.get("user"), event.get("channel"), event.get("ts")
    if not user or not channel or not ts or user == bot_user_id:
        return Routed(Route.IGNORE)
    text = _unescape(
        _MENTION.sub(lambda m: "" if m.group(1) == bot_user_id else m.group(0), event.get("text") or "")
    ).strip()
    thread = event.get("thread_ts")
    if channel == settings.staff_channel:  # the bot never answers here; threads are cases
        if thread and thread != ts:
            return Routed(Route.STAFF, Address(CHANNEL, channel, thread), _unescape(event.get("text") or ""))
        return Routed(Route.IGNORE)
    if event.get("channel_type") == "im" or channel.startswith("D"):
        return Routed(Route.CUSTOMER, Address(CHANNEL, channel, thread), text)
    if channel not in settings.customer_channels:
        return Routed(Route.IGNORE)
    mentioned = event.get("type") == "app_mention" or f"<@{bot_user_id}>" in (event.get("text") or "")
    if thread and thread != ts:
        return Routed(Route.CUSTOMER if mentioned else Route.FOLLOW_UP, Address(CHANNEL, channel, thread), text)
    if mentioned:
        return Routed(Route.CUSTOMER, Address(CHANNEL, channel, ts), text)  # answer in a new thread
    return Routed(Route.IGNORE)


def _signed(secret: bytes, body: bytes, request: web.Request) -> bool:
    """Slack's v0 signature over the raw bytes, from the last five minutes.

    Hand-written because slack-sdk's `SignatureVerifier` decodes the body as UTF-8 first and
    raises on bytes that are not, and it raises on a timestamp that is not a number. Headers
    are compared as bytes: they may hold anything, and `compare_digest` refuses non-ASCII text.
    """
    timestamp = request.headers.get("X-Slack-Request-Timestamp", "")
    seconds = bounded_int(timestamp, max_digits=12)
    if seconds is None or abs(time.time() - seconds) > SIGNATURE_MAX_AGE_S:
        return False
    expected = b"v0=" + hmac.new(secret, b"v0:" + timestamp.encode() + b":" + body, hashlib.sha256).hexdigest().encode()
    return hmac.compare_digest(
        expected, request.headers.get("X-Slack-Signature", "").encode("utf-8", "surrogateescape")
    )


def _refusal(status: int, reason: str) -> web.Response:
    log.info("slack: refused a request to /slack/events (HTTP %d: %s)", status, reason)
    rejected(CHANNEL, Rejection.BAD_SIGNATURE if status == 401 else Rejection.BAD_INPUT)
    return web.json_response({"error": reason}, status=status)


def _unescape(text: str) -> str:
    """Slack sends &, < and > in message text escaped; customers and staff wrote them plain."""
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


class SlackHub(Intake, ConversationReads, StaffEvents, Languages, Protocol):
    """What Slack asks of the hub: customers' messages in, and staff's on the desk."""


class SlackChannel:
    """Customers in DMs and customer channels; the staff desk lives in `core.handoff.desk`."""

    name = CHANNEL
    settings_model = SlackSettings
    sandbox_pane = "channels.slack.sandbox:StaffDeskPane"  # the staff desk: customers' panes are the other channels'

    @staticmethod
    def configured(settings: Settings) -> bool:
        """On when a bot token is set (and `channels`, if set, names it: `core.registry`)."""
        return settings.section(SlackSettings).bot_token is not None

    def __init__(self, settings: Settings, hub: HubPort) -> None:
        slack = settings.section(SlackSettings)
        if slack.bot_token is None:
            raise ValueError("slack: set SUPPORTHUB_SLACK__BOT_TOKEN to enable the Slack channel")
        self._settings = slack
        self._max_file_bytes = settings.attachments.max_bytes
        self._token = slack.bot_token.get_secret_value()
        self.capabilities = Capabilities(max_text_length=SECTION_LIMIT * MAX_BLOCKS)
        # No retry handlers: the outbox owns retries and honours Retry-After itself.
        self.client = AsyncWebClient(token=self._token, base_url=slack.api_url, retry_handlers=[])
        self.app = AsyncApp(
            client=self.client,
            signing_secret=slack.signing_secret.get_secret_value() if slack.signing_secret else "",
            process_before_response=True,  # store the message before Slack hears 200
            request_verification_enabled=not slack.socket_mode,
        )
        self._signing_secret = slack.signing_secret.get_secret_value().encode() if slack.signing_secret else b""
        self.app.event("message")(self._on_event)
        self.app.event("app_mention")(self._on_event)
        self.app.action(re.compile(r"^case_(claim|resolve|return)$"))(self._on_case_button)
        self.app.action(re.compile(r"^survey_[1-5]$"))(self._on_survey_button)
        self.app.error(self._on_error)
        self.desk_ready = bool(slack.staff_channel)
        self.note_prefix = slack.note_prefix
        self._hub: SlackHub = hub
        self._http: aiohttp.ClientSession | None = None
        self._socket: Any = None
        self._downloading: set[str] = set()
        """External ids of messages whose files are being fetched (Slack's retries skip them)."""
        self._background: set[asyncio.Task[None]] = set()

    def routes(self) -> list[web.AbstractRouteDef]:
        """`POST /slack/events`, unless events arrive over Socket Mode: then nothing listens."""
        return [] if self._settings.socket_mode else [web.post("/slack/events", self._events)]

    async def start(self) -> None:
        self._http = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60))
        self.client.session = self._http  # one connection pool, not a session per API call
        if self._settings.socket_mode:
            from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler

            if self._settings.app_token is None:
                raise InvariantError("slack.app_token is missing (the settings validator asks for it with socket_mode)")
            self._socket = AsyncSocketModeHandler(self.app, self._settings.app_token.get_secret_value())
            await self._socket.connect_async()

    async def stop(self) -> None:
        if self._socket is not None:
            await self._socket.close_async()
        if self._background:  # messages whose files are on their way: let them land if they can
            _, late = await asyncio.wait(self._background, timeout=SHUTDOWN_GRACE_S)
            for task in late:
                task.cancel()
            await asyncio.gather(*late, return_exceptions=True)
        if self._http is not None:
            await self._http.close()

    async def check(self) -> str:
        """`auth.test` with the bot token (before `start` the client opens a session per call)."""

        try:
            response = await self.client.auth_test()
        except SlackApiError as exc:
            refused = refusal(exc)
            reason = refused.error if refused.error != NOT_SLACK else str(refused)
            raise CheckFailed(f"auth.test: {reason}") from None
        return f"auth.test: bot {response.get('user')} ({response.get('user_id')}) in team {response.get('team')}"

    async def send(self, address: Address, message: StoredMessage) -> str | None:
        text = render_mrkdwn(message)
        blocks = reply_blocks(text)
        if message.survey is SurveyPart.QUESTION:  # with the scale under it
            blocks = [*blocks[: MAX_BLOCKS - 1], survey_buttons(message.id)]
        try:
            response = await self.client.chat_postMessage(
                channel=address.chat_id,
                thread_ts=address.thread_id,
                text=text[:FALLBACK_LIMIT],
                blocks=blocks,
                unfurl_links=False,
            )
        except SlackApiError as exc:
            refused = refusal(exc)
            raise DeliveryError(f"slack chat.postMessage: {refused}", retry_after=refused.retry_after) from None
        return str(response.get("ts"))

    # -- the staff desk's port --------------------------------------------------------------

    async def post_case(self, card: CaseCard) -> str:
        response = await self.client.chat_postMessage(
            channel=self._settings.staff_channel,
            text=f"Case: {card.reason}",
            blocks=card_blocks(card),
            metadata={"event_type": CASE_METADATA, "event_payload": {"case_id": card.case_id}},
        )
        return str(response["ts"])

    async def find_case(self, case_id: str, *, since: datetime) -> str | None:
        """The card is found by the metadata it was posted with, in the staff channel's
        history since `since`."""
        return await self._find_marked(
            partial(self.client.conversations_history, channel=self._settings.staff_channel),
            since=since,
            marked=(CASE_METADATA, "case_id", case_id),
        )

    async def update_case(self, desk_ref: str, card: CaseCard) -> None:
        await self.client.chat_update(
            channel=self._settings.staff_channel, ts=desk_ref, text=f"Case: {card.reason}", blocks=card_blocks(card)
        )

    def case_url(self, desk_ref: str) -> str | None:
        return slack_thread_url(
            desk_ref,
            staff_channel=self._settings.staff_channel or None,
            workspace_url=self._settings.workspace_url or None,
        )

    async def post_to_case(self, desk_ref: str, text: str, *, key: str | None = None) -> str:
        metadata = {"event_type": LINE_METADATA, "event_payload": {"key": key}} if key is not None else None
        response = await self.client.chat_postMessage(
            channel=self._settings.staff_channel, thread_ts=desk_ref, text=escape(text), metadata=metadata
        )
        return str(response["ts"])

    async def person_name(self, actor: str) -> str | None:
        """A Slack user's full name, else their display name (`users.info`, scope
        `users:read`); None when Slack will not say (the app lacks the scope, Slack is slow or down)."""
        try:
            async with asyncio.timeout(PERSON_NAME_TIMEOUT_S):  # Slack wants the event's 200 within 3 s
                response = await self.client.users_info(user=actor)
        except SlackApiError as exc:
            log.warning("slack: users.info for %s: %s", actor, refusal(exc))
            return None
        except (aiohttp.ClientError, TimeoutError) as exc:
            log.warning("slack: users.info for %s: %s", actor, type(exc).__name__)
            return None
        user = response.get("user") or {}
        profile = user.get("profile") or {}
        names = (profile.get("real_name"), user.get("real_name"), profile.get("display_name"))
        return next((name.strip() for name in names if isinstance(name, str) and name.strip()), None)

    async def find_in_case(self, desk_ref: str, key: str, *, since: datetime) -> str | None:
        """The line is found by the metadata it was posted with, among the thread's replies."""
        return await self._find_marked(
            partial(self.client.conversations_replies, channel=self._settings.staff_channel, ts=desk_ref),
            since=since,
            marked=(LINE_METADATA, "key", key),
        )

    @staticmethod
    async def _find_marked(
        pages: Callable[..., Awaitable[AsyncSlackResponse]], *, since: datetime, marked: tuple[str, str, str]
    ) -> str | None:
        """The ts of the first message since `since` whose metadata is `marked` (event type,
        payload field, value), reading `pages` (a history or a thread) page by page."""
        event_type, field, value = marked
        cursor = None
        while True:
            response = await pages(
                oldest=f"{since.timestamp():.6f}", include_all_metadata=True, limit=200, cursor=cursor
            )
            messages: list[dict[str, Any]] = response.get("messages") or []
            for message in messages:
                metadata = message.get("metadata") or {}
                if (
                    metadata.get("event_type") == event_type
                    and (metadata.get("event_payload") or {}).get(field) == value
                ):
                    return str(message["ts"])
            cursor = (response.get("response_metadata") or {}).get("next_cursor")
            if not cursor:
                return None

    # -- inbound ---------------------------------------------------------------------------

    async def _events(self, request: web.Request) -> web.Response:
        """Bounded read, signature check on the raw bytes, then Bolt; refusals never log the body."""
        body = await read_at_most(request, MAX_BODY_BYTES)
        if body is None:
            return _refusal(413, "the body is larger than Slack sends")
        if not self._signing_secret or not _signed(self._signing_secret, body, request):
            return _refusal(401, "the request is not signed with the app's signing secret")
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            return _refusal(400, "the body is not UTF-8")
        try:
            bolt_request = AsyncBoltRequest(body=text, query=request.query_string, headers=dict(request.headers))
        except Exception:  # noqa: BLE001 — Bolt reads the payload's fields without checking their types
            return _refusal(400, "the body is not a Slack payload")
        if not isinstance(bolt_request.body, dict):
            return _refusal(400, "the body is not a Slack payload")
        if (problem := shape_problem(bolt_request.body)) is not None:
            return _refusal(400, f"the payload is not as Slack sends it ({problem})")
        return await to_aiohttp_response(await self.app.async_dispatch(bolt_request))

    @staticmethod
    async def _on_error(error: Exception) -> BoltResponse | None:
        """What a listener raised. Nothing was stored when the hub could not store: 503 with
        Retry-After, so Slack sends the event again later (Bolt answers 500 to anything else)."""
        if isinstance(error, StorageUnavailable):
            log.warning("slack: answered 503, %s", error)
            return BoltResponse(
                status=503,
                body=json.dumps({"error": "try again shortly"}),
                headers={"Content-Type": "application/json", "Retry-After": str(error.retry_after_s)},
            )
        log.error("slack: handling a request failed", exc_info=error)
        return None

    async def _on_event(self, event: dict[str, Any], context: dict[str, Any]) -> None:
        routed = route_event(event, bot_user_id=context.get("bot_user_id"), settings=self._settings)
        if routed.route is Route.IGNORE or routed.address is None:
            return
        if routed.route is Route.STAFF:
            if routed.address.thread_id is None:
                raise InvariantError(
                    "a staff message's thread is missing (route_event() routes only thread replies to staff)"
                )
            await self._hub.staff_message(
                desk_ref=routed.address.thread_id, actor=event["user"], text=routed.text, event_id=event.get("ts")
            )
            return
        if routed.route is Route.FOLLOW_UP and not await self._hub.has_conversation(routed.address):
            return  # a thread among people, not one the bot is part of
        if not (await self._hub.admit(channel=self.name, sender=event["user"])).allowed:
            return  # dropped: Slack must not redeliver it, and the hub counts and logs the flood
        message = InboundMessage(
            address=routed.address,
            external_id=f"{event['channel']}:{event['ts']}",
            sender_id=event["user"],
            text=routed.text,
        )
        files = [f for f in event.get("files") or () if isinstance(f, dict)]
        if not files:
            await self._hub.receive(message)  # stored before Slack hears 200
            return
        # Slack wants its 200 within 3 seconds and sends the event again otherwise: a slow
        # download must not hold the answer up nor start a second download. Slack hears 200
        # now; the files are fetched and the message stored right after.
        if message.external_id not in self._downloading:
            self._downloading.add(message.external_id)
            task = asyncio.create_task(
                self._receive_with_files(self._hub, message, files), name=f"slack-files-{event['ts']}"
            )
            self._background.add(task)
            task.add_done_callback(self._background.discard)

    async def _receive_with_files(self, hub: SlackHub, message: InboundMessage, files: list[dict[str, Any]]) -> None:
        """Fetch the files and store the message; Slack will not send it again, so storing
        is tried a few times before the message is given up (and logged)."""
        try:
            with speaking(await hub.language_at(message.address)):  # a file's problem, in their language
                attachments = tuple([await self._download(file) for file in files])
            for attempt in range(1, STORE_ATTEMPTS + 1):
                try:
                    await hub.receive(replace(message, attachments=attachments))
                    return
                except asyncio.CancelledError:
                    raise
                except Exception:
                    log.warning(
                        "slack: storing message %s failed (attempt %d of %d)",
                        message.external_id,
                        attempt,
                        STORE_ATTEMPTS,
                        exc_info=True,
                    )
                if attempt < STORE_ATTEMPTS:
                    await asyncio.sleep(attempt)
            log.error("slack: message %s with files was lost: it could not be stored", message.external_id)
        finally:
            self._downloading.discard(message.external_id)

    async def _on_case_button(self, ack: Any, body: dict[str, Any], action: dict[str, Any]) -> None:
        await ack()
        if not action.get("value"):  # our case buttons carry the case id
            return
        kind = CaseAction(action["action_id"].removeprefix("case_"))
        await self._hub.staff_action(case_id=action["value"], action=kind, actor=body["user"]["id"])

    async def _on_survey_button(self, ack: Any, body: dict[str, Any], action: dict[str, Any]) -> None:
        """A customer's score from the survey's buttons: kept once (in the conversation the
        message is in), and the buttons give way to a line saying so."""
        await ack()
        choice = survey_choice(action.get("value"))
        container = body.get("container") or {}
        channel, ts = container.get("channel_id"), container.get("message_ts")
        if choice is None or not channel or not ts:
            return
        message_id, score = choice
        address = Address(CHANNEL, channel, container.get("thread_ts"))
        result = await self._hub.rate(message_id, score=score, address=address)
        if result is RatingResult.NOT_FOUND:
            log.info("slack: a survey button in %s named no survey of that conversation", channel)
            return
        with speaking(await self._hub.language_at(address)):
            note = (
                _("Thank you for your rating: {score} of {scale}.", score=score, scale=SURVEY_SCORES[-1])
                if result is RatingResult.SAVED
                else _("This survey is closed.")
            )
        blocks = answered_blocks((body.get("message") or {}).get("blocks"), note)
        if blocks is not None:
            await self.client.chat_update(channel=channel, ts=ts, text=note, blocks=blocks)

    async def _download(self, file: dict[str, Any]) -> Attachment:
        """A shared file, fetched with the bot token from Slack's file server only: a URL
        elsewhere in an event is not fetched, since the token would go with it (and aiohttp
        drops it on a redirect to another host). A file Slack declares over the size limit is
        not fetched; one that cannot be fetched says so to the customer."""
        name = str(file.get("name") or file.get("id") or "file")
        kind = str(file.get("mimetype") or "application/octet-stream")
        url = file.get("url_private_download") or file.get("url_private")
        size = file.get("size") if type(file.get("size")) is int else None
        unfetched = Attachment(name, kind, b"", problem=_("{name} could not be fetched from Slack", name=literal(name)))
        if not isinstance(url, str) or not url or self._http is None:
            return unfetched
        if origin(url) not in {SLACK_FILE_ORIGIN, origin(self._settings.api_url)}:
            log.warning("slack: file %s not fetched: %s is not Slack's file host", name, urlparse(url).netloc)
            problem = _("{name} was not fetched: it is not on Slack's file server", name=literal(name))
            return replace(unfetched, problem=problem)
        if size is not None and size > self._max_file_bytes:
            return Attachment(name, kind, b"", declared_size=size)
        try:
            async with self._http.get(url, headers={"Authorization": f"Bearer {self._token}"}) as response:
                # Slack answers a download it does not authorize with its HTML sign-in page
                if response.status != 200 or (response.content_type == "text/html" and kind != "text/html"):
                    log.warning(
                        "slack: downloading %s failed: HTTP %s %s", name, response.status, response.content_type
                    )
                    return unfetched
                return await capped_file(
                    response, name=name, kind=kind, max_bytes=self._max_file_bytes, declared_size=size
                )
        except (aiohttp.ClientError, TimeoutError) as exc:
            log.warning("slack: downloading %s failed: %s", name, exc)
            return unfetched
