"""Telegram as a customer channel, on python-telegram-bot's `Bot` (the Bot API over httpx).

Updates arrive on `POST /telegram/webhook` when `telegram.public_url` is set (checked against
the secret token Telegram sends with each one), otherwise by long-polling `getUpdates` with
the offset kept in the database, so a restart neither loses nor repeats an update. Either
way an update is turned into an `InboundMessage` stored under `<chat id>:<message id>`, so a
redelivered update (a webhook retry, or a leftover poll) is answered once.

Private chats are answered on every message; in groups the bot answers when it is mentioned,
replied to or sent one of its commands (`telegram.group_mode`), one conversation per chat and
per forum topic. Replies go out through the outbox as Telegram HTML (`channels.telegram.format`),
split under 4,096 characters with every delivered part recorded, so a retry sends only the rest.

`route` is pure (an `Update` in, a decision out); `TelegramChannel` wires it to the Bot API
and the hub. The bot token sits in every API and file URL: it is never logged nor stored.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import re
import warnings
from collections import OrderedDict
from dataclasses import dataclass, replace
from datetime import timedelta
from enum import Enum
from pathlib import PurePath
from typing import TYPE_CHECKING, Any, Protocol

from aiohttp import web
from telegram import Bot, LinkPreviewOptions, Message, Update
from telegram.constants import ChatAction, ChatType, MessageEntityType, ParseMode
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Conflict,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TelegramError,
)
from telegram.warnings import PTBDeprecationWarning

from channels.telegram.format import telegram_parts
from channels.telegram.settings import TelegramSettings
from channels.telegram.shapes import shape_problem
from core.channel import (
    Capabilities,
    ChannelRecords,
    CheckFailed,
    CustomerUnreachable,
    DeliveryError,
    DeliveryRefused,
    HubPort,
    IdentityConflict,
    Intake,
    Languages,
    SentParts,
    StorageUnavailable,
)
from core.invariants import InvariantError
from core.languages import N_, _, language_of, speaking
from core.messages import Address, Attachment, InboundMessage, StoredMessage
from core.metrics import Rejection, rejected
from core.quoting import literal
from core.request_bodies import read_at_most

if TYPE_CHECKING:
    from core.settings import Settings

log = logging.getLogger(__name__)

CHANNEL = "telegram"
WEBHOOK_PATH = "/telegram/webhook"
ALLOWED_UPDATES = ["message"]
"""Edits, channel posts, reactions and the rest are never even sent to us."""
OFFSET_CURSOR = "update_offset"
WEBHOOK_CURSOR = "webhook_registration"
"""A digest of the URL, secret and update types last registered with setWebhook: Telegram
cannot show the secret back, and setWebhook is rate-limited, so it is called only on a change."""
MAX_UPDATE_BYTES = 1024 * 1024
"""An update is a few KB (a 4,096-character message with its entities and the message it replies to)."""
TYPING_EVERY_S = 4.5
"""Telegram shows "typing…" for 5 seconds or until the bot's next message."""
TYPING_FOR_S = 60.0
RECONNECT_MAX_S = 30.0
SAID_MEMORY = 1000
"""Commands answered directly (welcome, help) remembered per process, so a redelivery does
not repeat them."""
HUMAN_REQUEST = N_("I would like to talk to a person.")
"""/human as the customer's words (in their language, so the turn keeps it)."""
SHARED_PHONE = N_("My phone number is {phone}.")
UNREADABLE = N_(
    "I can read text messages, documents, photos and voice notes, but not stickers, "
    "locations, polls or other message types. Could you type your question?"
)
HELP = N_(
    "Ask me a question in your own words and I'll answer from our help centre, with links to the "
    "articles. You can send documents too. Send /human to talk to a person from our team."
)


class RetryLater(Exception):
    """An update could not be taken in for a passing reason (its file could not be fetched
    just now): nothing was stored, so Telegram must deliver it again."""

    retry_after_s = 5


