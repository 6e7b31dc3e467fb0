"""Discord as a customer channel: a bot in the company's server, on discord.py (the maintained
library for Discord's gateway), behind the hub's ports.

In. The bot holds a gateway connection and reads each message:
- in a **support channel** (`discord.support_channels`), every message is a question: the bot
  starts a thread from it (the thread takes the message's id, and Discord refuses a second
  thread for a message, so of the hub processes that see it exactly one takes it: one thread, one
  rate-limit count) and the conversation lives in that thread;
- **elsewhere in the server** (a busy channel) the bot answers only when mentioned, in a thread
  started the same way; in a thread the bot started, or under a support channel, it answers every
  message there;
- in a **direct message**, every message, in the DM.
A message is stored once under its Discord id (every process holds a gateway connection; the hub
keeps the first). The customer is their Discord user id: Discord gives a bot no verified email
or phone, so a Discord customer is a contact of their own. Files attached (Discord's CDN) are
fetched within `attachments.max_bytes`; the bot shows "is typing…" while it answers.

Out. Replies go through Discord's HTTP API, in the conversation's thread or DM, within 2,000
characters a message (`channels.discord.format`), pinging nobody. Discord keeps no messaging
window: a late staff reply goes whenever it is written; a thread that went quiet and archived
itself is unarchived by the reply (Discord's rule for an unlocked thread). A customer who can no
longer be written to (they left, or closed their DMs: error 50007) is marked unreachable.

The survey. With the app's Public Key set (`discord.public_key`), the survey's question carries
its scores as buttons, and a press reaches `POST /discord/interactions`, which Discord signs with
Ed25519 (checked on the raw body: 401 and nothing stored otherwise, as Discord requires). Only the
customer who opened the conversation can press; a second press is told the survey is closed. Without the key, a score is typed
("4"), as on SMS.
"""

from __future__ import annotations

import asyncio
import json
import logging
import mimetypes
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import urlsplit

import aiohttp
import discord
import yarl
from aiohttp import web
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from channels.common.downloads import Named, capped_file, fetched_within, origin
from channels.common.survey_buttons import CLOSED, PRESS_PREFIX, THANKS, score_title, survey_choice, survey_value
from channels.discord.format import MAX_CONTENT, discord_parts
from channels.discord.settings import DiscordSettings
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

CHANNEL = "discord"
INTERACTIONS_PATH = "/discord/interactions"
API_VERSION = 10
MAX_INTERACTION_BYTES = 64 * 1024
"""An interaction is a few KB of JSON; nothing Discord sends comes near this."""
FILES_DEADLINE_S = 10.0
DISCORD_CDN_HOSTS = ("cdn.discordapp.com", "media.discordapp.net")
"""Where Discord serves the files customers attach; an attachment URL elsewhere is not fetched."""
THREAD_NAME_CHARS = 80
STORE_TRIES = 5
"""A message read from the gateway while the hub cannot store it (starting, or the database away)
is tried again this many times: Discord does not send a gateway event twice."""
THREAD_EXISTS = 160004
CANNOT_MESSAGE_USER = 50007
NOT_YOURS = N_("Only the person this survey asked can answer it.")
_MENTION = re.compile(r"<@!?(\d+)>")
_UNKNOWN_KIND = "application/octet-stream"


class DiscordHub(Intake, ChannelRecords, Languages, Protocol):
    """What Discord asks of the hub."""


