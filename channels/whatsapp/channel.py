"""WhatsApp as a customer channel: a plug-in behind the hub's ports, reaching WhatsApp by one of
two routes (`whatsapp.route`): Meta's Cloud API or a Twilio WhatsApp sender (`channels.whatsapp.route`).

A customer's message is stored once under the platform's id before the platform hears 200; the
number it came from is a verified phone (E.164), so the WhatsApp customer is the same person as
on SMS or Telegram with that number. The opt-out words SMS honours work here too (STOP, START):
no carrier answers them on WhatsApp, so the channel confirms each change itself, once. A voice
note, an image or a document is fetched within `attachments.max_bytes` and read where the hub
reads that type. Each message is marked read, with "typing…" while the bot answers (Cloud API).

Replies obey the 24-hour rule (`channels.whatsapp.window`): within 24 hours of the customer's
last message a reply goes as text (the survey's question with its scores as a list to pick
from); later, as the operator's approved template (`whatsapp.template`, the reply's first line
its parameter), or, with none configured, it is held (`DeliveryHeld`): staff are
told why, in the case's thread and notes, and it goes when the customer writes again. A platform
that refuses a reply for the window after accepting it reports so, and the reply is held the same.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import mimetypes
from collections.abc import Coroutine, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Protocol

from aiohttp import web

from channels.common.downloads import Named, fetched_within
from channels.common.opt_out import OPT_IN_WORDS, OPT_OUT_WORDS, keyword
from channels.common.reply_window import is_later_than, stamp
from channels.common.survey_buttons import PRESS_PREFIX, score_title, survey_value, take_press
from channels.whatsapp.cloud import CloudRoute
from channels.whatsapp.format import whatsapp_parts, whatsapp_text
from channels.whatsapp.route import Choice, Incoming, Media, Report, Route, Template
from channels.whatsapp.settings import WhatsAppSettings
from channels.whatsapp.twilio_route import TwilioRoute
from channels.whatsapp.window import is_open, last_in_key, template_key
from core.channel import (
    Capabilities,
    ChannelRecords,
    DeliveryDropped,
    DeliveryHeld,
    HubPort,
    Intake,
    Languages,
    SentParts,
)
from core.invariants import present
from core.languages import N_, _, speaking, spoken
from core.messages import SURVEY_SCORES, Address, Attachment, Author, InboundMessage, StoredMessage, SurveyPart

if TYPE_CHECKING:
    from core.settings import Settings

log = logging.getLogger(__name__)

CHANNEL = "whatsapp"
MAX_TEXT = 4096
"""The longest text a customer can send on WhatsApp."""
MEDIA_DEADLINE_S = 10.0
"""All of a message's files must be fetched by then: the platform waits for our 200."""
TEMPLATE_PARAMETER_CHARS = 900
"""The reply's share of a template's body, which WhatsApp caps at 1,024 characters in all."""
OPTED_OUT = N_("You won't get messages from us here any more. Send START if you change your mind.")
OPTED_IN = N_("Welcome back: we'll answer you here again.")
CHOOSE = N_("Choose a score")
WHATSAPP_OPT_OUT = frozenset({"STOP", "STOPALL", "UNSUBSCRIBE"})
"""SMS's opt-out words that cannot mean anything else: "cancel", "end" or "quit" alone is, in a
support chat, more often about an order than about the chat (no carrier imposes them here)."""
LATE_NOTICE = (
    "WhatsApp takes only an approved template more than 24 hours after the customer's last message; "
    "a notice of the hub's own (the survey, a reminder) is not sent then"
)
TEMPLATE_SENT = (
    "more than 24 hours after the customer's last message, only its beginning went, as the approved template"
)
TEMPLATE_ALONE = "more than 24 hours after the customer's last message, the approved template went in its place"
TEMPLATE_WENT = (
    "the approved template went already, more than 24 hours after the customer's last message; "
    "WhatsApp takes more only once they answer it"
)
NO_TEMPLATE = (
    "WhatsApp takes only an approved template more than 24 hours after the customer's last message, "
    "and none is set (whatsapp.template)"
)
"""Why a reply is held, as staff read it (staff texts stay English)."""


class WhatsAppHub(Intake, ChannelRecords, Languages, Protocol):
    """What WhatsApp asks of the hub."""


