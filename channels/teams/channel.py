"""Microsoft Teams as a customer channel: customers write to the company's bot in Teams, on the
Microsoft 365 Agents SDK (`microsoft-agents-hosting-aiohttp`, the maintained successor of the
Bot Framework SDK) behind the hub's ports.

In. Teams posts each activity to `POST /teams/messages` with a Bot Framework token, checked first
(`channels.teams.jwt_validator`: 401 and nothing stored when it is absent, forged, expired, for
another bot, or names another serviceUrl); a body that is not an activity is 400. The SDK's
`CloudAdapter` then runs the turn, which only stores the message in the hub and returns: the
answer goes later, through the outbox. In a personal chat every message is for the bot; in a group
chat or a channel only a message that @mentions it (`channels.teams.activities`). A message is
stored once, however often Teams delivers it; when the hub cannot store it the answer is 503 with
Retry-After, and Teams tries again. The customer is their Entra object id: Teams gives a bot their
directory's email too, but that is a claim of the customer's own organisation (any tenant's admin
can set any address there), not a proof that they own it, so it is never a verified email and a
Teams customer is a contact of their own. Files sent in a personal chat are fetched from their
OneDrive/SharePoint download link (no token goes there; only `teams.file_hosts`) within
`attachments.max_bytes`; "typing…" shows while the bot answers.

Out. Every message to a conversation, at once or days later, is a proactive message
(`CloudAdapter.continue_conversation`) with the reference kept from its latest activity
(`channels.teams.conversations`): Teams keeps no messaging window, so a late staff reply goes
whenever it is written. Replies are Teams markdown (`channels.teams.format`), split past 20,000
characters; the survey's question is an Adaptive Card whose buttons come back as a message.
A conversation the bot was removed from (403, 404) is unreachable; 429 and 5xx are retried.
"""

from __future__ import annotations

import json
import logging
import mimetypes
from collections.abc import Awaitable, Mapping
from functools import partial
from typing import TYPE_CHECKING, Any, NoReturn, Protocol
from urllib.parse import urlsplit

import aiohttp
from aiohttp import web
from microsoft_agents.activity import Activity
from microsoft_agents.activity import Attachment as CardAttachment
from microsoft_agents.hosting.aiohttp import CloudAdapter
from microsoft_agents.hosting.core import (
    AgentAuthConfiguration,
    AuthenticationConstants,
    ClaimsIdentity,
    ConnectionManager,
    TurnContext,
)
from pydantic import ValidationError

from channels.common.downloads import Named, capped_file, fetched_within
from channels.common.survey_buttons import CLOSED, THANKS, survey_choice
from channels.teams.activities import FileLink, Incoming, read_message
from channels.teams.conversations import KeptReference, asker_key, pressed_key, reference_key
from channels.teams.format import ADAPTIVE_CARD, survey_card, teams_parts
from channels.teams.hosts import allowed
from channels.teams.jwt_validator import BotFrameworkTokens, KeysUnavailable, TokenRejected
from channels.teams.settings import TeamsSettings
from channels.teams.token_provider import ClientCredentialsTokens, TokenRefused
from core.channel import (
    Capabilities,
    ChannelRecords,
    CheckFailed,
    CustomerUnreachable,
    DeliveryError,
    DeliveryRefused,
    HubPort,
    Intake,
    Languages,
    RatingResult,
    SentParts,
    StorageUnavailable,
)
from core.languages import N_, _, speaking
from core.messages import SURVEY_SCORES, Address, Attachment, InboundMessage, StoredMessage, SurveyPart
from core.metrics import Rejection, rejected
from core.request_bodies import read_at_most

if TYPE_CHECKING:
    from core.settings import Settings

log = logging.getLogger(__name__)