class DiscordChannel:
    """Customers who write to the company's bot in its Discord server or in a DM."""

    name = CHANNEL
    settings_model = DiscordSettings
    sandbox_pane = "channels.discord.sandbox:DiscordPane"

    @staticmethod
    def configured(settings: Settings) -> bool:
        """On when the bot token is set."""
        return settings.section(DiscordSettings).enabled

    def __init__(self, settings: Settings, hub: HubPort) -> None:
        section = settings.section(DiscordSettings)
        if section.bot_token is None:
            raise ValueError("discord: set SUPPORTHUB_DISCORD__BOT_TOKEN to enable Discord")
        self._settings = section
        self._token = section.bot_token.get_secret_value()
        self._hub: DiscordHub = hub
        self._support = {int(channel) for channel in section.support_channels}
        self._key = (
            Ed25519PublicKey.from_public_bytes(bytes.fromhex(section.public_key)) if section.public_key else None
        )
        self._api_origin = origin(section.api_url)
        self._max_file_bytes = settings.attachments.max_bytes
        self._max_files = settings.attachments.max_files
        self.capabilities = Capabilities(max_text_length=MAX_CONTENT * 2)  # Nitro doubles a message
        self._client: _Gateway | None = None
        self._running: asyncio.Task[None] | None = None
        self._session: aiohttp.ClientSession | None = None

    def routes(self) -> list[web.AbstractRouteDef]:
        return [web.post(INTERACTIONS_PATH, self._interaction)] if self._key is not None else []

    async def start(self) -> None:
        _point_discord_py_at(self._settings)
        self._session = aiohttp.ClientSession()
        self._client = _Gateway(self)
        self._running = asyncio.create_task(self._run(self._client), name="discord gateway")

    async def stop(self) -> None:
        if self._client is not None:
            await self._client.close()
        if self._running is not None:
            self._running.cancel()
            await asyncio.gather(self._running, return_exceptions=True)
        if self._session is not None:
            await self._session.close()
        self._client = self._running = self._session = None

    async def _run(self, client: _Gateway) -> None:
        """Sign in, then hold the gateway (discord.py reconnects and resumes by itself)."""
        try:
            await client.login(self._token)
            await client.connect(reconnect=True)
        except discord.LoginFailure:
            log.error("discord: Discord refused the bot token (401): set SUPPORTHUB_DISCORD__BOT_TOKEN")
        except discord.PrivilegedIntentsRequired:
            log.error(
                "discord: the Message Content intent is off: switch it on under Developer Portal → Bot → "
                "Privileged Gateway Intents"
            )
        finally:
            await client.close()

    async def check(self) -> str:
        """Sign in with the token, see that the Message Content intent is on, and read each support
        channel, on a client of its own; nothing sent, no gateway connection."""
        _point_discord_py_at(self._settings)
        client = discord.Client(intents=discord.Intents.none())
        try:
            try:
                await client.login(self._token)
            except discord.LoginFailure:
                raise CheckFailed("Discord refused the bot token (HTTP 401)") from None
            flags = client.application.flags if client.application is not None else None
            if flags is not None and not (flags.gateway_message_content or flags.gateway_message_content_limited):
                raise CheckFailed(
                    "the Message Content intent is off: switch it on under Developer Portal → Bot → "
                    "Privileged Gateway Intents (without it the bot reads no question)"
                )
            user = client.user
            shown = [f"bot {user} ({user.id})" if user is not None else "bot"]
            for channel_id in sorted(self._support):
                try:
                    channel = await client.fetch_channel(channel_id)
                except discord.HTTPException as failure:
                    raise CheckFailed(f"support channel {channel_id}: {_reason(failure)}") from None
                shown.append(f"#{getattr(channel, 'name', channel_id)}")
            return ", support channels ".join([shown[0], " ".join(shown[1:])]) if len(shown) > 1 else shown[0]
        finally:
            await client.close()

    # -- out -------------------------------------------------------------------------------

    async def send(self, address: Address, message: StoredMessage) -> str | None:
        return await self.send_split(address, message, SentParts())

    async def send_split(self, address: Address, message: StoredMessage, parts: SentParts) -> str | None:
        """The reply in the conversation's thread or DM, in parts of at most 2,000 characters; the
        survey's question with its scores as buttons when the interactions endpoint is on."""
        target = self._started().get_partial_messageable(int(address.chat_id))
        texts = discord_parts(message.text, message.citations)
        buttons = message.survey is SurveyPart.QUESTION and self._key is not None
        for index in range(len(parts.sent), len(texts)):
            last = index == len(texts) - 1
            quiet = discord.AllowedMentions.none()
            if buttons and last:
                posting = target.send(texts[index], allowed_mentions=quiet, view=_survey_view(message.id))
            else:
                posting = target.send(texts[index], allowed_mentions=quiet)
            sent = await _sent(posting)
            await parts.record(index, sent, last=last)
        return parts.sent[0] if parts.sent else None

    def _started(self) -> _Gateway:
        if self._client is None:
            raise DeliveryError("discord: the channel is not started")
        return self._client

    # -- in --------------------------------------------------------------------------------

    async def on_message(self, message: discord.Message) -> None:
        """A message from the gateway: answered where the module says, stored once."""
        client = self._started()
        me = client.user
        if (
            me is None
            or message.author.bot
            or message.type not in (discord.MessageType.default, discord.MessageType.reply)
        ):
            return
        mentioned = any(user.id == me.id for user in message.mentions)
        address, opens_thread = self._conversation(message, mentioned=mentioned, me=me.id)
        if address is None or (opens_thread and not await self._open_thread(message)):
            return
        if not (await self._hub.admit(channel=CHANNEL, sender=str(message.author.id))).allowed:
            return  # dropped and counted by the hub
        asker = self._hub.values(CHANNEL)
        if await asker.get(_asker_key(address.chat_id)) is None:  # who opened it: the survey asks them
            await asker.put(_asker_key(address.chat_id), str(message.author.id))
        inbound = InboundMessage(
            address=address,
            external_id=str(message.id),
            sender_id=str(message.author.id),
            text=_text(message, me=me.id),
            sender_name=message.author.display_name,
            attachments=await self._attachments(message.attachments, address),
            sent_at=message.created_at,
        )
        receipt = await self._stored(inbound)
        if (
            receipt is not None
            and not receipt.duplicate
            and self._settings.typing_indicator
            and not receipt.with_person
        ):
            try:
                await client.http.send_typing(int(address.chat_id))
            except (discord.HTTPException, aiohttp.ClientError) as failure:
                log.info("discord: typing failed: %s", failure)

    def _conversation(self, message: discord.Message, *, mentioned: bool, me: int) -> tuple[Address | None, bool]:
        """Where the conversation of `message` lives (None when the bot is not asked: a busy
        channel without a mention), and whether the message opens it in a thread of its own."""
        channel = message.channel
        if message.guild is None:
            return Address(CHANNEL, str(channel.id)), False
        if isinstance(channel, discord.Thread):
            ours = channel.parent_id in self._support or channel.owner_id == me
            return (Address(CHANNEL, str(channel.id)) if ours or mentioned else None), False
        if channel.id not in self._support and not mentioned:
            return None, False
        return Address(CHANNEL, str(message.id)), True  # a thread started from a message takes its id

    async def _open_thread(self, message: discord.Message) -> bool:
        """Start the message's thread; False when it is not this process's to take: Discord
        allows one thread a message, so another process that saw it (or this one, for an event
        the gateway sent again) has it, or the bot may not start threads there (logged)."""
        try:
            await message.create_thread(name=_thread_name(message), auto_archive_duration=1440)
        except discord.HTTPException as failure:
            if failure.code != THREAD_EXISTS:
                where = getattr(message.channel, "name", "?")
                log.warning("discord: could not start a thread in #%s: %s", where, _reason(failure))
            return False
        return True

    async def _stored(self, inbound: InboundMessage) -> Any:
        for attempt in range(STORE_TRIES):
            try:
                return await self._hub.receive(inbound)
            except StorageUnavailable as exc:
                if attempt == STORE_TRIES - 1:
                    log.error("discord: message %s lost: the hub could not store it (%s)", inbound.external_id, exc)
                    return None
                await asyncio.sleep(exc.retry_after_s)
        return None

    async def _attachments(self, files: Sequence[discord.Attachment], address: Address) -> tuple[Attachment, ...]:
        """Every file fetched within one deadline; those past `attachments.max_files` only named."""
        if not files:
            return ()
        named = [
            Named(item, item.filename, item.content_type or mimetypes.guess_type(item.filename)[0] or _UNKNOWN_KIND)
            for item in files
        ]
        with speaking(await self._hub.language_at(address)):
            return await fetched_within(named, self._download, deadline_s=FILES_DEADLINE_S, max_files=self._max_files)

    async def _download(self, file: Named[discord.Attachment]) -> Attachment:
        item, kind = file.file, file.kind
        unfetched = Attachment(
            item.filename, kind, b"", problem=_("{name} could not be fetched from Discord", name=item.filename)
        )
        if item.size > self._max_file_bytes:
            return Attachment(item.filename, kind, b"", declared_size=item.size)
        if self._session is None or not self._from_discord(item.url):
            log.warning("discord: file %s not fetched: not Discord's CDN", item.filename)
            return unfetched
        try:
            async with self._session.get(item.url, allow_redirects=False) as response:
                if response.status != 200:
                    log.warning("discord: fetching file %s failed: HTTP %s", item.filename, response.status)
                    return unfetched
                return await capped_file(
                    response, name=item.filename, kind=kind, max_bytes=self._max_file_bytes, declared_size=item.size
                )
        except aiohttp.ClientError as exc:
            log.warning("discord: fetching file %s failed: %s", item.filename, type(exc).__name__)
            return unfetched

    def _from_discord(self, url: str) -> bool:
        try:
            scheme, _host = origin(url)
        except ValueError:
            return False
        host = (urlsplit(url).hostname or "").lower()
        return (scheme, _host) == self._api_origin or (scheme == "https" and host in DISCORD_CDN_HOSTS)

    # -- the survey's buttons (`POST /discord/interactions`) --------------------------------

    async def _interaction(self, request: web.Request) -> web.Response:
        """Discord's signed interaction: a PING answered PONG; a survey button kept once."""
        body = await read_at_most(request, MAX_INTERACTION_BYTES)
        if body is None:
            rejected(CHANNEL, Rejection.BAD_INPUT)
            return web.json_response({"error": "the body is larger than Discord sends"}, status=413)
        if not self._signed(request, body):
            log.info("discord: refused an interaction without a valid Ed25519 signature (HTTP 401)")
            rejected(CHANNEL, Rejection.BAD_SIGNATURE)
            return web.json_response({"error": "the body is not signed with this app's key"}, status=401)
        try:
            interaction = json.loads(body)
        except ValueError:
            rejected(CHANNEL, Rejection.BAD_INPUT)
            return web.json_response({"error": "the body is not JSON"}, status=400)
        if not isinstance(interaction, dict):
            return web.json_response({"error": "the body is not a JSON object"}, status=400)
        if interaction.get("type") == 1:
            return web.json_response({"type": 1})
        try:
            said = await self._pressed(interaction)
        except StorageUnavailable as exc:
            return web.Response(status=503, headers={"Retry-After": str(exc.retry_after_s)})
        if said is None:
            return web.json_response({"error": "not an interaction of this hub's"}, status=400)
        return web.json_response({"type": 4, "data": {"content": said, "flags": 64}})  # only the presser sees it

    async def _pressed(self, interaction: dict[str, Any]) -> str | None:
        data = interaction.get("data") if isinstance(interaction.get("data"), dict) else {}
        custom_id = data.get("custom_id") if isinstance(data, dict) else None
        channel_id, user_id = interaction.get("channel_id"), _user_id(interaction)
        if interaction.get("type") != 3 or not isinstance(custom_id, str) or not isinstance(channel_id, str):
            return None
        choice = survey_choice(custom_id.removeprefix(PRESS_PREFIX)) if custom_id.startswith(PRESS_PREFIX) else None
        if choice is None:
            return None
        address = Address(CHANNEL, channel_id)
        with speaking(await self._hub.language_at(address)):
            if user_id is None or user_id != await self._hub.values(CHANNEL).get(_asker_key(channel_id)):
                return _(NOT_YOURS)
            message_id, score = choice
            result = await self._hub.rate(message_id, score=score, address=address)
            if result is RatingResult.SAVED:
                return _(THANKS, score=score, scale=SURVEY_SCORES[-1])
            return _(CLOSED)

    def _signed(self, request: web.Request, body: bytes) -> bool:
        signature, timestamp = (
            request.headers.get("X-Signature-Ed25519", ""),
            request.headers.get("X-Signature-Timestamp", ""),
        )
        if self._key is None or not timestamp.isascii():
            return False
        try:
            self._key.verify(bytes.fromhex(signature), timestamp.encode() + body)
        except (ValueError, InvalidSignature):
            return False
        return True


