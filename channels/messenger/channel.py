"""Facebook Messenger and Instagram messaging as customer channels: two plug-ins on Meta's
Messenger Platform, alike but for their account, their webhook's object and their limits.

In. Meta posts each message to `/messenger/webhook` or `/instagram/webhook`, signed with the app
secret (`channels.common.meta_graph.MetaWebhook`: checked on the raw body, 403 and nothing stored
otherwise). A customer message is stored once under its mid before Meta hears 200; a redelivery
finds it stored and is answered once. The customer is their Page- or Instagram-scoped id: the
platform gives no verified email or phone, so a Messenger customer is a contact of their own
(never joined to another by a name). A photo, a voice clip, a video or a file is fetched from
Meta's CDN within `attachments.max_bytes` and read where the hub reads that type. Each message is
marked seen (`read_receipts`), with the typing bubble while the bot answers (`typing_indicator`).

Out (the Send API, `POST /{version}/{account}/messages`). Meta's standard messaging window: a
reply may go within 24 hours of the customer's last message (`messaging_type: RESPONSE`). Later:
- a staff reply within 7 days goes with the `HUMAN_AGENT` tag when the app has that permission
  (`human_agent = true`); Meta allows no other tag for a support conversation's reply;
- otherwise it is held (`DeliveryHeld`): staff are told why in the case's thread and notes, and it
  goes when the customer writes again;
- a notice of the hub's own (the survey, a reminder) is not sent late at all.
A reply Meta refuses for the window (error 10, subcode 2018278) is held the same. The survey's
question goes with its scores as quick replies; a score pressed is kept once.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import mimetypes
from collections.abc import Coroutine, Sequence
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, ClassVar, Protocol
from urllib.parse import urlsplit

import aiohttp
from aiohttp import web

from channels.common.downloads import Named, fetched_within, origin
from channels.common.meta_graph import BadWebhook, GraphClient, GraphError, MetaWebhook
from channels.common.reply_window import is_later_than, is_open, stamp
from channels.common.survey_buttons import PRESS_PREFIX, score_title, survey_value, take_press
from channels.messenger.format import message_parts, message_text
from channels.messenger.settings import InstagramSettings, MessengerSettings, MetaMessagingSettings
from channels.messenger.webhook import Delivered, FileRef, Incoming, parse_webhook
from core.channel import (
    Capabilities,
    ChannelRecords,
    CheckFailed,
    CustomerUnreachable,
    DeliveryDropped,
    DeliveryError,
    DeliveryHeld,
    DeliveryRefused,
    HubPort,
    Intake,
    Languages,
    SentParts,
    StorageUnavailable,
)
from core.languages import N_, _, speaking
from core.messages import SURVEY_SCORES, Address, Attachment, Author, InboundMessage, StoredMessage, SurveyPart
from core.metrics import Rejection, rejected

if TYPE_CHECKING:
    from core.settings import Settings

log = logging.getLogger(__name__)

STANDARD_WINDOW = timedelta(hours=24)
HUMAN_AGENT_WINDOW = timedelta(days=7)
FILES_DEADLINE_S = 10.0
"""All of a message's files must be fetched by then: Meta waits for our 200."""
MAX_CUSTOMER_TEXT = 2000
"""The longest text a customer can send on Messenger (Instagram's is shorter)."""
META_CDN_HOSTS = (".fbcdn.net", ".fbsbx.com", ".cdninstagram.com")
"""Where Meta serves the files customers send; a webhook's file URL elsewhere is not fetched."""
WINDOW_SUBCODE = 2018278
"""Error 10's subcode for "This message is sent outside of allowed window"."""
RETRYABLE_CODES = frozenset({1, 2, 4, 17, 32, 190, 613, 1200})
"""Refusals that are not about the message: Meta's own trouble (1, 2, 1200 temporary send
failure), throttling (4 app, 17 user, 32 Page, 613 rate), an access token expired or rotated (190)."""
UNREACHABLE = {(551, None), (100, 2018001), (10, 2018065), (10, 2018108)}
"""The customer cannot be written to: 551 "This person isn't available right now" (blocked us,
deactivated), 100/2018001 "No matching user found", 10/2018065 and 10/2018108 (they cannot get
messages from this account)."""
LATE_NOTICE = (
    "{platform} takes no message of the hub's own (the survey, a reminder) more than 24 hours after the "
    "customer's last message"
)
HELD_STAFF = (
    "{platform} takes a reply more than 24 hours after the customer's last message only with the Human Agent "
    "permission ({section}.human_agent), which is off"
)
HELD_LATE = "{platform} takes no reply more than 7 days after the customer's last message"
HELD_BOT = "{platform} takes no bot reply more than 24 hours after the customer's last message"
"""Why a reply is held, as staff read it (staff texts stay English)."""