class Kind(Enum):
    ASK = "ask"
    """A question or a file: goes to the hub."""
    HUMAN = "human"
    """/human: goes to the hub as a request for a person (the escalation rule for it)."""
    CONTACT = "contact"
    """The sender shared their own phone number: a verified phone, for cross-channel memory."""
    START = "start"
    HELP = "help"
    UNREADABLE = "unreadable"
    """A sticker, location, poll…: answered with one sentence saying what the bot can read."""
    MIGRATED = "migrated"
    """A group became a supergroup with a new chat id: its conversations follow."""
    IGNORE = "ignore"


@dataclass(frozen=True, slots=True)
class Routed:
    kind: Kind
    address: Address | None = None
    text: str = ""
    phone: str | None = None
    new_chat_id: str | None = None


_READABLE_FILES = ("photo", "document", "voice")
_UNREADABLE = (
    "sticker",
    "location",
    "venue",
    "poll",
    "dice",
    "game",
    "audio",
    "video",
    "video_note",
    "animation",
    "story",
    "invoice",
    "contact",
    "paid_media",
    "checklist",
)


def route(update: Update, *, bot_id: int, bot_username: str, group_mode: str) -> Routed:
    """What an update asks of the bot. Pure: no I/O; the words it puts in the customer's mouth
    (/human, a shared contact) are in the language spoken now."""
    message = update.message
    if message is None or message.chat.type == ChatType.CHANNEL:
        return Routed(Kind.IGNORE)  # edits, channel posts and the rest (not even subscribed)
    chat_id = str(message.chat.id)
    if message.migrate_to_chat_id:
        return Routed(Kind.MIGRATED, Address(CHANNEL, chat_id), new_chat_id=str(message.migrate_to_chat_id))
    sender = message.from_user
    if sender is None or sender.is_bot:
        return Routed(Kind.IGNORE)  # other bots (no loops), anonymous admins
    thread = str(message.message_thread_id) if message.is_topic_message and message.message_thread_id else None
    address = Address(CHANNEL, chat_id, thread)
    command, rest = _command(message, bot_username)
    private = message.chat.type == ChatType.PRIVATE
    if command == "":  # a command for another bot
        return Routed(Kind.IGNORE)
    if not private and group_mode == "mention" and command is None and not _addressed(message, bot_id, bot_username):
        return Routed(Kind.IGNORE)
    if command is not None:
        kinds = {"start": Kind.START, "help": Kind.HELP, "human": Kind.HUMAN}
        kind = kinds.get(command, Kind.HELP)
        return Routed(kind, address, f"{_(HUMAN_REQUEST)} {rest}".strip() if kind is Kind.HUMAN else rest)
    text = _without_mention(message.text or message.caption or "", bot_username)
    if message.contact is not None and private and message.contact.user_id == sender.id:
        phone = "+" + re.sub(r"\D", "", message.contact.phone_number)
        return Routed(Kind.CONTACT, address, _(SHARED_PHONE, phone=phone), phone=phone)
    if text or any(getattr(message, kind) for kind in _READABLE_FILES):
        return Routed(Kind.ASK, address, text)
    if any(getattr(message, kind, None) for kind in _UNREADABLE):
        return Routed(Kind.UNREADABLE, address)
    return Routed(Kind.IGNORE)  # service messages: members joining, pins, topic changes


async def _language(hub: Languages, address: Address, app_language: str | None) -> str | None:
    """The conversation's language; before there is one, the language of the customer's
    Telegram app (its IETF tag's language: "pt" for "pt-br"), when it is one we know."""
    known = await hub.language_at(address)
    return known if known is not None else language_of(app_language)


def _command(message: Message, bot_username: str) -> tuple[str | None, str]:
    """The bot command the message starts with ("" when addressed to another bot), and the
    text after it; (None, "") when it starts with no command."""
    text = message.text or ""
    first = next(iter(message.entities or ()), None)
    if first is None or first.type != MessageEntityType.BOT_COMMAND or first.offset != 0:
        return None, ""
    word = message.parse_entity(first)[1:]
    name, _at, target = word.partition("@")
    if target and target.lower() != bot_username.lower():
        return "", ""
    return name.lower(), text[len(message.parse_entity(first)) :].strip()


