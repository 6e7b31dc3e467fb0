"""One sandbox: the platform stand-ins running, the hub's settings pointed at them, and what a
person does on the sandbox page (write as a customer on a channel, answer as staff) turned into
what the platform would send the hub."""

from __future__ import annotations

import itertools
import json
import time
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import make_msgid
from typing import Any

import aiohttp
import aiosmtplib
from pydantic import SecretStr

from channels.email.settings import EmailSettings
from channels.email.stand_in import RelayedMessage, SmtpRelay
from channels.slack import stand_in as slack_api
from channels.slack.settings import SlackSettings
from channels.slack.stand_in import FakeSlack
from channels.slack.stand_in_events import message_event, signed_headers
from channels.sms.settings import SmsSettings
from channels.telegram import stand_in as telegram_api
from channels.telegram.settings import TelegramSettings
from channels.telegram.stand_in import FakeBotApi
from channels.telegram.stand_in_updates import private_message
from channels.twilio import stand_in as twilio_api
from channels.twilio.stand_in import FakeTwilio, incoming_sms, signed_form
from core.settings import Section

CHANNELS = ["web", "api", "telegram", "sms", "email", "slack"]
SLACK_SECRET = "sandbox-slack-signing-secret"
STAFF_CHANNEL = "C0SANDBOXSTAFF"
STAFF_USER = "U0SANDBOXSTAFF"
STAFF_NAME = "Sam from Support"
SUPPORT_ADDRESS = "support@brightdesk.example"
CUSTOMER_ADDRESS = "ada@customer.example"
TELEGRAM_USER = 777


@dataclass
class Sandbox:
    """The stand-ins, started with `start` on the running loop; `hub_url` is set once the hub
    listens (its webhooks are posted there)."""

    telegram: FakeBotApi = field(default_factory=FakeBotApi)
    twilio: FakeTwilio = field(default_factory=FakeTwilio)
    slack: FakeSlack = field(default_factory=FakeSlack)
    relay: SmtpRelay = field(default_factory=SmtpRelay)
    hub_url: str = ""
    email_port: int = 0
    """The hub's own SMTP listener, where the sandbox's customer mails arrive."""
    _log: dict[str, list[dict[str, Any]]] = field(
        default_factory=lambda: {"telegram": [], "sms": [], "email": [], "staff": []}
    )
    _seen: dict[str, int] = field(default_factory=dict)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    _thread: list[str] = field(default_factory=list)
    """Message-IDs of the email thread so far (the customer's and the hub's)."""

    async def start(self) -> None:
        await self.telegram.start()
        await self.twilio.start()
        self.slack.users[STAFF_USER] = {"real_name": STAFF_NAME}  # what a canned reply's {agent} says
        await self.slack.start()
        await self.relay.start()

    async def stop(self) -> None:
        await self.telegram.stop()
        await self.twilio.stop()
        await self.slack.stop()
        await self.relay.stop()

    def sections(self, *, hub_url: str, email_port: int) -> dict[str, Section]:
        """The channel sections that point every channel at its stand-in (with `CHANNELS` on);
        `hub_url` is where the hub listens, `email_port` its SMTP listener's port."""
        self.hub_url, self.email_port = hub_url, email_port
        return {
            "telegram": TelegramSettings(
                bot_token=SecretStr(telegram_api.BOT_TOKEN), api_url=self.telegram.api_url, poll_timeout_s=5
            ),
            "sms": SmsSettings(
                account_sid=twilio_api.ACCOUNT_SID,
                auth_token=SecretStr(twilio_api.AUTH_TOKEN),
                from_number=twilio_api.HUB_NUMBER,
                api_url=self.twilio.api_url,
                public_url=hub_url,
                status_callbacks=False,
            ),
            "email": EmailSettings(
                address=SUPPORT_ADDRESS,
                smtp_host=self.relay.host,
                smtp_port=self.relay.port,
                smtp_security="none",
                listen_host="127.0.0.1",
                listen_port=email_port,
            ),
            "slack": SlackSettings(
                bot_token=SecretStr(slack_api.BOT_TOKEN),
                signing_secret=SecretStr(SLACK_SECRET),
                api_url=self.slack.base_url,
                staff_channel=STAFF_CHANNEL,
            ),
        }

    # What a person does on the page -------------------------------------------------------

    async def telegram_says(self, text: str) -> None:
        self._note("telegram", text)
        self.telegram.push_update(private_message(text, user_id=TELEGRAM_USER, message_id=next(self._ids)))

    async def sms_says(self, text: str) -> None:
        self._note("sms", text)
        url = f"{self.hub_url}/sms/twilio"
        form = incoming_sms(text)
        async with (
            aiohttp.ClientSession() as session,
            session.post(url, data=form, headers=signed_form(url, form)) as response,
        ):
            response.raise_for_status()

    async def email_says(self, subject: str, text: str) -> None:
        self._note("email", text, subject=subject)
        mail = EmailMessage()
        mail["From"] = f"Ada Customer <{CUSTOMER_ADDRESS}>"
        mail["To"] = SUPPORT_ADDRESS
        mail["Subject"] = subject if not self._thread else f"Re: {subject.removeprefix('Re: ')}"
        mail["Message-ID"] = make_msgid(domain="customer.example")
        for message_id in self._replies():
            if message_id not in self._thread:
                self._thread.append(message_id)
        if self._thread:
            mail["In-Reply-To"] = self._thread[-1]
            mail["References"] = " ".join(self._thread)
        mail.set_content(text)
        await aiosmtplib.send(mail, hostname="127.0.0.1", port=self.email_port, start_tls=False)
        self._thread.append(mail["Message-ID"])

    async def staff_says(self, thread_ts: str, text: str) -> None:
        """A person answers in the thread of the case card posted at `thread_ts`."""
        self._note("staff", text, thread_ts=thread_ts)
        ts = f"{time.time():.6f}"
        event = message_event(
            channel=STAFF_CHANNEL, user=STAFF_USER, text=text, ts=ts, thread_ts=thread_ts, channel_type="channel"
        )
        body = json.dumps(event)
        async with (
            aiohttp.ClientSession() as session,
            session.post(
                f"{self.hub_url}/slack/events", data=body, headers=signed_headers(SLACK_SECRET, body)
            ) as response,
        ):
            response.raise_for_status()

    # What the page shows --------------------------------------------------------------------

    def transcript(self) -> dict[str, list[dict[str, Any]]]:
        """Each pane's messages in the order they happened: what the person wrote, and what the
        hub sent through the platform as the platform received it (Telegram's HTML, each SMS
        with its segments, each mail's subject, threading and text part, Slack's case cards,
        their updates and thread replies). Records the platforms took since the last call are
        added now, after everything already shown."""
        self._catch_up("telegram", [call for call in self.telegram.calls_to("sendMessage") if call.ok], _telegram)
        self._catch_up("sms", self.twilio.sent(), _sms)
        self._catch_up("email", list(self.relay.messages), _mail)
        staff = [
            call
            for call in self.slack.requests
            if call.response.get("ok")
            and call.method in ("chat.postMessage", "chat.update")
            and call.body.get("channel") == STAFF_CHANNEL
        ]
        self._catch_up("staff", staff, _slack)
        return {pane: list(messages) for pane, messages in self._log.items()}

    def _catch_up(self, pane: str, records: list[Any], shown: Any) -> None:
        for record in records[self._seen.get(pane, 0) :]:
            self._log[pane].append({"who": "hub", **shown(record)})
        self._seen[pane] = len(records)

    def _note(self, pane: str, text: str, **extra: Any) -> None:
        self.transcript()  # what the platform took before this goes first
        self._log[pane].append({"who": "person", "text": text, **extra})

    def _replies(self) -> list[str]:
        return [str(relayed.message["Message-ID"]) for relayed in self.relay.messages]


