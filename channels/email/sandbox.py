"""Email in the sandbox: the person writes to the support address (a mail to the hub's own SMTP
listener, threaded under the hub's replies) and sees each reply as the SMTP relay stand-in took it."""

from __future__ import annotations

import socket
from collections.abc import Mapping
from email.message import EmailMessage
from email.utils import make_msgid
from typing import Any

import aiosmtplib

from channels.email.settings import EmailSettings
from channels.email.stand_in import SmtpRelay
from core.sandbox.pane import PaneField, PaneInputError
from core.settings import Settings

SAMPLE_ADDRESS = "support@brightdesk.example"
"""The support address when the operator gave none (neither `email.address` nor `handoff.contact.email`)."""
CUSTOMER_ADDRESS = "ada@customer.example"
MAX_SUBJECT = 200


class EmailPane:
    name = "email"
    title = "Email"
    role = f"you write to {SAMPLE_ADDRESS}"
    for_staff = False
    fields = (PaneField("subject", "Subject", default="A question"),)

    def __init__(self) -> None:
        self.relay = SmtpRelay()
        self.listen_port = 0
        """The hub's own SMTP listener, where the person's mails arrive (a free port)."""
        self._thread: list[str] = []
        self._shown: list[dict[str, Any]] = []
        """Message-IDs of the thread so far, the person's and the hub's."""
        self.address = SAMPLE_ADDRESS
        """The support address the person writes to: the operator's (`section`)."""

    async def start(self) -> None:
        await self.relay.start()

    async def stop(self) -> None:
        await self.relay.stop()

    def section(self, *, hub_url: str, operator: Settings) -> EmailSettings:
        with socket.create_server(("127.0.0.1", 0)) as probe:
            self.listen_port = int(probe.getsockname()[1])
        self.address = operator.section(EmailSettings).address or operator.handoff.contact.email or SAMPLE_ADDRESS
        self.role = f"you write to {self.address}"
        return EmailSettings(
            address=self.address,
            smtp_host=self.relay.host,
            smtp_port=self.relay.port,
            smtp_security="none",
            listen_host="127.0.0.1",
            listen_port=self.listen_port,
        )

    async def says(self, text: str, fields: Mapping[str, str]) -> None:
        subject = fields.get("subject") or "A question"
        if len(subject) > MAX_SUBJECT or "\n" in subject or "\r" in subject:
            raise PaneInputError(f"subject must be one line of at most {MAX_SUBJECT} characters")
        mail = EmailMessage()
        mail["From"] = f"Ada Customer <{CUSTOMER_ADDRESS}>"
        mail["To"] = self.address
        mail["Subject"] = subject if not self._thread else f"Re: {subject.removeprefix('Re: ')}"
        mail["Message-ID"] = make_msgid(domain="customer.example")
        for relayed in self.relay.messages:
            if (message_id := str(relayed.message["Message-ID"])) not in self._thread:
                self._thread.append(message_id)
        if self._thread:
            mail["In-Reply-To"] = self._thread[-1]
            mail["References"] = " ".join(self._thread)
        mail.set_content(text)
        await aiosmtplib.send(mail, hostname="127.0.0.1", port=self.listen_port, start_tls=False)
        self._thread.append(mail["Message-ID"])

    def sent(self) -> list[dict[str, Any]]:
        """Each mail read once, when it first shows (the page asks every 0.7 s)."""
        shown = self._shown
        for relayed in self.relay.messages[len(shown) :]:
            part = relayed.message.get_body(preferencelist=("plain",))
            subject, in_reply_to = str(relayed.message["Subject"]), str(relayed.message["In-Reply-To"] or "")
            sender = str(relayed.message["From"])
            shown.append(
                {
                    "from": sender,
                    "subject": subject,
                    "in_reply_to": in_reply_to,
                    "text": part.get_content() if part is not None else "",
                    "meta": f"From: {sender}\nSubject: {subject}"
                    + (f"\nIn-Reply-To: {in_reply_to}" if in_reply_to else ""),
                }
            )
        return list(shown)