class MetaMessagingHub(Intake, ChannelRecords, Languages, Protocol):
    """What Messenger and Instagram ask of the hub."""


class MetaMessagingChannel:
    """Customers who message the company's account on Meta's Messenger Platform (see the module)."""

    name: ClassVar[str]
    platform: ClassVar[str]
    """The platform's name in staff's notes and logs."""
    platform_object: ClassVar[str]
    """The webhook's `object` for this platform."""
    settings_model: ClassVar[type[MetaMessagingSettings]]
    max_text: ClassVar[int]
    """The longest text the Send API takes in one message here."""
    unfetched: ClassVar[str]
    """What the customer is told of a file that could not be fetched (its `{name}`)."""

    @staticmethod
    def sends_from(section: MetaMessagingSettings) -> str:
        """The Graph node the Send API is called on."""
        return section.account

    @classmethod
    def configured(cls, settings: Settings) -> bool:
        """On when the account and its access token are set."""
        return settings.section(cls.settings_model).enabled

    def __init__(self, settings: Settings, hub: HubPort) -> None:
        section = settings.section(self.settings_model)
        token, secret, verify_token = section.access_token, section.app_secret, section.verify_token
        if not section.enabled or token is None or secret is None or verify_token is None:
            prefix = f"SUPPORTHUB_{self.name.upper()}__"
            account = "PAGE_ID" if self.name == "messenger" else "ACCOUNT_ID"
            raise ValueError(
                f"{self.name}: set {prefix}{account}, {prefix}ACCESS_TOKEN, {prefix}APP_SECRET and "
                f"{prefix}VERIFY_TOKEN to enable {self.platform}"
            )
        self._settings = section
        self._hub: MetaMessagingHub = hub
        self._graph = GraphClient(
            channel=self.name,
            graph_url=section.graph_url,
            version=section.graph_version,
            token=token.get_secret_value(),
        )
        self._webhook = MetaWebhook(
            channel=self.name, app_secret=secret.get_secret_value(), verify_token=verify_token.get_secret_value()
        )
        self._key = secret.get_secret_value().encode()
        self._messages = f"/{self.sends_from(section)}/messages"
        self._graph_origin = origin(section.graph_url)
        self._max_file_bytes = settings.attachments.max_bytes
        self._max_files = settings.attachments.max_files
        self.capabilities = Capabilities(max_text_length=MAX_CUSTOMER_TEXT)
        self._background: set[asyncio.Task[None]] = set()

    def routes(self) -> list[web.AbstractRouteDef]:
        path = f"/{self.name}/webhook"
        return [web.get(path, self._webhook.handshake), web.post(path, self._incoming)]

    async def start(self) -> None:
        await self._graph.start()

    async def stop(self) -> None:
        for task in list(self._background):
            task.cancel()
        await asyncio.gather(*self._background, return_exceptions=True)
        await self._graph.stop()

    async def check(self) -> str:
        """The account as Meta has it, read with the token on a session of its own; nothing sent."""
        account = self._settings.account
        fields = {"fields": "name" if self.name == "messenger" else "username,name"}
        async with aiohttp.ClientSession() as session:
            try:
                found = await self._graph.call("GET", f"/{account}", params=fields, session=session)
            except GraphError as failure:
                raise CheckFailed(f"{self.platform} account {account}: {self._graph.safe(str(failure))}") from None
        shown = " ".join(
            f"@{value}" if key == "username" else str(value) for key, value in found.items() if key != "id"
        )
        return f"{self.platform} account {account}: {shown or 'found'}"

    # -- out -------------------------------------------------------------------------------

    async def send(self, address: Address, message: StoredMessage) -> str | None:
        return await self.send_split(address, message, SentParts())

    async def send_split(self, address: Address, message: StoredMessage, parts: SentParts) -> str | None:
        """Within 24 hours: the reply (in parts when longer than one message takes; the survey's
        question with its scores). Later: see the module."""
        tag = await self._late_tag(address.chat_id, message)
        if message.survey is SurveyPart.QUESTION:
            text = message_text(message.text, message.citations, max_chars=self.max_text)
            replies = [
                {"content_type": "text", "title": score_title(score), "payload": _survey_payload(message.id, score)}
                for score in SURVEY_SCORES
            ]
            return await self._send(address.chat_id, {"text": text, "quick_replies": replies}, tag=tag)
        texts = message_parts(message.text, message.citations, max_chars=self.max_text)
        for index in range(len(parts.sent), len(texts)):
            sent = await self._send(address.chat_id, {"text": texts[index]}, tag=tag)
            await parts.record(index, sent, last=index == len(texts) - 1)
        return parts.sent[0] if parts.sent else None

    async def _late_tag(self, sender: str, message: StoredMessage) -> str | None:
        """None within the standard window; "HUMAN_AGENT" for a staff reply the tag may carry;
        else raises why the reply waits (`DeliveryHeld`) or is not sent (`DeliveryDropped`)."""
        last_in = await self._hub.values(self.name).get(_last_in_key(self._hashed(sender)))
        now = datetime.now(UTC)
        if is_open(last_in, now=now, window=STANDARD_WINDOW):
            return None
        if message.author is Author.BOT and message.reply_to is None:
            raise DeliveryDropped(LATE_NOTICE.format(platform=self.platform))
        if message.author is not Author.STAFF:
            raise DeliveryHeld(HELD_BOT.format(platform=self.platform))
        if not self._settings.human_agent:
            raise DeliveryHeld(HELD_STAFF.format(platform=self.platform, section=self.name))
        if not is_open(last_in, now=now, window=HUMAN_AGENT_WINDOW):
            raise DeliveryHeld(HELD_LATE.format(platform=self.platform))
        return "HUMAN_AGENT"

    async def _send(self, recipient: str, message: dict[str, Any], *, tag: str | None) -> str:
        kind = {"messaging_type": "MESSAGE_TAG", "tag": tag} if tag else {"messaging_type": "RESPONSE"}
        body = {"recipient": {"id": recipient}, **kind, "message": message}
        try:
            answer = await self._graph.call("POST", self._messages, body=body)
        except GraphError as failure:
            raise self._delivery_error(failure) from None
        sent = answer.get("message_id")
        if isinstance(sent, str) and sent:
            return sent
        raise DeliveryError(f"{self.name}: the Send API answered without a message id")

    def _delivery_error(self, failure: GraphError) -> DeliveryError:
        reason = f"{self.name}: {self._graph.safe(str(failure))}"
        if failure.code == 10 and failure.subcode == WINDOW_SUBCODE:
            return DeliveryHeld(f"{self.platform} refused it for its messaging window ({reason})")
        if failure.status in (0, 429) or failure.status >= 500 or failure.code in RETRYABLE_CODES:
            return DeliveryError(reason, retry_after=failure.retry_after)
        if (failure.code, failure.subcode) in UNREACHABLE or (failure.code, None) in UNREACHABLE:
            return CustomerUnreachable(reason)
        return DeliveryRefused(reason)

    async def _sender_actions(self, recipient: str, actions: Sequence[str]) -> None:
        """ "Seen" and the typing bubble: best effort, after Meta has its 200; never raises."""
        for action in actions:
            try:
                await self._graph.call(
                    "POST", self._messages, body={"recipient": {"id": recipient}, "sender_action": action}
                )
            except GraphError as failure:
                log.info("%s: %s failed: %s", self.name, action, self._graph.safe(str(failure)))
                return

    def _hashed(self, sender: str) -> str:
        """`sender` under a hash keyed with the app secret: what the channel keeps about a
        customer in the hub's values holds no platform id (`forget` need not find one there)."""
        return hmac.new(self._key, sender.encode(), hashlib.sha256).hexdigest()[:40]

    # -- in --------------------------------------------------------------------------------

    async def _incoming(self, request: web.Request) -> web.Response:
        """Signature on the raw body first (403, nothing parsed); then each message and delivery
        handed on, 503 with Retry-After if the hub could keep nothing (Meta sends it all again)."""
        body = await self._webhook.signed_body(request)
        if isinstance(body, web.Response):
            return body
        try:
            found = parse_webhook(
                json.loads(body), platform_object=self.platform_object, account=self._settings.account
            )
        except (ValueError, RecursionError) as exc:  # BadWebhook, JSON, UTF-8
            rejected(self.name, Rejection.BAD_INPUT)
            reason = str(exc) if isinstance(exc, BadWebhook) else "the body is not JSON"
            return web.json_response({"error": reason}, status=400)
        try:
            for item in found:
                if isinstance(item, Delivered):
                    for message_id in item.message_ids:
                        await self._hub.delivery_status(self.name, message_id, "delivered", 2)
                else:
                    await self._message(item)
        except StorageUnavailable as exc:
            return web.Response(status=503, headers={"Retry-After": str(exc.retry_after_s)})
        return web.Response(status=200)

    async def _message(self, incoming: Incoming) -> None:
        """A survey score kept; anything else stored, then marked seen."""
        hub = self._hub
        address = Address(self.name, incoming.sender)
        await self._wrote(incoming)
        if await self._score(incoming, address):
            return
        if not (await hub.admit(channel=self.name, sender=incoming.sender)).allowed:
            return  # dropped and counted by the hub
        receipt = await hub.receive(
            InboundMessage(
                address=address,
                external_id=incoming.message_id,
                sender_id=incoming.sender,
                text=incoming.text,
                attachments=await self._attachments(incoming.files, address),
                sent_at=incoming.sent_at,
            )
        )
        if receipt.duplicate:
            return
        seen = ["mark_seen"] if self._settings.read_receipts else []
        typing = ["typing_on"] if self._settings.typing_indicator and not receipt.with_person else []
        if seen or typing:
            self._soon(self._sender_actions(incoming.sender, seen + typing))

    async def _wrote(self, incoming: Incoming) -> None:
        """Keep when the customer last wrote, before the hub hears of it (a held reply it puts
        back in line finds the window open); a redelivery never moves it back."""
        values, key = self._hub.values(self.name), _last_in_key(self._hashed(incoming.sender))
        written = stamp(incoming.sent_at or datetime.now(UTC))
        if is_later_than(written, await values.get(key)):
            await values.put(key, written)

    async def _score(self, incoming: Incoming, address: Address) -> bool:
        """A score pressed under the survey's question, kept and answered once; whether it was one."""
        press = await take_press(
            self._hub, self.name, press_id=incoming.message_id, pressed=incoming.choice, address=address
        )
        if press.reply is not None:
            self._soon(self._say(address, press.reply, **press.values))
        return press.taken

    async def _attachments(self, files: Sequence[FileRef], address: Address) -> tuple[Attachment, ...]:
        """Every file fetched within one deadline; those past `attachments.max_files` only
        named. A file's problem is said in the conversation's language."""
        if not files:
            return ()
        named = [Named(item, name := self._file_name(item, index), _kind(name)) for index, item in enumerate(files)]
        with speaking(await self._hub.language_at(address)):
            return await fetched_within(named, self._download, deadline_s=FILES_DEADLINE_S, max_files=self._max_files)

    async def _download(self, file: Named[FileRef]) -> Attachment:
        item, name = file.file, file.name
        unfetched = Attachment(name, file.kind, b"", problem=_(self.unfetched, name=name))
        try:
            fetched = await self._graph.fetch(
                item.url,
                name=name,
                kind=file.kind,
                max_bytes=self._max_file_bytes,
                allowed=self._from_meta,
                token_for=lambda url: False,  # a CDN URL carries its own signature
            )
        except aiohttp.ClientError as exc:
            log.warning("%s: fetching file %s failed: %s", self.name, name, type(exc).__name__)
            return unfetched
        return fetched or unfetched

    def _from_meta(self, url: str) -> bool:
        """Meta's CDN over https, or the Graph API's own origin (a fake in tests)."""
        try:
            scheme, host = origin(url)
        except ValueError:
            return False
        if (scheme, host) == self._graph_origin:
            return True
        name = (urlsplit(url).hostname or "").lower()
        return scheme == "https" and name.endswith(META_CDN_HOSTS)

    def _file_name(self, item: FileRef, index: int) -> str:
        """`messenger-1.jpg`: the extension from the CDN URL's path, else from the attachment's type."""
        extension = mimetypes.guess_extension(mimetypes.guess_type(urlsplit(item.url).path)[0] or "") or {
            "image": ".jpg",
            "audio": ".mp4",
            "video": ".mp4",
        }.get(item.kind, "")
        return f"{self.name}-{index + 1}{extension}"

    async def _say(self, address: Address, sentence: str, **values: object) -> None:
        """A sentence of the channel's own, in the conversation's language, straight to the
        customer (who just wrote, so the window is open)."""
        try:
            with speaking(await self._hub.language_at(address)):
                await self._send(address.chat_id, {"text": _(sentence, **values)}, tag=None)
        except Exception:  # a confirmation lost is logged, never sent twice
            log.warning("%s: could not send a confirmation", self.name, exc_info=True)

    def _soon(self, work: Coroutine[Any, Any, None]) -> None:
        """After the platform has its 200: receipts and confirmations never hold it up."""
        task = asyncio.create_task(work)
        self._background.add(task)
        task.add_done_callback(self._background.discard)