class WhatsAppChannel:
    """Customers who write to the company's WhatsApp Business number."""

    name = CHANNEL
    settings_model = WhatsAppSettings
    sandbox_pane = "channels.whatsapp.sandbox:WhatsAppPane"

    @staticmethod
    def configured(settings: Settings) -> bool:
        """On when the chosen route's credentials are set."""
        return settings.section(WhatsAppSettings).enabled

    def __init__(self, settings: Settings, hub: HubPort) -> None:
        whatsapp = settings.section(WhatsAppSettings)
        if not whatsapp.enabled:
            raise ValueError(
                "whatsapp: set SUPPORTHUB_WHATSAPP__PHONE_NUMBER_ID and SUPPORTHUB_WHATSAPP__ACCESS_TOKEN (Cloud API), "
                'or route = "twilio" with SUPPORTHUB_WHATSAPP__ACCOUNT_SID, SUPPORTHUB_WHATSAPP__AUTH_TOKEN and '
                "SUPPORTHUB_WHATSAPP__FROM_NUMBER, to enable WhatsApp"
            )
        self._settings = whatsapp
        self._route: Route = CloudRoute(whatsapp) if whatsapp.route == "cloud" else TwilioRoute(whatsapp)
        self._hub: WhatsAppHub = hub
        secret = whatsapp.app_secret if whatsapp.route == "cloud" else whatsapp.auth_token
        secret = present(secret, "the webhook's secret, which `enabled` and the settings' own check ask for,")
        self._key = secret.get_secret_value().encode()
        self._max_file_bytes = settings.attachments.max_bytes
        self._max_files = settings.attachments.max_files
        self.capabilities = Capabilities(max_text_length=MAX_TEXT)
        self._background: set[asyncio.Task[None]] = set()

    def routes(self) -> list[web.AbstractRouteDef]:
        return self._route.routes(self)

    async def start(self) -> None:
        await self._route.start()

    async def stop(self) -> None:
        for task in list(self._background):
            task.cancel()
        await asyncio.gather(*self._background, return_exceptions=True)
        await self._route.stop()

    async def check(self) -> str:
        return await self._route.check()

    # -- out -------------------------------------------------------------------------------

    async def send(self, address: Address, message: StoredMessage) -> str | None:
        return await self.send_split(address, message, SentParts())

    async def send_split(self, address: Address, message: StoredMessage, parts: SentParts) -> str | None:
        """Within the window: the reply as text (in parts when it is longer than one message
        takes; the survey's question with its scores). Outside it: a notice of the hub's own is
        not sent; a reply goes as the template, the rest of it held for the customer's next
        message, or all of it held when there is no template."""
        number = address.chat_id
        values, hashed = self._hub.values(CHANNEL), self._hashed(number)
        last_in = await values.get(last_in_key(hashed))
        if is_open(last_in, now=datetime.now(UTC)):
            if message.survey is SurveyPart.QUESTION:
                text = whatsapp_text(message.text, message.citations, max_chars=self._route.max_text)
                return await self._route.send_choices(number, text, _survey_choices(message.id), button=_(CHOOSE))
            texts = whatsapp_parts(message.text, message.citations, max_chars=self._route.max_text)
            for index in range(len(parts.sent), len(texts)):
                sent = await self._route.send_text(number, texts[index])
                await parts.record(index, sent, last=index == len(texts) - 1)
            return parts.sent[0] if parts.sent else None
        if message.author is Author.BOT and message.reply_to is None:
            raise DeliveryDropped(LATE_NOTICE)
        template = self._settings.template_for(spoken())
        if template is None:
            raise DeliveryHeld(NO_TEMPLATE)
        if is_later_than(await values.get(template_key(hashed)), last_in):
            raise DeliveryHeld(TEMPLATE_WENT)  # one template until the customer answers
        name, language = template
        full = " ".join(whatsapp_text(message.text, message.citations, max_chars=self._route.max_text).split())
        parameter = _parameter(full) if self._settings.template_parameter else None
        sent = await self._route.send_template(number, Template(name, language, parameter))
        await values.put(template_key(hashed), stamp(datetime.now(UTC)))
        if parameter == full:
            return sent
        log.info("whatsapp: the template %s went; the whole reply waits for the customer", name)
        raise DeliveryHeld(TEMPLATE_SENT if parameter is not None else TEMPLATE_ALONE)

    def _hashed(self, number: str) -> str:
        """`number` under a hash keyed with the route's secret: what the channel keeps about a
        customer in the hub's values holds no phone number (`forget` need not find one there)."""
        return hmac.new(self._key, number.encode(), hashlib.sha256).hexdigest()[:40]

    # -- in (`channels.whatsapp.route.Webhooks`) -------------------------------------------

    async def message(self, incoming: Incoming) -> None:
        """Keywords and survey scores handled here; anything else stored, then marked read."""
        hub = self._hub
        address = Address(CHANNEL, incoming.number)
        await self._wrote(incoming)
        if await self._keyword(incoming, address) or await self._score(incoming, address):
            return
        if not (await hub.admit(channel=CHANNEL, sender=incoming.number)).allowed:
            return  # dropped and counted by the hub
        receipt = await hub.receive(
            InboundMessage(
                address=address,
                external_id=incoming.message_id,
                sender_id=incoming.number,
                text=incoming.text,
                sender_name=incoming.name,
                attachments=await self._attachments(incoming.media, address),
                sent_at=incoming.sent_at,
                verified_phone=incoming.number,
            )
        )
        if not receipt.duplicate and self._settings.read_receipts:
            typing = self._settings.typing_indicator and not receipt.with_person
            self._soon(self._route.mark_read(incoming.message_id, typing=typing))

    async def report(self, report: Report) -> None:
        """A status of one of our replies, kept unless a later one came first; a reply refused
        for the 24-hour window is held, a number that cannot get WhatsApp marked unreachable."""
        await self._hub.delivery_status(
            CHANNEL,
            report.message_id,
            report.status,
            report.rank,
            unreachable=f"WhatsApp {report.status}: {report.error}" if report.unreachable else None,
            held=f"WhatsApp refused it for the 24-hour window ({report.error})" if report.window_closed else None,
        )

    async def _wrote(self, incoming: Incoming) -> None:
        """Keep when the customer last wrote, before the hub hears of it (a held reply it puts
        back in line finds the window open); a message older than the one kept (a redelivery,
        webhooks out of order) never moves it back."""
        values, key = self._hub.values(CHANNEL), last_in_key(self._hashed(incoming.number))
        written = stamp(incoming.sent_at or datetime.now(UTC))
        if is_later_than(written, await values.get(key)):
            await values.put(key, written)

    async def _keyword(self, incoming: Incoming, address: Address) -> bool:
        """STOP and START (and their synonyms) as SMS takes them; whether the message was one.
        A change is confirmed once (a redelivered STOP changes nothing, so says nothing)."""
        word = keyword(incoming.text) if not incoming.media and incoming.choice is None else None
        if word in OPT_OUT_WORDS and word in WHATSAPP_OPT_OUT:
            if await self._hub.set_opted_out(address, True):
                log.info("whatsapp: a number opted out")
                self._soon(self._say(address, OPTED_OUT))
            return True
        if word in OPT_IN_WORDS:
            if await self._hub.set_opted_out(address, False):
                log.info("whatsapp: a number opted back in")
                self._soon(self._say(address, OPTED_IN))
                return True
            return word != "YES"  # a "yes" from a number that never opted out is for the bot
        return False

    async def _score(self, incoming: Incoming, address: Address) -> bool:
        """A score pressed under the survey's question, kept and answered once; whether it was one."""
        press = await take_press(
            self._hub, CHANNEL, press_id=incoming.message_id, pressed=incoming.choice, address=address
        )
        if press.reply is not None:
            self._soon(self._say(address, press.reply, **press.values))
        return press.taken

    async def _attachments(self, media: Sequence[Media], address: Address) -> tuple[Attachment, ...]:
        """Every file fetched within one deadline; those past `attachments.max_files` only
        named. A file's problem is said in the conversation's language."""
        if not media:
            return ()
        files = [Named(item, _file_name(item, index), item.kind) for index, item in enumerate(media)]

        async def download(item: Named[Media]) -> Attachment:
            return await self._route.download(item.file, name=item.name, max_bytes=self._max_file_bytes)

        with speaking(await self._hub.language_at(address)):
            return await fetched_within(files, download, deadline_s=MEDIA_DEADLINE_S, max_files=self._max_files)

    async def _say(self, address: Address, sentence: str, **values: object) -> None:
        """A sentence of the channel's own, in the conversation's language, straight to the
        customer (who just wrote, so the window is open)."""
        try:
            with speaking(await self._hub.language_at(address)):
                await self._route.send_text(address.chat_id, _(sentence, **values))
        except Exception:  # a confirmation lost is logged, never sent twice
            log.warning("whatsapp: could not send a confirmation", exc_info=True)

    def _soon(self, work: Coroutine[Any, Any, None]) -> None:
        """After the platform has its 200: read receipts and confirmations never hold it up."""
        task = asyncio.create_task(work)
        self._background.add(task)
        task.add_done_callback(self._background.discard)


def _survey_choices(message_id: int) -> list[Choice]:
    return [Choice(PRESS_PREFIX + survey_value(message_id, score), score_title(score)) for score in SURVEY_SCORES]


def _parameter(flat: str) -> str:
    """The reply as a template's parameter (one line: WhatsApp refuses new lines and tabs in
    one): all of it where it fits, else its beginning cut at a word, with "…"."""
    if len(flat) <= TEMPLATE_PARAMETER_CHARS:
        return flat
    return flat[: TEMPLATE_PARAMETER_CHARS - 1].rsplit(" ", 1)[0] + "…"


def _file_name(media: Media, index: int) -> str:
    if media.filename:
        return media.filename
    stem = "voice-note" if media.voice else "whatsapp"
    return f"{stem}-{index + 1}{mimetypes.guess_extension(media.kind.split(';')[0].strip()) or ''}"