def _addressed(message: Message, bot_id: int, bot_username: str) -> bool:
    """In a group: the message replies to the bot or mentions it."""
    replied = message.reply_to_message
    if replied is not None and replied.from_user is not None and replied.from_user.id == bot_id:
        return True
    entities = message.parse_entities() | message.parse_caption_entities()
    for entity, text in entities.items():
        if entity.type == MessageEntityType.MENTION and text[1:].lower() == bot_username.lower():
            return True
        if entity.type == MessageEntityType.TEXT_MENTION and entity.user is not None and entity.user.id == bot_id:
            return True
    return False


def _without_mention(text: str, bot_username: str) -> str:
    return re.sub(rf"@{re.escape(bot_username)}\b", "", text, flags=re.IGNORECASE).strip()


def _update(body: bytes, bot: Bot) -> Update | None:
    """The update a webhook body holds; None for anything else (logged when it is an object:
    with the field whose type or size the Bot API never sends, or what the SDK raised)."""
    try:
        payload = json.loads(body)
        if not isinstance(payload, dict):
            return None
        if (problem := shape_problem(payload)) is not None:
            log.warning("telegram: dropped a webhook body that is not an update (%s)", problem)
            return None
        return Update.de_json(payload, bot)
    except Exception as exc:  # noqa: BLE001 — whatever a malformed update makes the SDK raise
        log.warning("telegram: dropped a webhook body that is not an update (%s)", type(exc).__name__)
        return None