class MessengerChannel(MetaMessagingChannel):
    """Customers who message the company's Facebook Page."""

    name = "messenger"
    platform = "Messenger"
    platform_object = "page"
    settings_model = MessengerSettings
    sandbox_pane = "channels.messenger.sandbox:MessengerPane"
    max_text = 2000
    unfetched = N_("{name} could not be fetched from Messenger")


class InstagramChannel(MetaMessagingChannel):
    """Customers who message the company's Instagram professional account."""

    name = "instagram"
    platform = "Instagram"
    platform_object = "instagram"
    settings_model = InstagramSettings
    sandbox_pane = "channels.messenger.sandbox:InstagramPane"
    max_text = 1000
    unfetched = N_("{name} could not be fetched from Instagram")

    @staticmethod
    def sends_from(section: MetaMessagingSettings) -> str:
        """`me`: the Instagram account with an Instagram User token (Instagram Login), the linked
        Page with a Page token (Facebook Login), which is where Meta takes Instagram's messages then."""
        return "me"


def _last_in_key(hashed: str) -> str:
    return f"last_in:{hashed}"


def _survey_payload(message_id: int, score: int) -> str:
    return PRESS_PREFIX + survey_value(message_id, score)


def _kind(name: str) -> str:
    return mimetypes.guess_type(name)[0] or "application/octet-stream"
