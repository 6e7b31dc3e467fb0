"""The `[email]` section of the settings: this channel's own model, declared through its entry point."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, SecretStr, field_validator, model_validator

from core.settings import Section


class EmailSettings(Section):
    """Email as a customer channel; on when `address` is set. Mail comes in through the built-in
    SMTP listener (`listen_port`) and/or an IMAP mailbox (`imap_host`); replies go out through
    the relay at `smtp_host`."""

    address: str = Field("", description="the support address: replies come from it")
    display_name: str = Field("Support", description="the name replies are sent under")
    domain: str = Field("", description="for our Message-IDs; default: the address's domain")
    smtp_host: str = Field("", description="the relay replies are sent through")
    smtp_port: int = Field(587, ge=1, le=65535, description="the relay's port")
    smtp_security: Literal["starttls", "tls", "none"] = Field(
        "starttls", description="starttls, tls (implicit, port 465) or none"
    )
    smtp_username: str = Field("", description="the relay login; empty = no AUTH")
    smtp_password: SecretStr | None = Field(None, description="the relay password")
    smtp_ca_file: str = Field("", description="PEM file of a private CA that signed the relay's certificate")
    listen_host: str = Field("127.0.0.1", description="the interface the built-in SMTP listener binds")
    listen_port: int | None = Field(None, ge=1, le=65535, description="set = the built-in SMTP listener is on")
    accept_addresses: list[str] = Field(default_factory=list, description="aliases besides `address`")
    tls_cert_file: str = Field("", description="STARTTLS certificate (PEM) for the listener")
    tls_key_file: str = Field("", description="the listener certificate's private key (PEM)")
    max_message_bytes: int = Field(25 * 1024 * 1024, ge=1024, description="the largest mail the listener accepts")
    imap_host: str = Field("", description="the mailbox to read; set = the IMAP poller is on")
    imap_port: int = Field(993, ge=1, le=65535, description="the mailbox's port")
    imap_security: Literal["tls", "none"] = Field("tls", description="implicit TLS (port 993), or none")
    imap_username: str = Field("", description="the mailbox login")
    imap_password: SecretStr | None = Field(None, description="the mailbox password")
    imap_folder: str = Field("INBOX", description="the folder read")
    imap_poll_interval_s: float = Field(
        60.0, gt=0, description="how often the mailbox is read when IDLE brings no news"
    )
    trust_authentication_results: bool = Field(
        False,
        description="take the receiving server's DMARC verdict (Authentication-Results) as proof of the sender: only for a provider that writes its own",
    )
    max_replies_per_sender_per_hour: int = Field(10, ge=1, description="to one address, its +tag ignored")
    max_replies_per_domain_per_hour: int = Field(
        200, ge=1, description="to one sender domain; raise it when more of your customers share one (gmail.com)"
    )
    max_replies_per_thread_per_hour: int = Field(10, ge=1, description="into one thread, whoever writes in it")
    max_replies_per_hour: int = Field(500, ge=1, description="by email in all: the loop guard's last stop")
    max_text_length: int = Field(
        10_000, ge=1, le=100_000, description="characters of a mail's new text kept; the rest is cut"
    )
    max_connections: int = Field(100, ge=1, description="SMTP connections the listener holds at once; more get 421")
    max_connections_per_client: int = Field(10, ge=1, description="of those, from one IP address")
    data_timeout_s: float = Field(
        120.0, ge=1, le=3600, description="from DATA to the final dot; a slower mail gets 421 and is closed"
    )

    @field_validator("address", "accept_addresses")
    @classmethod
    def _addresses(cls, value: str | list[str]) -> str | list[str]:
        for address in [value] if isinstance(value, str) else value:
            if address and not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", address):
                raise ValueError(f"{address!r} is not an email address")
        return value.strip().lower() if isinstance(value, str) else [a.strip().lower() for a in value]

    @property
    def enabled(self) -> bool:
        return bool(self.address)

    @property
    def mail_domain(self) -> str:
        return self.domain or self.address.rpartition("@")[2]

    @model_validator(mode="after")
    def _complete(self) -> EmailSettings:
        if self.enabled and not self.smtp_host:
            raise ValueError("set email.smtp_host: replies go out through an SMTP relay")
        if self.enabled and self.listen_port is None and not self.imap_host:
            raise ValueError("set email.listen_port (the built-in SMTP listener) or email.imap_host (a mailbox)")
        if bool(self.tls_cert_file) != bool(self.tls_key_file):
            raise ValueError("set both email.tls_cert_file and email.tls_key_file, or neither")
        return self