CHANNEL = "teams"
MESSAGES_PATH = "/teams/messages"
MAX_ACTIVITY_BYTES = 256 * 1024
"""An activity is a few KB of JSON; a Teams message is at most about 28 KB."""
MAX_CUSTOMER_TEXT = 28_000
FILES_DEADLINE_S = 10.0
"""All of a message's files must be fetched by then: Teams waits for the turn."""
RETRY_LATER_S = 30
"""Retry-After when the hub cannot check a request now (Microsoft's keys or token endpoint away)."""
BOT_CONNECTOR_SCOPE = AuthenticationConstants.AGENTS_SDK_SCOPE + "/.default"
UNREACHABLE_STATUSES = (403, 404)
"""The Bot Connector's answer for a conversation the bot is no longer in (uninstalled, removed
from the team or chat, the user left the tenant): "BotNotInConversationRoster", "ConversationNotFound"."""
UNFETCHED = N_("{name} could not be fetched from Teams")
NOT_YOURS = N_("Only the person this survey asked can answer it.")


class TeamsHub(Intake, ChannelRecords, Languages, Protocol):
    """What Teams asks of the hub."""


class TeamsChannel:
    """Customers who write to the company's bot in Microsoft Teams (see the module)."""

    name = CHANNEL
    settings_model = TeamsSettings
    sandbox_pane = "channels.teams.sandbox:TeamsPane"

    @staticmethod
    def configured(settings: Settings) -> bool:
        """On when the app id and its password are set."""
        return settings.section(TeamsSettings).enabled

    def __init__(self, settings: Settings, hub: HubPort) -> None:
        section = settings.section(TeamsSettings)
        if not section.enabled or section.app_password is None:
            raise ValueError(
                "teams: set SUPPORTHUB_TEAMS__APP_ID and SUPPORTHUB_TEAMS__APP_PASSWORD to enable Microsoft Teams"
            )
        self._settings = section
        self._hub: TeamsHub = hub
        configuration = AgentAuthConfiguration(
            client_id=section.app_id, tenant_id=section.tenant, client_secret=section.app_password.get_secret_value()
        )
        # mypy reads the SDK protocol's agentic and on-behalf-of flows as abstract; their
        # inherited defaults (NotImplementedError) are right for a bot that uses neither
        self._tokens = ClientCredentialsTokens(configuration, token_url=section.token_url)  # type: ignore[abstract]
        self._inbound = BotFrameworkTokens(app_id=section.app_id, metadata_url=section.openid_metadata_url)
        self._adapter = _adapter(self._tokens)
        self._max_file_bytes = settings.attachments.max_bytes
        self._max_files = settings.attachments.max_files
        self.capabilities = Capabilities(max_text_length=MAX_CUSTOMER_TEXT)

    def routes(self) -> list[web.AbstractRouteDef]:
        return [web.post(MESSAGES_PATH, self._messages)]

    async def start(self) -> None:
        """Nothing to connect: Teams posts to the hub, and each send opens its own client."""

    async def stop(self) -> None:
        """Nothing held between requests."""

    async def check(self) -> str:
        """A token for the Bot Connector with the app id and password, and the keys Teams signs
        its requests with: the credentials proven, nothing sent to anyone."""
        app = f"app {self._settings.app_id}"
        try:
            await self._tokens.get_access_token(
                AuthenticationConstants.AGENTS_SDK_SCOPE, [BOT_CONNECTOR_SCOPE], force_refresh=True
            )
        except TokenRefused as refused:
            raise CheckFailed(f"{app}: {refused}") from None
        try:
            await self._inbound.read_keys()
        except KeysUnavailable as failure:
            raise CheckFailed(f"{app}: the keys Teams signs with could not be read: {failure}") from None
        return f"{app} (tenant {self._settings.tenant}): a Bot Connector token issued, Teams' signing keys read"

    # -- out -------------------------------------------------------------------------------

    async def send(self, address: Address, message: StoredMessage) -> str | None:
        return await self.send_split(address, message, SentParts())

    async def send_split(self, address: Address, message: StoredMessage, parts: SentParts) -> str | None:
        """The reply as a proactive message to the conversation, in parts of at most 20,000
        characters; the survey's question as an Adaptive Card with its scores as buttons."""
        reference = await self._reference(address.chat_id)
        if message.survey is SurveyPart.QUESTION:
            card = CardAttachment(content_type=ADAPTIVE_CARD, content=survey_card(message.text, message.id))
            activities = [Activity(type="message", attachments=[card])]
        else:
            activities = [
                Activity(type="message", text=text, text_format="markdown")
                for text in teams_parts(message.text, message.citations)
            ]

        async def post(context: TurnContext) -> None:
            for index in range(len(parts.sent), len(activities)):
                sent = await context.send_activity(activities[index])
                await parts.record(index, sent.id or "", last=index == len(activities) - 1)

        await _delivered(
            self._adapter.continue_conversation(self._settings.app_id, reference.continuation(address.chat_id), post)
        )
        return parts.sent[0] if parts.sent and parts.sent[0] else None

    async def _reference(self, conversation_id: str) -> KeptReference:
        kept = await self._hub.values(CHANNEL).get(reference_key(conversation_id))
        reference = KeptReference.from_value(kept) if kept is not None else None
        if reference is None:
            raise DeliveryRefused("teams: no conversation reference is kept for this conversation")
        if not allowed(reference.service_url, self._settings.service_url_hosts):
            raise DeliveryRefused(
                f"teams: the conversation's service URL host {urlsplit(reference.service_url).hostname!r} "
                "is not in teams.service_url_hosts"
            )
        return reference

    # -- in --------------------------------------------------------------------------------

    async def _messages(self, request: web.Request) -> web.Response:
        """Teams' activity: its token first (401), then the turn (202), 503 when nothing could be kept."""
        body = await read_at_most(request, MAX_ACTIVITY_BYTES)
        if body is None:
            rejected(CHANNEL, Rejection.BAD_INPUT)
            return web.json_response({"error": "the body is larger than Teams sends"}, status=413)
        authorization = request.headers.get("Authorization")
        if not authorization:
            return self._unauthorized("no Authorization header")
        payload = _activity_json(body)
        if payload is None:
            rejected(CHANNEL, Rejection.BAD_INPUT)
            return web.json_response({"error": "the body is not a Bot Framework activity"}, status=400)
        try:
            claims = await self._inbound.validate(
                authorization, channel_id=payload["channelId"], service_url=payload["serviceUrl"]
            )
        except TokenRejected as why:
            return self._unauthorized(str(why))
        except KeysUnavailable as failure:
            log.warning("teams: cannot check a request's token now: %s", failure)
            return _retry_later(RETRY_LATER_S)
        if not allowed(payload["serviceUrl"], self._settings.service_url_hosts):
            host = urlsplit(payload["serviceUrl"]).hostname
            log.warning("teams: refused an activity for the service URL host %r: not in teams.service_url_hosts", host)
            return web.json_response({"error": "the serviceUrl's host is not allowed"}, status=403)
        checked = _Checked(request, payload, ClaimsIdentity(claims, authentication_type="Bearer"))
        try:
            answer = await self._adapter.process_request(checked, self)
        except StorageUnavailable as exc:
            return _retry_later(exc.retry_after_s)
        except TokenRefused as refused:  # the SDK asks for the bot's token before the turn
            log.error("teams: no token for the Bot Connector, so no message can be taken: %s", refused)
            return _retry_later(RETRY_LATER_S)
        if answer.body is not None:
            return web.json_response(answer.body, status=answer.status_code)
        return web.Response(status=answer.status_code)

    def _unauthorized(self, why: str) -> web.Response:
        log.info("teams: refused a request without a valid Bot Framework token (HTTP 401): %s", why)
        rejected(CHANNEL, Rejection.BAD_SIGNATURE)
        return web.json_response({"error": "unauthorized"}, status=401)

    async def on_turn(self, context: TurnContext) -> None:
        """The SDK's turn for an activity whose token was checked: a message stored, a survey's
        button pressed kept; anything else (the bot added to a team, a reaction) left."""
        incoming = read_message(context.activity)
        if incoming is None:
            return
        address = Address(CHANNEL, incoming.conversation_id)
        await self._keep_reference(context.activity, incoming.conversation_id)
        if incoming.survey is not None:
            await self._pressed(context, incoming, address)
            return
        if not (await self._hub.admit(channel=CHANNEL, sender=incoming.sender)).allowed:
            return  # dropped and counted by the hub
        values = self._hub.values(CHANNEL)
        if not incoming.personal and await values.get(asker_key(incoming.conversation_id)) is None:
            await values.put(asker_key(incoming.conversation_id), incoming.sender)
        receipt = await self._hub.receive(
            InboundMessage(
                address=address,
                external_id=_external_id(incoming),
                sender_id=incoming.sender,
                text=incoming.text,
                sender_name=incoming.sender_name,
                attachments=await self._attachments(incoming.files, address),
                sent_at=incoming.sent_at,
                language_hint=incoming.language,
            )
        )
        shows_typing = incoming.conversation_type != "channel"  # "typing…" in a chat, not under a channel post
        if self._settings.typing_indicator and shows_typing and not receipt.duplicate and not receipt.with_person:
            await _quietly(context.send_activity(Activity(type="typing")), "typing")

    async def _keep_reference(self, activity: Activity, conversation_id: str) -> None:
        """The conversation's reference as this activity gives it, when it changed."""
        values, key = self._hub.values(CHANNEL), reference_key(conversation_id)
        value = KeptReference.of(activity).value()
        if len(value) > 255:
            log.error("teams: the conversation's reference is too long to keep (%d characters)", len(value))
        elif await values.get(key) != value:
            await values.put(key, value)

    async def _pressed(self, context: TurnContext, incoming: Incoming, address: Address) -> None:
        """A survey button: kept once (Teams may deliver the press again), thanked in the
        conversation's language; in a group chat or channel only the customer who asked may."""
        choice = survey_choice(incoming.survey)
        values, key = self._hub.values(CHANNEL), pressed_key(_external_id(incoming))
        if choice is None or await values.get(key) is not None:
            return
        message_id, score = choice
        with speaking(await self._hub.language_at(address)):
            if not incoming.personal and incoming.sender != await values.get(asker_key(incoming.conversation_id)):
                said = _(NOT_YOURS)
            else:
                result = await self._hub.rate(message_id, score=score, address=address)
                if result is RatingResult.NOT_FOUND:
                    log.info("teams: a survey button for no survey of this conversation")
                    return
                said = _(THANKS, score=score, scale=SURVEY_SCORES[-1]) if result is RatingResult.SAVED else _(CLOSED)
        await values.put(key, str(message_id))  # only now: a press the hub could not keep comes again
        await _quietly(context.send_activity(Activity(type="message", text=said, text_format="plain")), "thanks")

    async def _attachments(self, files: tuple[FileLink, ...], address: Address) -> tuple[Attachment, ...]:
        """Every file fetched within one deadline; those past `attachments.max_files` only named."""
        if not files:
            return ()
        named = [
            Named(item, item.name, mimetypes.guess_type(item.name)[0] or "application/octet-stream") for item in files
        ]
        with speaking(await self._hub.language_at(address)):
            async with aiohttp.ClientSession() as session:
                return await fetched_within(
                    named, partial(self._download, session), deadline_s=FILES_DEADLINE_S, max_files=self._max_files
                )

    async def _download(self, session: aiohttp.ClientSession, file: Named[FileLink]) -> Attachment:
        """The file from its pre-authorized link, without the bot's token (the link is its own
        authorization, and SharePoint is no place for the bot's token)."""
        item, kind = file.file, file.kind
        unfetched = Attachment(item.name, kind, b"", problem=_(UNFETCHED, name=item.name))
        if not allowed(item.url, self._settings.file_hosts):
            log.warning("teams: file %s not fetched: its host is not in teams.file_hosts", item.name)
            return unfetched
        try:
            async with session.get(item.url, allow_redirects=False) as response:
                if response.status != 200:
                    log.warning("teams: fetching file %s failed: HTTP %s", item.name, response.status)
                    return unfetched
                return await capped_file(response, name=item.name, kind=kind, max_bytes=self._max_file_bytes)
        except aiohttp.ClientError as exc:
            log.warning("teams: fetching file %s failed: %s", item.name, type(exc).__name__)
            return unfetched


