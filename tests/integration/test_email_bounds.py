"""What one sender can make the email channel hold: the text kept of a mail, the SMTP listener's
connections, how long a DATA phase may trickle, and how many MIME parts are parsed. Real SMTP
to the hub's own listener (aiosmtplib, or a raw socket where a client must misbehave)."""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import aiosmtplib
import pytest
import trustme
from sqlalchemy import select

from channels.email.settings import EmailSettings
from channels.email.stand_in import SmtpRelay
from core.cli.server import RUNTIME, create_app
from core.settings import Settings
from core.store.db import Message
from tests.app_client import AppClient
from tests.fakes.dovecot import Dovecot
from tests.integration.app_db import count
from tests.integration.mailbox_settings import mailbox_settings
from tests.integration.test_email import (  # noqa: F401 — fixtures
    CUSTOMER,
    SUPPORT,
    deliver,
    mail,
    mailbox_watched,
    port,
    settings_for,
)
from tests.settle import settled, until


def _email(relay: SmtpRelay, port: int, **bounds: Any) -> EmailSettings:
    return EmailSettings(
        address=SUPPORT, smtp_host=relay.host, smtp_port=relay.port, smtp_security="none", listen_port=port, **bounds
    )


async def _customer_texts(client: AppClient) -> list[str]:
    async with client.app[RUNTIME].sessionmaker() as session:
        found = await session.execute(select(Message.text).where(Message.author == "customer").order_by(Message.id))
        return list(found.scalars())


async def test_a_long_mail_is_kept_up_to_the_channels_length_and_says_where_it_was_cut(
    aiohttp_client: Callable[..., Any], settings_for: Callable[..., Settings], relay: SmtpRelay, port: int
) -> None:
    client: AppClient = await aiohttp_client(create_app(settings_for(email=_email(relay, port, max_text_length=2000))))
    text = "How do I reset my password? " + "The log says: nothing useful here. " * 200
    await deliver(port, mail(text))
    await relay.wait_for(1, timeout=30)
    (kept,) = await _customer_texts(client)
    assert kept == text[:2000] + "\n\n[… cut at 2,000 characters]"


# -- the SMTP listener ------------------------------------------------------------------------------