class _Gateway(discord.Client):
    """discord.py's client, handing each message to the channel."""

    def __init__(self, channel: DiscordChannel) -> None:
        intents = discord.Intents.none()
        intents.guilds = intents.guild_messages = intents.dm_messages = intents.message_content = True
        super().__init__(intents=intents, allowed_mentions=discord.AllowedMentions.none())
        self._channel = channel

    async def on_ready(self) -> None:
        log.info("discord: connected to the gateway as %s, in %d server(s)", self.user, len(self.guilds))

    async def on_message(self, message: discord.Message) -> None:
        try:
            await self._channel.on_message(message)
        except Exception:  # one message's failure never takes down the gateway
            log.exception("discord: message %s could not be taken", message.id)


def _point_discord_py_at(settings: DiscordSettings) -> None:
    """discord.py's HTTP API and gateway addresses are process-wide class attributes: the
    settings' (Discord's own by default; a fake's in tests and the sandbox). Its warnings that
    voice is not supported are switched off: the channel never joins a voice channel."""
    discord.http.Route.BASE = f"{settings.api_url}/v{API_VERSION}"
    discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(settings.gateway_url)
    discord.VoiceClient.warn_nacl = discord.VoiceClient.warn_dave = False


async def _sent(sending: Any) -> str:
    """The id of the message `sending` posts; its failure as a `DeliveryError`."""
    try:
        message = await sending
    except discord.HTTPException as failure:
        reason = f"discord: {_reason(failure)}"
        if failure.status == 429 or failure.status >= 500 or failure.status == 401:
            raise DeliveryError(reason) from None
        if failure.code == CANNOT_MESSAGE_USER:
            raise CustomerUnreachable(reason) from None
        raise DeliveryRefused(reason) from None
    except (aiohttp.ClientError, TimeoutError) as failure:
        raise DeliveryError(f"discord: {type(failure).__name__}: {failure}") from None
    return str(message.id)