class _Checked:
    """The request as the SDK's `process_request` reads it: the body already read (within a
    bound) and parsed, and the identity its token proved (`HttpRequestProtocol`)."""

    method = "POST"

    def __init__(self, request: web.Request, body: dict[str, Any], identity: ClaimsIdentity) -> None:
        self._request = request
        self._body = body
        self._identity = identity

    @property
    def headers(self) -> Mapping[str, str]:
        return self._request.headers

    async def json(self) -> dict[str, Any]:
        return self._body

    def get_claims_identity(self) -> ClaimsIdentity:
        return self._identity

    def get_path_param(self, name: str) -> str:
        return self._request.match_info[name]


def _adapter(tokens: ClientCredentialsTokens) -> CloudAdapter:
    """The SDK's adapter, its tokens from `tokens`; a failed turn raises to the hub, whose
    handlers decide what Teams hears (the SDK's default would send the exception's text to the
    customer)."""
    connections = ConnectionManager(
        provider_factory=lambda _configuration: tokens,
        connections_configurations={"SERVICE_CONNECTION": tokens.configuration},
    )
    adapter = CloudAdapter(connection_manager=connections)
    adapter.on_turn_error = _turn_failed
    return adapter


async def _turn_failed(context: TurnContext, error: Exception) -> NoReturn:
    raise error


