"""Email as a customer channel: mail in through the built-in SMTP listener (aiosmtpd's protocol on
the app's own loop) and/or an IMAP mailbox (`channels.email.imap`), replies out through an SMTP
relay (aiosmtplib), every conversation one email thread.

A mail is parsed by `channels.email.content` (the new text only, attachments, why it is
automatic) and stored under its Message-ID, so a mail delivered twice — or by both paths — is
answered once; the listener says 250 only after the mail is committed. A mail continues the
conversation its In-Reply-To / References name (ours or the customer's own Message-IDs), but
only when its sender is that conversation's contact: a forwarded thread must not let someone
else take it over; failing that, the same sender's thread with the same subject within 14 days.

Loops are the danger of an email bot: automatic mail (auto-replies, lists, bounces, no-reply
senders) and mail from our own addresses are logged with the reason and never stored nor
answered. Every other mail is stored, and the loop guard (`channels.email.loops`) limits what
the bot sends back: a bot reply past its hourly counts (per address, domain and thread, and in
all) is not sent but dead-lettered with the reason; staff replies are never limited. From is
easy to forge, so the sender is a verified email (linking the contact across channels) only when
`trust_authentication_results` is on and the receiving server's DMARC verdict passed.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import ssl
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import formataddr, make_msgid
from functools import cached_property
from typing import TYPE_CHECKING, Protocol

import aioimaplib
import aiosmtplib
from aiohttp import web
from aiosmtpd.smtp import SMTP, Envelope, Session

from channels.email.content import ParsedMail, TooManyParts, dmarc_passed, parse_mail
from channels.email.format import ThreadHeaders, reply_message
from channels.email.imap import ImapPoller, quote_folder
from channels.email.listener import BoundedSMTP, Connections
from channels.email.loops import LoopGuard
from channels.email.settings import EmailSettings
from core.channel import (
    Capabilities,
    ChannelRecords,
    ChannelValues,
    CheckFailed,
    ConversationReads,
    DeliveryError,
    DeliveryRefused,
    HubPort,
    Intake,
    StorageUnavailable,
)
from core.messages import Address, Author, InboundMessage, StoredMessage

if TYPE_CHECKING:
    from core.settings import Settings

log = logging.getLogger(__name__)

CHANNEL = "email"
SUBJECT_THREAD_DAYS = 14
SEND_TIMEOUT_S = 30.0


def _key(kind: str, *parts: str) -> str:
    """A cursor name for thread state: Message-IDs and subjects are longer than a name may be.
    Any string has one: a subject may hold a lone surrogate (from a UTF-7 encoded word)."""
    return f"{kind}:" + hashlib.sha256("\x00".join(parts).encode("utf-8", "surrogatepass")).hexdigest()[:40]


class EmailHub(Intake, ConversationReads, ChannelRecords, Protocol):
    """What email asks of the hub."""


class EmailChannel:
    """Customers who write to the support address."""

    name = CHANNEL
    settings_model = EmailSettings
    sandbox_pane = "channels.email.sandbox:EmailPane"

    @staticmethod
    def configured(settings: Settings) -> bool:
        """On when `email.address` is set."""
        return settings.section(EmailSettings).enabled

    def __init__(self, settings: Settings, hub: HubPort) -> None:
        email = settings.section(EmailSettings)
        if not email.enabled:
            raise ValueError("email: set SUPPORTHUB_EMAIL__ADDRESS to enable the email channel")
        self._settings: EmailSettings = email
        self._own = {email.address, *email.accept_addresses}
        self.capabilities = Capabilities(max_text_length=email.max_text_length)
        self._connections = Connections(most=email.max_connections, most_per_client=email.max_connections_per_client)
        self._hub: EmailHub = hub
        self._listener: asyncio.Server | None = None
        self._poller: ImapPoller | None = None
        self._loop_guard = LoopGuard(channel=CHANNEL, settings=email, redis_url=settings.redis_url)

    def routes(self) -> list[web.AbstractRouteDef]:
        return []

    async def start(self) -> None:
        settings = self._settings
        if settings.listen_port is not None:
            loop = asyncio.get_running_loop()
            self._listener = await loop.create_server(self._smtp_session, settings.listen_host, settings.listen_port)
            log.info("email: listening for mail on %s:%d", settings.listen_host, settings.listen_port)
        if settings.imap_host:
            self._poller = ImapPoller(
                host=settings.imap_host,
                port=settings.imap_port,
                security=settings.imap_security,
                username=settings.imap_username,
                password=settings.imap_password.get_secret_value() if settings.imap_password else "",
                folder=settings.imap_folder,
                poll_interval_s=settings.imap_poll_interval_s,
                cursor=_MailboxCursor(self._hub.values(CHANNEL), settings.imap_folder),
                deliver=self._take_in_from_mailbox,
                idle_timeout_s=settings.imap_poll_interval_s,  # a safety net: a wake-up IDLE missed
            )
            await self._poller.start()

    async def stop(self) -> None:
        if self._poller is not None:
            await self._poller.stop()
        if self._listener is not None:
            self._listener.close()
            await self._listener.wait_closed()

    # -- the live check --------------------------------------------------------------------

    async def check(self) -> str:
        """The relay (connect, TLS as configured, log in when a username is set) and, with
        `imap_host`, the mailbox (log in, select the folder): both are tried, each failure named."""

        checks = [self._check_relay()] + ([self._check_mailbox()] if self._settings.imap_host else [])
        outcomes = await asyncio.gather(*checks, return_exceptions=True)
        for outcome in outcomes:
            if isinstance(outcome, BaseException) and not isinstance(outcome, CheckFailed):
                raise outcome
        failed = [str(outcome) for outcome in outcomes if isinstance(outcome, CheckFailed)]
        if failed:
            raise CheckFailed("; ".join(failed))
        return "; ".join(str(outcome) for outcome in outcomes)

    async def _check_relay(self) -> str:
        settings = self._settings
        where = f"SMTP {settings.smtp_host}:{settings.smtp_port}"
        try:
            async with self._relay():  # connects, STARTTLS and login as configured; QUIT on the way out
                pass
        except aiosmtplib.SMTPAuthenticationError as exc:
            raise CheckFailed(f"{where}: login refused ({exc.code} {exc.message})") from None
        except (aiosmtplib.SMTPException, OSError) as exc:
            raise CheckFailed(f"{where}: {type(exc).__name__}: {exc}") from None
        security = {"starttls": "STARTTLS", "tls": "TLS", "none": "no TLS"}[settings.smtp_security]
        login = f"logged in as {settings.smtp_username}" if settings.smtp_username else "no login"
        return f"{where} ({security}, {login})"

    async def _check_mailbox(self) -> str:
        settings = self._settings
        where = f"IMAP {settings.imap_username}@{settings.imap_host}:{settings.imap_port}"
        client = aioimaplib.IMAP4(
            host=settings.imap_host,
            port=settings.imap_port,
            timeout=SEND_TIMEOUT_S,
            ssl_context=ssl.create_default_context() if settings.imap_security == "tls" else None,
        )
        try:
            await client.wait_hello_from_server()
            password = settings.imap_password.get_secret_value() if settings.imap_password else ""
            response = await client.login(settings.imap_username, password)
            if response.result != "OK":
                raise CheckFailed(f"{where}: login refused ({bytes(response.lines[-1]).decode(errors='replace')})")
            response = await client.select(quote_folder(settings.imap_folder))
            if response.result != "OK":
                reason = bytes(response.lines[-1]).decode(errors="replace")
                raise CheckFailed(f"{where}: cannot select {settings.imap_folder} ({reason})")
            await client.logout()
        except (aioimaplib.AioImapException, OSError, TimeoutError) as exc:
            raise CheckFailed(f"{where}: {type(exc).__name__}: {exc}") from None
        finally:
            if client.protocol.transport is not None:
                client.protocol.transport.close()
        return f"{where} ({settings.imap_folder} selected)"

    # -- replies ---------------------------------------------------------------------------

    async def send(self, address: Address, message: StoredMessage) -> str | None:
        """The reply as a mail in the customer's thread; our Message-ID, stored by the outbox so
        the customer's answer to it finds the thread. A bot reply the loop guard refuses raises a
        permanent `DeliveryError`: the outbox dead-letters it with the guard's reason."""
        hub = self._hub
        thread = address.thread_id or ""
        settings = self._settings
        mail, message_id = reply_message(
            text=message.text,
            citations=message.citations,
            to=address.chat_id,
            from_address=settings.address,
            display_name=settings.display_name,
            domain=settings.mail_domain,
            thread=ThreadHeaders(
                subject=await hub.values(CHANNEL).get(_key("subject", thread)) or "",
                in_reply_to=await hub.values(CHANNEL).get(_key("last", thread)) or (thread or None),
                references=(thread,) if thread else (),
            ),
            automatic=message.author is Author.BOT,
        )
        counted = await self._counted_by_loop_guard(hub, address, message)
        try:
            await self._relayed(mail)
        except Exception:
            if counted:  # the outbox may try it again: counted once is enough
                await hub.values(CHANNEL).put(_counted_key(message), "counted")
            raise
        return message_id

    async def mail_staff(self, to: Sequence[str], subject: str, text: str) -> None:
        """A mail to the staff from the support address (`core.desk_port.StaffMail`), marked
        automatic so an out-of-office reply does not answer it."""
        settings = self._settings
        mail = EmailMessage()
        mail["From"] = formataddr((settings.display_name, settings.address))
        mail["To"] = ", ".join(to)
        mail["Subject"] = subject
        mail["Message-ID"] = make_msgid(domain=settings.mail_domain)
        mail["Auto-Submitted"] = "auto-generated"
        mail.set_content(text)
        await self._relayed(mail)

    async def _counted_by_loop_guard(self, hub: EmailHub, address: Address, message: StoredMessage) -> bool:
        """Whether this attempt counted `message` against the loop guard (raising the permanent
        `DeliveryError` when the guard refuses it). A bot reply is counted once, the first time
        it is let through: an attempt of it that failed leaves a mark (`_counted_key`), and the
        outbox's retry does not count again. One the guard refused leaves none: re-queued by a
        person, it is judged again and goes once the counts have room (let through at once, a
        loop's re-queued replies would start it again). Staff replies are never counted."""
        if message.author is not Author.BOT or await hub.values(CHANNEL).get(_counted_key(message)) is not None:
            return False
        thread = address.thread_id or ""
        loop_thread = await hub.values(CHANNEL).get(_key("loop", thread)) or thread[:255]
        reason = await self._loop_guard.refusal(to=address.chat_id, thread=loop_thread)
        if reason is not None:
            raise DeliveryRefused(f"loop guard: {reason}")
        return True

    async def _relayed(self, mail: EmailMessage) -> None:
        """`mail` handed to the relay; a `DeliveryError` saying whether trying again can help."""
        try:
            async with self._relay() as relay:
                await relay.send_message(mail)
        except aiosmtplib.SMTPRecipientsRefused as exc:
            code = min((r.code for r in exc.recipients), default=550)
            raise _by_reply_code(code)(f"smtp: recipient refused: {code}") from None
        except aiosmtplib.SMTPResponseException as exc:
            raise _by_reply_code(exc.code)(f"smtp: {exc.code} {exc.message}") from None
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:  # down, timed out, TLS
            raise DeliveryError(f"smtp: {type(exc).__name__}: {exc}") from None

    def _relay(self) -> aiosmtplib.SMTP:
        """A client for the relay as configured: TLS, and a login when `smtp_username` is set."""
        settings = self._settings
        return aiosmtplib.SMTP(
            hostname=settings.smtp_host,
            port=settings.smtp_port,
            use_tls=settings.smtp_security == "tls",
            start_tls=settings.smtp_security == "starttls",
            tls_context=self._relay_tls,
            username=settings.smtp_username or None,
            password=settings.smtp_password.get_secret_value() if settings.smtp_password else None,
            timeout=SEND_TIMEOUT_S,
        )

    @cached_property
    def _relay_tls(self) -> ssl.SSLContext | None:
        """Made once: it reads the system's trust store (or `smtp_ca_file`), which aiosmtplib
        would otherwise do again for every reply."""
        if self._settings.smtp_security == "none":
            return None
        return ssl.create_default_context(cafile=self._settings.smtp_ca_file or None)

    # -- intake ----------------------------------------------------------------------------

    def _smtp_session(self) -> SMTP:
        settings = self._settings
        return BoundedSMTP(
            _Handler(self),
            connections=self._connections,
            data_timeout_s=settings.data_timeout_s,
            hostname=settings.mail_domain,
            enable_SMTPUTF8=True,
            data_size_limit=settings.max_message_bytes,
            tls_context=self._listener_tls,
            loop=asyncio.get_running_loop(),
        )

    @cached_property
    def _listener_tls(self) -> ssl.SSLContext | None:
        """STARTTLS for the listener, made once rather than for every connection (it reads the
        certificate and key files)."""
        settings = self._settings
        if not settings.tls_cert_file:
            return None
        tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        tls.load_cert_chain(settings.tls_cert_file, settings.tls_key_file)
        return tls

    def accepts(self, recipient: str) -> bool:
        return recipient.strip().lower() in self._own

    async def take_in(self, raw: bytes, *, envelope_sender: str | None = None) -> None:
        """Store one mail (raises StorageUnavailable when it could not be, TooManyParts for a
        mail not even read); automatic mail and our own are logged and dropped. Any other mail is
        stored however many came before it: the loop guard counts the bot's replies (`send`)."""
        hub = self._hub
        mail = await self._read(raw)
        reason = self._ignored_because(mail, envelope_sender)
        if reason is not None:
            log.info("email: not answering mail %s: %s", mail.message_id[:80], reason)
            return
        address = await self._thread_for(hub, mail)
        thread = address.thread_id or ""
        if thread == mail.message_id and (carried := await self._carried_loop_thread(hub, mail)) is not None:
            await hub.values(CHANNEL).put(_key("loop", thread), carried)  # before its answer can be sent
        verified = (
            mail.sender
            if self._settings.trust_authentication_results
            and dmarc_passed(mail.authentication_results, mail.sender.rpartition("@")[2])
            else None
        )
        await hub.receive(
            InboundMessage(
                address=address,
                external_id=mail.message_id,
                sender_id=mail.sender,
                text=mail.text or mail.subject,
                sender_name=mail.sender_name,
                attachments=mail.attachments,
                verified_email=verified,
                sender_unproven=True,
            )
        )
        await hub.values(CHANNEL).put(_key("last", thread), mail.message_id[:255])
        if await hub.values(CHANNEL).get(_key("subject", thread)) is None:
            await hub.values(CHANNEL).put(_key("subject", thread), mail.subject[:255])
        await hub.values(CHANNEL).put(_key("by-subject", mail.sender, mail.thread_subject), thread[:255])

    async def _carried_loop_thread(self, hub: EmailHub, mail: ParsedMail) -> str | None:
        """The thread the loop guard counts replies in (`_counted_by_loop_guard`) for the
        conversation a mail's references name, whoever's it is; None when they name none. A
        conversation begun by such a reply from another address — as an auto-responder writing
        from a new address each time does — carries it over."""
        named = await hub.address_of_message(CHANNEL, [*reversed(mail.references), *mail.in_reply_to])
        if named is None or not named.thread_id:
            return None
        return await hub.values(CHANNEL).get(_key("loop", named.thread_id)) or named.thread_id[:255]

    async def _read(self, raw: bytes) -> ParsedMail:
        """The mail parsed in a worker thread (BeautifulSoup and the reply parser are CPU work,
        0.35 s for 60 KB of HTML), its text cut to `max_text_length`."""
        mail = await asyncio.to_thread(parse_mail, raw)
        limit = self._settings.max_text_length
        return replace(mail, text=_cut(mail.text, limit), subject=mail.subject[:limit])

    async def _take_in_from_mailbox(self, raw: bytes) -> None:
        """`take_in` for the IMAP poller: a mail that cannot be read stays in the mailbox
        unanswered rather than being offered again and again."""
        try:
            await self.take_in(raw)
        except TooManyParts as refused:
            log.warning("email: not answering a mail in %s: %s; it stays there", self._settings.imap_folder, refused)

    def _ignored_because(self, mail: ParsedMail, envelope_sender: str | None) -> str | None:
        if mail.automatic:
            return mail.automatic
        if envelope_sender in ("", "<>"):
            return "an empty envelope sender (a bounce)"
        if mail.sender in self._own:
            return "sent from our own address"
        return None

    async def _thread_for(self, hub: EmailHub, mail: ParsedMail) -> Address:
        """The conversation a mail continues: the one its references name, if this sender is
        that conversation's; else this sender's thread with this subject from the last 14 days;
        else a new one, rooted at this mail."""
        named = await hub.address_of_message(CHANNEL, [*reversed(mail.references), *mail.in_reply_to])
        if named is not None and named.chat_id == mail.sender:
            return named
        if named is None and mail.thread_subject:
            since = datetime.now(UTC) - timedelta(days=SUBJECT_THREAD_DAYS)
            root = await hub.values(CHANNEL).get(_key("by-subject", mail.sender, mail.thread_subject), newer_than=since)
            if root:
                return Address(CHANNEL, mail.sender, root)
        return Address(CHANNEL, mail.sender, mail.message_id)