def _reason(failure: discord.HTTPException) -> str:
    return f"HTTP {failure.status}, error {failure.code}: {failure.text or type(failure).__name__}"[:300]


def _survey_view(message_id: int) -> discord.ui.View:
    """The scores as buttons; each carries the question's id and the score."""
    view = discord.ui.View(timeout=None)
    for score in SURVEY_SCORES:
        custom_id = PRESS_PREFIX + survey_value(message_id, score)
        view.add_item(
            discord.ui.Button(label=score_title(score), custom_id=custom_id, style=discord.ButtonStyle.secondary)
        )
    return view


def _text(message: discord.Message, *, me: int) -> str:
    """The message's text, the bot's mention taken out and anyone else's as their name."""
    names = {user.id: user.display_name for user in message.mentions}
    return _MENTION.sub(
        lambda found: "" if int(found[1]) == me else "@" + names.get(int(found[1]), "someone"), message.content
    ).strip()


def _thread_name(message: discord.Message) -> str:
    words = " ".join(_MENTION.sub("", message.content).split())
    return (
        words[: THREAD_NAME_CHARS - 1] + "…" if len(words) > THREAD_NAME_CHARS else words
    ) or f"Question from {message.author.display_name}"


def _asker_key(chat_id: str) -> str:
    return f"asker:{chat_id}"


def _user_id(interaction: dict[str, Any]) -> str | None:
    member = interaction.get("member")
    user = member.get("user") if isinstance(member, dict) else interaction.get("user")
    return user.get("id") if isinstance(user, dict) and isinstance(user.get("id"), str) else None