def _activity_json(body: bytes) -> dict[str, Any] | None:
    """The body as an activity's JSON, with what the token is checked against; None otherwise."""
    try:
        payload = json.loads(body)
    except ValueError:
        return None
    if not isinstance(payload, dict):
        return None
    conversation = payload.get("conversation")
    shaped = (
        isinstance(payload.get("type"), str)
        and isinstance(payload.get("channelId"), str)
        and isinstance(payload.get("serviceUrl"), str)
        and isinstance(conversation, dict)
        and isinstance(conversation.get("id"), str)
    )
    if not shaped:
        return None
    try:
        Activity.model_validate(payload)
    except ValidationError:
        return None
    return payload


def _external_id(incoming: Incoming) -> str:
    """The message's id in the hub: Teams' activity id, which is unique only within its
    conversation (a timestamp in milliseconds), with the conversation's key."""
    return f"{incoming.activity_id}@{reference_key(incoming.conversation_id).removeprefix('ref:')[:16]}"


async def _delivered(sending: Awaitable[Any]) -> None:
    """`sending` awaited, its failure as the outbox reads it."""
    try:
        await sending
    except aiohttp.ClientResponseError as failure:
        reason = f"teams: the Bot Connector answered HTTP {failure.status}{_error_code(failure.message)}"
        if failure.status in UNREACHABLE_STATUSES:
            raise CustomerUnreachable(reason) from None
        if failure.status in (401, 408, 429) or failure.status >= 500:
            raise DeliveryError(reason, retry_after=_retry_after(failure.headers)) from None
        raise DeliveryRefused(reason) from None
    except TokenRefused as refused:
        raise DeliveryError(f"teams: no token for the Bot Connector: {refused}") from None
    except (aiohttp.ClientError, TimeoutError) as failure:
        raise DeliveryError(f"teams: {type(failure).__name__}: {failure}"[:300]) from None


def _error_code(body: str) -> str:
    """ ", BotNotInConversationRoster": the Bot Connector's error code from its JSON answer."""
    try:
        error = json.loads(body).get("error")
    except (ValueError, AttributeError):
        return ""
    code = error.get("code") if isinstance(error, dict) else None
    return f", {code[:80]}" if isinstance(code, str) and code else ""


def _retry_after(headers: Mapping[str, str] | None) -> float | None:
    value = (headers or {}).get("Retry-After", "")
    return float(value) if value.isdigit() else None


def _retry_later(seconds: int) -> web.Response:
    return web.Response(status=503, headers={"Retry-After": str(seconds)})


async def _quietly(sending: Awaitable[Any], what: str) -> None:
    """A best-effort message of the turn ("typing…", a thanks): its failure logged, never the turn's."""
    try:
        await sending
    except (aiohttp.ClientError, TimeoutError, TokenRefused) as failure:
        log.info("teams: %s not sent: %s", what, type(failure).__name__)