def retry_seconds(error: RetryAfter) -> float:
    """RetryAfter's `retry_after` is seconds now (with a deprecation warning on reading it) and a
    timedelta with PTB_TIMEDELTA=1; both are understood, so the warning says nothing to us."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        retry_after = error.retry_after
    return retry_after.total_seconds() if isinstance(retry_after, timedelta) else float(retry_after)


class TelegramHub(Intake, ChannelRecords, Languages, Protocol):
    """What Telegram asks of the hub."""


class TelegramChannel:
    """Customers in private chats, groups and forum topics."""

    name = CHANNEL
    settings_model = TelegramSettings
    sandbox_pane = "channels.telegram.sandbox:TelegramPane"

    @staticmethod
    def configured(settings: Settings) -> bool:
        """On when a bot token is set (and `channels`, if set, names it: `core.registry`)."""
        return settings.section(TelegramSettings).bot_token is not None

    def __init__(self, settings: Settings, hub: HubPort) -> None:
        telegram = settings.section(TelegramSettings)
        if telegram.bot_token is None:
            raise ValueError("telegram: set SUPPORTHUB_TELEGRAM__BOT_TOKEN to enable the Telegram channel")
        self._settings: TelegramSettings = telegram
        self._max_file_bytes = settings.attachments.max_bytes
        self._allowed_types = {"." + t.lower().lstrip(".") for t in settings.attachments.allowed_types}
        self._secret = telegram.webhook_secret.get_secret_value().encode() if telegram.webhook_secret else b""
        self._token_key = telegram.bot_token.get_secret_value().encode()
        """Keys the digest of the registration kept in the database: a dump must not let
        anyone guess the webhook secret offline."""
        self.capabilities = Capabilities(max_text_length=100_000)
        self.bot = Bot(
            telegram.bot_token.get_secret_value(),
            base_url=f"{telegram.api_url}/bot",
            base_file_url=f"{telegram.api_url}/file/bot",
        )
        self._hub: TelegramHub = hub
        self._ready = asyncio.Event()
        self._connector: asyncio.Task[None] | None = None
        self._background: set[asyncio.Task[None]] = set()
        self._said: OrderedDict[str, None] = OrderedDict()

    @property
    def webhook_mode(self) -> bool:
        return bool(self._settings.public_url)

    def routes(self) -> list[web.AbstractRouteDef]:
        """`POST /telegram/webhook` in webhook mode; nothing listens while polling."""
        return [web.post(WEBHOOK_PATH, self._webhook)] if self.webhook_mode else []

    async def start(self) -> None:
        """Connect in the background: Telegram being unreachable must not keep the other
        channels from serving. Webhook calls wait (503) until the bot knows who it is."""
        self._connector = asyncio.create_task(self._connect(self._hub), name="telegram-connect")

    async def stop(self) -> None:
        tasks = [task for task in (self._connector, *self._background) if task is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if self._ready.is_set():
            await self.bot.shutdown()

    async def check(self) -> str:
        """getMe with the bot token; the Bot's connections are closed again afterwards."""
        try:
            await self.bot.initialize()  # getMe
            me = self.bot.bot
        except InvalidToken:  # its message repeats the token
            raise CheckFailed("getMe: the Bot API refused the bot token (Unauthorized)") from None
        except TelegramError as exc:
            raise CheckFailed(f"getMe: {type(exc).__name__}: {exc.message}") from None
        finally:
            await self.bot.shutdown()
        mode = "webhook" if self.webhook_mode else "long polling"
        return f"getMe: @{me.username} (id {me.id}), updates by {mode}"

    async def send(self, address: Address, message: StoredMessage) -> str | None:
        """Every part of the reply (the outbox calls `send_split`, which skips those delivered)."""
        return await self.send_split(address, message, SentParts())

    async def send_split(self, address: Address, message: StoredMessage, parts: SentParts) -> str | None:
        """Send the parts of the reply not yet delivered, recording each as it goes; the id of
        the reply's first Telegram message."""
        hub = self._hub
        texts = telegram_parts(message.text, message.citations)
        sent = parts.sent
        chat_id = address.chat_id
        for index in range(len(sent), len(texts)):
            try:
                delivered = await self._send_part(address, chat_id, texts[index])
            except ChatMigrated as exc:  # a group became a supergroup: follow it, then say it there
                new_chat_id = str(exc.new_chat_id)
                await hub.move_chat(CHANNEL, chat_id, new_chat_id)
                chat_id = new_chat_id
                delivered = await self._send_part(address, chat_id, texts[index])
            await parts.record(index, str(delivered.message_id), last=index == len(texts) - 1)
        return sent[0] if sent else None

    async def _send_part(self, address: Address, chat_id: str, html: str) -> Message:
        """One sendMessage; Telegram's refusals as the outbox understands them (ChatMigrated
        is left to the caller)."""
        try:
            return await self.bot.send_message(
                chat_id=chat_id,
                text=html,
                parse_mode=ParseMode.HTML,
                message_thread_id=int(address.thread_id) if address.thread_id else None,
                link_preview_options=LinkPreviewOptions(is_disabled=True),
            )
        except RetryAfter as exc:
            raise DeliveryError("telegram sendMessage: flood control", retry_after=retry_seconds(exc)) from None
        except Forbidden as exc:  # blocked by the user, kicked from the group
            raise CustomerUnreachable(f"telegram sendMessage: {exc.message}") from None
        except BadRequest as exc:  # before NetworkError, its base class: retrying cannot help
            raise DeliveryRefused(f"telegram sendMessage: {exc.message}") from None
        except (NetworkError, InvalidToken) as exc:  # timeouts, 5xx, a bad gateway: retried
            raise DeliveryError(f"telegram sendMessage: {type(exc).__name__}: {exc.message}") from None

    # -- connecting ------------------------------------------------------------------------

    async def _connect(self, hub: TelegramHub) -> None:
        delay = 1.0
        while True:
            try:
                await self.bot.initialize()  # getMe: the bot's id and username
                if self.webhook_mode:
                    await self._register_webhook(hub)
                else:
                    await self._leave_webhook()
                break
            except InvalidToken:
                log.error(
                    "telegram: the Bot API refused the bot token (getMe: Unauthorized); "
                    "check SUPPORTHUB_TELEGRAM__BOT_TOKEN. The Telegram channel is off."
                )
                return
            except (TelegramError, StorageUnavailable) as exc:
                log.warning(
                    "telegram: connecting failed (%s: %s); trying again in %.0f s", type(exc).__name__, exc, delay
                )
                await asyncio.sleep(delay)
                delay = min(delay * 2, RECONNECT_MAX_S)
        self._ready.set()
        mode = f"webhook at {self._settings.public_url}{WEBHOOK_PATH}" if self.webhook_mode else "long polling"
        log.info("telegram: connected as @%s (%s)", self.bot.username, mode)
        if not self.webhook_mode:
            await self._poll(hub)

    async def _register_webhook(self, hub: TelegramHub) -> None:
        """setWebhook only when Telegram's registration differs from ours: Telegram rate-limits it."""
        url = self._settings.public_url + WEBHOOK_PATH
        digest = hmac.new(
            self._token_key, json.dumps([url, self._secret.hex(), ALLOWED_UPDATES]).encode(), hashlib.sha256
        ).hexdigest()
        info = await self.bot.get_webhook_info()
        if info.last_error_message:
            log.warning("telegram: Telegram reports the webhook's last delivery failed: %s", info.last_error_message)
        same = (
            info.url == url
            and sorted(info.allowed_updates or ()) == sorted(ALLOWED_UPDATES)
            and await hub.values(CHANNEL).get(WEBHOOK_CURSOR) == digest
        )
        if same:
            return
        await self.bot.set_webhook(url, secret_token=self._secret.decode(), allowed_updates=ALLOWED_UPDATES)
        await hub.values(CHANNEL).put(WEBHOOK_CURSOR, digest)
        log.info("telegram: registered the webhook %s", url)

    async def _leave_webhook(self) -> None:
        """getUpdates fails while a webhook is set: a webhook left from webhook mode is removed,
        keeping the updates Telegram holds for it."""
        if (await self.bot.get_webhook_info()).url:
            await self.bot.delete_webhook(drop_pending_updates=False)
            log.info("telegram: removed the webhook registered earlier (telegram.public_url is not set: polling)")

    async def _poll(self, hub: TelegramHub) -> None:
        """Long-poll for updates; the offset is saved after each update is handled, so a
        restart resumes after the last stored one (a repeat is a duplicate, answered once).
        Until the saved offset is read, nothing is fetched: a database out of reach at start
        is waited out like a failing getUpdates."""
        offset: int | None = None
        delay = 1.0
        while True:
            try:
                if offset is None:
                    offset = int(await hub.values(CHANNEL).get(OFFSET_CURSOR) or 0)
                updates = await self.bot.get_updates(
                    offset=offset or None, timeout=self._settings.poll_timeout_s, allowed_updates=ALLOWED_UPDATES
                )
                for update in updates:
                    await self._handle_logged(hub, update)
                    offset = update.update_id + 1
                    await hub.values(CHANNEL).put(OFFSET_CURSOR, str(offset))
                delay = 1.0
            except RetryAfter as exc:
                await asyncio.sleep(retry_seconds(exc))
            except (TelegramError, StorageUnavailable, RetryLater) as exc:
                hint = " (is another process polling with this bot token?)" if isinstance(exc, Conflict) else ""
                log.warning(
                    "telegram: getUpdates failed (%s: %s)%s; trying again in %.0f s",
                    type(exc).__name__,
                    exc,
                    hint,
                    delay,
                )
                await asyncio.sleep(delay)
                delay = min(delay * 2, RECONNECT_MAX_S)

    # -- inbound ---------------------------------------------------------------------------

    async def _webhook(self, request: web.Request) -> web.Response:
        """Secret first (403, nothing read further), then the update, stored before the 200.
        A bad update is dropped with a 200: a 5xx would make Telegram send it forever."""
        given = request.headers.get("X-Telegram-Bot-Api-Secret-Token", "").encode("utf-8", "surrogateescape")
        if not self._secret or not hmac.compare_digest(given, self._secret):
            log.warning("telegram: refused a webhook call without the right secret token (HTTP 403)")
            rejected(CHANNEL, Rejection.BAD_SIGNATURE)
            return web.json_response({"error": "the secret token is missing or wrong"}, status=403)
        hub = self._hub
        if not self._ready.is_set():  # Telegram tries again shortly
            return web.json_response({"error": "starting"}, status=503, headers={"Retry-After": "5"})
        body = await read_at_most(request, MAX_UPDATE_BYTES)
        if body is None:
            rejected(CHANNEL, Rejection.BAD_INPUT)
            return web.json_response({"error": "the body is larger than Telegram sends"}, status=413)
        update = _update(body, self.bot)
        if update is None:
            rejected(CHANNEL, Rejection.BAD_INPUT)
            return web.json_response({"ok": False, "error": "not an update"})
        try:
            await self._handle_logged(hub, update)
        except (StorageUnavailable, RetryLater) as exc:  # nothing kept: Telegram must send it again
            return web.json_response(
                {"error": "try again shortly"}, status=503, headers={"Retry-After": str(exc.retry_after_s)}
            )
        return web.json_response({"ok": True})

    async def _handle_logged(self, hub: TelegramHub, update: Update) -> None:
        """Handle an update; one that fails for any reason but storage is logged and dropped."""
        try:
            await self._handle(hub, update)
        except (StorageUnavailable, RetryLater, asyncio.CancelledError):
            raise
        except Exception:
            log.exception("telegram: update %s could not be handled; dropped", update.update_id)

    async def _handle(self, hub: TelegramHub, update: Update) -> None:
        routed = route(update, bot_id=self.bot.id, bot_username=self.bot.username, group_mode=self._settings.group_mode)
        message = update.message
        if routed.kind is Kind.IGNORE or routed.address is None or message is None:
            return
        if routed.kind is Kind.MIGRATED:
            if routed.new_chat_id is None:
                raise InvariantError("a migrated chat's new id is missing (route() sets it for Kind.MIGRATED)")
            await hub.move_chat(CHANNEL, routed.address.chat_id, routed.new_chat_id)
            return
        if message.from_user is None:
            raise InvariantError("the message's sender is missing (route() ignores messages without a sender)")
        if not (await hub.admit(channel=CHANNEL, sender=str(message.from_user.id))).allowed:
            return  # dropped and counted by the hub; Telegram must not send it again
        address = routed.address
        if routed.kind is Kind.ASK and not any(getattr(message, kind) for kind in _READABLE_FILES):
            await self._take(hub, message, address, routed)  # the customer's words only
            return
        with speaking(await _language(hub, address, message.from_user.language_code)):
            if routed.kind in (Kind.HUMAN, Kind.CONTACT):  # words put in their mouth, in their language
                routed = route(
                    update, bot_id=self.bot.id, bot_username=self.bot.username, group_mode=self._settings.group_mode
                )
            await self._take(hub, message, address, routed)

    async def _take(self, hub: TelegramHub, message: Message, address: Address, routed: Routed) -> None:
        """An admitted update: a fixed answer said at once, or a message for the hub; in the
        language spoken now."""
        if message.from_user is None:
            raise InvariantError("the message's sender is missing (route() ignores messages without a sender)")
        external_id = f"{message.chat.id}:{message.message_id}"
        if routed.kind in (Kind.START, Kind.HELP, Kind.UNREADABLE):
            text = {Kind.START: self._settings.welcome, Kind.HELP: HELP, Kind.UNREADABLE: UNREADABLE}[routed.kind]
            await self._say_once(address, external_id, _(text))
            return
        inbound = InboundMessage(
            address=address,
            external_id=external_id,
            sender_id=str(message.from_user.id),
            text=routed.text,
            sender_name=message.from_user.full_name,
            attachments=await self._attachments(message),
            sent_at=message.date,
            verified_phone=routed.phone,
            language_hint=language_of(message.from_user.language_code),
        )
        try:
            receipt = await hub.receive(inbound)
        except IdentityConflict:  # a second number of the chat's person: kept, not as their proof
            log.info(
                "telegram: chat %s shared another phone number than its contact's; stored unverified",
                address.chat_id,
            )
            receipt = await hub.receive(replace(inbound, verified_phone=None))
        if not receipt.duplicate and not receipt.with_person:
            self._in_background(self._typing(hub, address, receipt.message_id), f"telegram-typing-{receipt.message_id}")

    async def _say_once(self, address: Address, key: str, text: str) -> None:
        """A fixed answer (welcome, help), sent at once and not stored; remembered so a
        redelivered update does not repeat it."""
        if key in self._said:
            return
        self._said[key] = None  # before the send: a redelivery arriving meanwhile is a repeat
        while len(self._said) > SAID_MEMORY:
            self._said.popitem(last=False)
        try:
            await self.bot.send_message(
                chat_id=address.chat_id,
                text=text,
                message_thread_id=int(address.thread_id) if address.thread_id else None,
            )
        except TelegramError:
            self._said.pop(key, None)  # a redelivery may try again
            raise

    async def _attachments(self, message: Message) -> tuple[Attachment, ...]:
        files: list[tuple[str, str, str, int | None]] = []  # file id, name, type, size
        if message.photo:
            largest = max(message.photo, key=lambda size: (size.width * size.height, size.file_size or 0))
            files.append((largest.file_id, f"photo-{message.message_id}.jpg", "image/jpeg", largest.file_size))
        if message.document:
            document = message.document
            files.append(
                (
                    document.file_id,
                    document.file_name or f"document-{message.message_id}",
                    document.mime_type or "application/octet-stream",
                    document.file_size,
                )
            )
        if message.voice:
            files.append(
                (
                    message.voice.file_id,
                    f"voice-{message.message_id}.ogg",
                    message.voice.mime_type or "audio/ogg",
                    message.voice.file_size,
                )
            )
        return tuple([await self._download(*file) for file in files])

    async def _download(self, file_id: str, name: str, kind: str, size: int | None) -> Attachment:
        """getFile, then the bytes at once (their URL holds the token: never kept). A file of a
        type that is not read, or over the size limit, is not fetched: the customer is told why.
        One Telegram refuses (an invalid or expired file id) says so to the customer; a passing
        failure (a timeout, a 5xx) makes Telegram deliver the update again."""
        if PurePath(name).suffix.lower() not in self._allowed_types:
            return Attachment(name, kind, b"")
        if size is not None and size > self._max_file_bytes:
            return Attachment(name, kind, b"", declared_size=size)
        try:
            file = await self.bot.get_file(file_id)
            if file.file_size is not None and file.file_size > self._max_file_bytes:
                return Attachment(name, kind, b"", declared_size=file.file_size)
            data = bytes(await file.download_as_bytearray())
        except BadRequest as exc:  # "file is too big" past the Bot API's 20 MB, an expired file id
            log.warning("telegram: downloading %s failed: %s", name, exc.message)
            problem = _("{name} could not be fetched from Telegram", name=literal(name))
            return Attachment(name, kind, b"", problem=problem)
        except (RetryAfter, NetworkError) as exc:
            log.warning("telegram: downloading %s failed for now (%s); the update will come again", name, exc.message)
            raise RetryLater from None
        return Attachment(name, kind, data)

    async def _typing(self, hub: TelegramHub, address: Address, message_id: int) -> None:
        """ "typing…" until the answer is ready (or a person has the conversation)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + TYPING_FOR_S
        while loop.time() < deadline:
            try:
                await self.bot.send_chat_action(
                    chat_id=address.chat_id,
                    action=ChatAction.TYPING,
                    message_thread_id=int(address.thread_id) if address.thread_id else None,
                )
            except TelegramError:
                return  # only a courtesy
            try:
                if await hub.wait_for_reply(message_id, timeout=TYPING_EVERY_S) is not None or await hub.answered(
                    message_id
                ):
                    return
            except StorageUnavailable:
                return  # only a courtesy: the answer arrives whenever the database does

    def _in_background(self, work: Any, name: str) -> None:
        task = asyncio.create_task(work, name=name)
        self._background.add(task)
        task.add_done_callback(self._background.discard)
