"""The email channel as the IMAP tests set it up: replies through the local SMTP relay, mail
read from this test's Dovecot, neither over TLS."""

from __future__ import annotations

from pydantic import SecretStr

from channels.email.settings import EmailSettings
from channels.email.stand_in import SmtpRelay
from tests.fakes.dovecot import Dovecot


def mailbox_settings(address: str, relay: SmtpRelay, dovecot: Dovecot, *, poll_interval_s: float) -> EmailSettings:
    return EmailSettings(
        address=address,
        smtp_host=relay.host,
        smtp_port=relay.port,
        smtp_security="none",
        imap_host=dovecot.host,
        imap_port=dovecot.port,
        imap_security="none",
        imap_username=dovecot.username,
        imap_password=SecretStr(dovecot.password),
        imap_poll_interval_s=poll_interval_s,
    )