def _counted_key(message: StoredMessage) -> str:
    """The cursor marking a bot reply the loop guard counted on an attempt that failed."""
    return _key("counted", str(message.id))


def _cut(text: str, limit: int) -> str:
    """`text`, or its first `limit` characters and a line saying it was cut there."""
    return text if len(text) <= limit else f"{text[:limit]}\n\n[… cut at {limit:,} characters]"


class _MailboxCursor:
    """The IMAP poller's UIDVALIDITY and last UID, kept in the hub's database."""

    def __init__(self, values: ChannelValues, folder: str) -> None:
        self._values = values
        self._name = _key("imap", folder)

    async def load(self) -> tuple[int, int] | None:
        saved = await self._values.get(self._name)
        if saved is None:
            return None
        uidvalidity, _, uid = saved.partition(":")
        return int(uidvalidity), int(uid)

    async def save(self, uidvalidity: int, uid: int) -> None:
        await self._values.put(self._name, f"{uidvalidity}:{uid}")


class _Handler:
    """aiosmtpd's hooks: recipients we answer for, and a mail committed before the 250."""

    def __init__(self, channel: EmailChannel) -> None:
        self._channel = channel

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, rcpt_options: list[str]
    ) -> str:
        if not self._channel.accepts(address):
            return "550 5.1.1 No such mailbox here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or b""
        try:
            await self._channel.take_in(bytes(raw), envelope_sender=envelope.mail_from)
        except StorageUnavailable:
            return "451 4.3.0 Cannot store the message right now; try again later"
        except TooManyParts as refused:
            log.warning("email: refused a mail from %s: %s", session.peer, refused)
            return f"552 5.3.4 Message refused: {refused}"
        except Exception:
            log.exception("email: a mail could not be taken in; the sender is asked to try again")
            return "451 4.3.0 Temporary failure; try again later"
        return "250 2.0.0 OK: received"


def _by_reply_code(code: int) -> type[DeliveryError]:
    """An SMTP reply's outcome: 5xx refuses the message for good, 4xx is worth trying again
    (RFC 5321 §4.2.1)."""
    return DeliveryRefused if code >= 500 else DeliveryError