@contextlib.asynccontextmanager
async def smtp_connection(
    port: int, source: str = "127.0.0.1"
) -> AsyncIterator[tuple[asyncio.StreamReader, asyncio.StreamWriter]]:
    """A raw connection to the listener from `source` (any 127.0.0.0/8 address works on Linux)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port, local_addr=(source, 0))
    try:
        yield reader, writer
    finally:
        writer.close()
        with contextlib.suppress(ConnectionError):
            await writer.wait_closed()


async def _greeting(reader: asyncio.StreamReader) -> bytes:
    return await asyncio.wait_for(reader.readline(), timeout=30)


async def test_the_listener_holds_at_most_its_connections_in_all_and_per_client(
    aiohttp_client: Callable[..., Any], settings_for: Callable[..., Settings], relay: SmtpRelay, port: int
) -> None:
    email = _email(relay, port, max_connections=3, max_connections_per_client=2)
    await aiohttp_client(create_app(settings_for(email=email)))
    async with contextlib.AsyncExitStack() as held:
        first = await held.enter_async_context(smtp_connection(port))
        second = await held.enter_async_context(smtp_connection(port))
        assert (await _greeting(first[0])).startswith(b"220 ") and (await _greeting(second[0])).startswith(b"220 ")
        async with smtp_connection(port) as (third, _):
            assert (await _greeting(third)).startswith(b"421 4.7.0")
            assert await third.read() == b""  # and closed
        other = await held.enter_async_context(smtp_connection(port, source="127.0.0.2"))
        assert (await _greeting(other[0])).startswith(b"220 ")
        async with smtp_connection(port, source="127.0.0.3") as (fourth, _):
            assert (await _greeting(fourth)).startswith(b"421 4.7.0")  # three in all
        first[1].close()

        async def greeted_again() -> bool:
            async with smtp_connection(port) as (again, _):
                return (await _greeting(again)).startswith(b"220 ")

        await until(greeted_again, what="a connection once one of the client's closed")


async def test_a_connection_upgraded_by_starttls_is_counted_once(
    aiohttp_client: Callable[..., Any],
    settings_for: Callable[..., Settings],
    relay: SmtpRelay,
    port: int,
    tmp_path: Path,
) -> None:
    ca = trustme.CA()
    certificate = ca.issue_cert("127.0.0.1")
    certificate.cert_chain_pems[0].write_to_path(cert_file := tmp_path / "cert.pem")
    certificate.private_key_pem.write_to_path(key_file := tmp_path / "key.pem")
    email = _email(relay, port, max_connections=1, tls_cert_file=str(cert_file), tls_key_file=str(key_file))
    await aiohttp_client(create_app(settings_for(email=email)))
    client_tls = ssl.create_default_context()
    ca.configure_trust(client_tls)
    await aiosmtplib.send(
        mail("How do I reset my password?"),
        sender=CUSTOMER,
        recipients=[SUPPORT],
        hostname="127.0.0.1",
        port=port,
        start_tls=True,
        tls_context=client_tls,
        timeout=10,
    )
    (answer,) = await relay.wait_for(1, timeout=30)
    assert answer.rcpt_tos == (CUSTOMER,)

    async def greeted() -> bool:  # the one connection allowed: free again once the TLS one closed
        async with smtp_connection(port) as (reader, _):
            return (await _greeting(reader)).startswith(b"220 ")

    await until(greeted, what="the TLS connection given back")


async def test_a_data_phase_that_trickles_past_its_deadline_is_closed_and_nothing_is_stored(
    aiohttp_client: Callable[..., Any], settings_for: Callable[..., Settings], relay: SmtpRelay, port: int
) -> None:
    client: AppClient = await aiohttp_client(create_app(settings_for(email=_email(relay, port, data_timeout_s=1))))
    async with smtp_connection(port) as (reader, writer):
        assert (await _greeting(reader)).startswith(b"220 ")
        for command in (
            b"HELO client.example",
            f"MAIL FROM:<{CUSTOMER}>".encode(),
            f"RCPT TO:<{SUPPORT}>".encode(),
            b"DATA",
        ):
            writer.write(command + b"\r\n")
            assert (await _greeting(reader))[:1] in b"23"
        writer.write(b"Subject: slow\r\n\r\n")

        async def trickle() -> None:
            while True:
                writer.write(b"x")
                await asyncio.sleep(0.05)

        trickling = asyncio.create_task(trickle())
        try:
            answer = await asyncio.wait_for(reader.read(), timeout=60)  # until the listener closes it
        finally:
            trickling.cancel()
    assert answer.startswith(b"421 4.4.2")
    await deliver(port, mail("How do I reset my password?"))  # the listener still takes mail
    await relay.wait_for(1, timeout=30)
    assert await count(client, Message, Message.author == "customer") == 1


def _many_parts(parts: int) -> bytes:
    boundary = "b0undary"
    body = "".join(f"--{boundary}\r\nContent-Type: text/plain\r\n\r\nx\r\n" for _ in range(parts))
    return (
        f"From: Ana <{CUSTOMER}>\r\nTo: {SUPPORT}\r\nSubject: parts\r\nMessage-ID: <parts@customer.example>\r\n"
        f"MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary={boundary}\r\n\r\n"
        f"{body}--{boundary}--\r\n"
    ).encode()


async def test_a_mail_of_60000_parts_is_refused_unread(
    aiohttp_client: Callable[..., Any], settings_for: Callable[..., Settings], relay: SmtpRelay, port: int
) -> None:
    client: AppClient = await aiohttp_client(create_app(settings_for()))
    with pytest.raises(aiosmtplib.SMTPDataError) as refused:
        await deliver(port, _many_parts(60_000))
    assert refused.value.code == 552 and "MIME parts" in refused.value.message
    await deliver(port, mail("How do I reset my password?"))
    await relay.wait_for(1, timeout=30)
    await settled(client.app[RUNTIME].sessionmaker)
    assert await _customer_texts(client) == ["How do I reset my password?"]


@pytest.mark.slow("a mail of 60,000 parts through Dovecot")
async def test_a_mail_of_60000_parts_in_the_mailbox_is_left_there_and_the_next_one_answered(
    aiohttp_client: Callable[..., Any], make_settings: Callable[..., Settings], relay: SmtpRelay, dovecot: Dovecot
) -> None:
    email = mailbox_settings(SUPPORT, relay, dovecot, poll_interval_s=60)
    client: AppClient = await aiohttp_client(create_app(make_settings(email=email)))
    await mailbox_watched(client)
    await dovecot.append(_many_parts(60_000))
    await dovecot.append(bytes(mail("How do I reset my password?")))
    (answer,) = await relay.wait_for(1, timeout=90)
    assert answer.rcpt_tos == (CUSTOMER,)
    await settled(client.app[RUNTIME].sessionmaker)
    assert await _customer_texts(client) == ["How do I reset my password?"]  # the next UID: the first was done with