def _telegram(call: telegram_api.RecordedCall) -> dict[str, Any]:
    return {"html": str(call.params.get("text", ""))}


def _sms(call: twilio_api.RecordedCall) -> dict[str, Any]:
    body = str(call.params.get("Body", ""))
    return {"text": body, "segments": twilio_api.segment_count(body)}


def _mail(relayed: RelayedMessage) -> dict[str, Any]:
    part = relayed.message.get_body(preferencelist=("plain",))
    return {
        "subject": str(relayed.message["Subject"]),
        "in_reply_to": str(relayed.message["In-Reply-To"] or ""),
        "text": part.get_content() if part is not None else "",
    }


def _slack(call: slack_api.RecordedCall) -> dict[str, Any]:
    return {
        "method": call.method,
        "ts": call.response.get("ts") or call.body.get("ts"),
        "thread_ts": call.body.get("thread_ts"),
        "text": _slack_text(call.body),
    }


def _slack_text(body: dict[str, Any]) -> str:
    """A Slack message as plain lines: its blocks' text (a case card is blocks), else `text`."""
    blocks = body.get("blocks")
    if isinstance(blocks, str):
        blocks = json.loads(blocks)
    lines: list[str] = []
    for block in blocks or []:
        if isinstance(block.get("text"), dict):
            lines.append(str(block["text"].get("text", "")))
        for item in block.get("fields") or block.get("elements") or []:
            if isinstance(item, dict) and isinstance(item.get("text"), (str, dict)):
                text = item["text"] if isinstance(item["text"], str) else item["text"].get("text", "")
                lines.append(str(text))
    return "\n".join(line for line in lines if line) or str(body.get("text", ""))
