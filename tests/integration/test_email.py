"""Email end to end with real SMTP both ways: tests deliver mail to the hub's own SMTP listener
with aiosmtplib, and the hub's replies land in a local relay (aiosmtpd) as a real mail server
would receive them."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path
from typing import Any

import aiosmtplib
import pytest
from pydantic import SecretStr

from channels.email.settings import EmailSettings
from channels.email.stand_in import SmtpRelay
from channels.slack.stand_in import FakeSlack
from core.cli.server import RUNTIME, create_app
from core.settings import OutboxSettings, Settings
from core.store.db import ChannelValue, Conversation, DeliveryStatus, Message, OutboxItem
from tests.app_client import AppClient
from tests.fakes.dovecot import Dovecot
from tests.integration.app_db import count
from tests.integration.mailbox_settings import mailbox_settings
from tests.integration.staff_desk_steps import desk_settings, staff_replies
from tests.ports import free_port
from tests.settle import settled, until

SUPPORT = "support@example.com"
CUSTOMER = "ana@customer.example"
FIXTURES = Path("tests/fixtures/email")
REDIS_URL = "redis://127.0.0.1:6379/13"


@pytest.fixture
def port() -> int:
    """Where the hub's SMTP listener takes mail in this test."""
    return free_port()


@pytest.fixture
def settings_for(make_settings: Callable[..., Settings], relay: SmtpRelay, port: int) -> Callable[..., Settings]:
    def make(**overrides: Any) -> Settings:
        email = overrides.pop("email", None) or EmailSettings(
            address=SUPPORT,
            display_name="Brightdesk Support",
            smtp_host=relay.host,
            smtp_port=relay.port,
            smtp_security="none",
            listen_port=port,
        )
        return make_settings(email=email, outbox=OutboxSettings(poll_interval_s=0.2, backoff_base_s=0.2), **overrides)

    return make


@pytest.fixture
async def client(aiohttp_client: Callable[..., Any], settings_for: Callable[..., Settings]) -> AppClient:
    return await aiohttp_client(create_app(settings_for()))  # type: ignore[no-any-return]


def mail(
    text: str,
    *,
    subject: str = "Password help",
    sender: str = CUSTOMER,
    in_reply_to: str | None = None,
    message_id: str | None = None,
) -> EmailMessage:
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = f"Ana <{sender}>", SUPPORT, subject
    message["Message-ID"] = message_id or make_msgid(domain="customer.example")
    if in_reply_to:
        message["In-Reply-To"] = message["References"] = f"<{in_reply_to}>"
    message.set_content(text)
    return message


async def deliver(port: int, message: EmailMessage | bytes, *, to: str = SUPPORT) -> None:
    await aiosmtplib.send(
        message, sender=CUSTOMER, recipients=[to], hostname="127.0.0.1", port=port, start_tls=False, timeout=10
    )


def body_text(message: EmailMessage) -> str:
    part = message.get_body(("plain",))
    assert part is not None
    return str(part.get_content())


async def test_a_mail_is_answered_in_its_thread_and_replies_continue_it(
    client: AppClient, relay: SmtpRelay, port: int
) -> None:
    first = mail("How do I reset my password?")
    await deliver(port, first)
    (answer,) = await relay.wait_for(1, timeout=30)
    reply = answer.message
    assert answer.rcpt_tos == (CUSTOMER,) and reply["Subject"] == "Re: Password help"
    assert reply["In-Reply-To"] == first["Message-ID"] and reply["Auto-Submitted"] == "auto-replied"
    assert "password" in body_text(reply).lower() and "Sources" in body_text(reply)
    assert reply.get_body(("html",)) is not None and str(reply["Message-ID"]).endswith("@example.com>")

    follow_up = mail(
        "And how do I invite a teammate?", subject="Re: Password help", in_reply_to=str(reply["Message-ID"]).strip("<>")
    )
    await deliver(port, follow_up)
    second = (await relay.wait_for(2, timeout=30))[1].message
    assert second["Subject"] == "Re: Password help" and second["In-Reply-To"] == follow_up["Message-ID"]
    await deliver(port, mail("Also, how do I export my data?", subject="RE: Password help"))  # no references
    await relay.wait_for(3, timeout=30)
    assert await count(client, Conversation) == 1


async def test_the_same_mail_twice_is_answered_once(client: AppClient, relay: SmtpRelay, port: int) -> None:
    message = mail("How do I export my data?")
    await deliver(port, message)
    await deliver(port, message)
    await relay.wait_for(1, timeout=30)
    await settled(client.app[RUNTIME].sessionmaker)
    assert len(relay.messages) == 1 and await count(client, Message) == 2


async def test_a_recipient_we_do_not_answer_for_is_refused(client: AppClient, port: int) -> None:
    with pytest.raises(aiosmtplib.SMTPRecipientsRefused) as refused:
        await deliver(port, mail("hello"), to="someone-else@example.com")
    assert refused.value.recipients[0].code == 550
    assert await count(client, Message) == 0


async def test_someone_else_replying_into_a_thread_starts_their_own(
    client: AppClient, relay: SmtpRelay, port: int
) -> None:
    await deliver(port, mail("How do I reset my password?"))
    (answer,) = await relay.wait_for(1, timeout=30)
    forwarded = mail(
        "How do I reset my password?",
        sender="mallory@else.example",
        subject="Re: Password help",
        in_reply_to=str(answer.message["Message-ID"]).strip("<>"),
    )
    await deliver(port, forwarded)
    second = (await relay.wait_for(2, timeout=30))[1]
    assert second.rcpt_tos == ("mallory@else.example",)
    assert await count(client, Conversation) == 2


async def test_automatic_mail_and_our_own_are_never_answered(client: AppClient, relay: SmtpRelay, port: int) -> None:
    for name in ("out_of_office.eml", "bounce.eml", "list_mail.eml"):
        await deliver(port, (FIXTURES / name).read_bytes())
    await deliver(port, mail("How do I reset my password?", sender=SUPPORT))
    await deliver(port, mail("How do I export my data?"))  # the probe after them
    (answer,) = await relay.wait_for(1, timeout=30)
    await settled(client.app[RUNTIME].sessionmaker)
    assert answer.rcpt_tos == (CUSTOMER,) and len(relay.messages) == 1 and await count(client, Message) == 2


async def test_one_sender_gets_at_most_the_hourly_number_of_replies(
    aiohttp_client: Callable[..., Any], settings_for: Callable[..., Settings], relay: SmtpRelay, port: int
) -> None:
    email = EmailSettings(
        address=SUPPORT,
        smtp_host=relay.host,
        smtp_port=relay.port,
        smtp_security="none",
        listen_port=port,
        max_replies_per_sender_per_hour=2,
    )
    client: AppClient = await aiohttp_client(create_app(settings_for(email=email)))
    for question in ("How do I reset my password?", "How do I export my data?", "How do I invite a teammate?"):
        await deliver(port, mail(question, subject=question))
    await deliver(port, mail("How do I reset my password?", sender="other@customer.example"))  # the probe
    await relay.wait_for(3, timeout=30)
    await settled(client.app[RUNTIME].sessionmaker)
    assert [m.rcpt_tos for m in relay.messages].count((CUSTOMER,)) == 2 and len(relay.messages) == 3


async def test_processes_sharing_redis_share_the_hourly_reply_limit(
    aiohttp_client: Callable[..., Any], settings_for: Callable[..., Settings], relay: SmtpRelay
) -> None:
    ports = [free_port(), free_port()]
    for port in ports:
        email = EmailSettings(
            address=SUPPORT,
            smtp_host=relay.host,
            smtp_port=relay.port,
            smtp_security="none",
            listen_port=port,
            max_replies_per_sender_per_hour=2,
        )
        client: AppClient = await aiohttp_client(create_app(settings_for(email=email, redis_url=REDIS_URL)))
    sender = f"{uuid.uuid4().hex}@customer.example"  # Redis keeps its counts between test runs
    questions = ("How do I reset my password?", "How do I export my data?", "How do I invite a teammate?")
    for index, question in enumerate(questions):
        await deliver(ports[index % 2], mail(question, subject=question, sender=sender))
    await deliver(ports[1], mail("How do I reset my password?", sender=f"{uuid.uuid4().hex}@customer.example"))
    await relay.wait_for(3, timeout=30)
    await settled(client.app[RUNTIME].sessionmaker)  # both processes store in one database
    assert [m.rcpt_tos for m in relay.messages].count((sender,)) == 2 and len(relay.messages) == 3


async def test_an_attachment_is_read(client: AppClient, relay: SmtpRelay, port: int) -> None:
    message = mail("see the log")
    message.add_attachment(
        b"The app says BD-4012 when I add a teammate", maintype="text", subtype="plain", filename="error-log.txt"
    )
    await deliver(port, message)
    (answer,) = await relay.wait_for(1, timeout=30)
    assert "I've read error-log.txt." in body_text(answer.message)


async def test_a_refusing_relay_dead_letters_and_a_relay_that_is_down_is_retried(
    client: AppClient, relay: SmtpRelay, port: int
) -> None:
    relay.refuse_next(550, "5.7.1 Relaying denied")
    await deliver(port, mail("How do I reset my password?", sender="first@customer.example"))
    await settled(client.app[RUNTIME].sessionmaker)
    assert (
        await count(
            client,
            OutboxItem,
            OutboxItem.status == DeliveryStatus.DEAD,
            OutboxItem.last_error.contains("Relaying denied"),
        )
        == 1
    )

    await relay.stop()
    await deliver(port, mail("How do I export my data?"))
    await until(
        lambda: count(client, OutboxItem, OutboxItem.attempts > 0, OutboxItem.status == DeliveryStatus.PENDING),
        what="a failed attempt, still pending",
    )
    await relay.start()
    (delivered,) = await relay.wait_for(1, timeout=30)
    assert delivered.rcpt_tos == (CUSTOMER,)
    await settled(client.app[RUNTIME].sessionmaker)


async def test_replies_go_through_a_relay_with_starttls_and_auth(
    aiohttp_client: Callable[..., Any], settings_for: Callable[..., Settings], tmp_path: Path, port: int
) -> None:
    async with SmtpRelay(require_starttls=True, auth=("hub", "relay-secret")) as secure:
        ca = tmp_path / "relay-ca.pem"
        ca.write_bytes(secure.ca_pem)
        email = EmailSettings(
            address=SUPPORT,
            smtp_host=secure.host,
            smtp_port=secure.port,
            smtp_security="starttls",
            smtp_username="hub",
            smtp_password=SecretStr("relay-secret"),
            smtp_ca_file=str(ca),
            listen_port=port,
        )
        await aiohttp_client(create_app(settings_for(email=email)))
        await deliver(port, mail("How do I reset my password?"))
        (answer,) = await secure.wait_for(1, timeout=30)
        assert answer.tls and answer.login == "hub"


async def test_an_escalation_by_email_gets_the_staff_reply_in_the_thread(
    aiohttp_client: Callable[..., Any],
    settings_for: Callable[..., Settings],
    relay: SmtpRelay,
    slack: FakeSlack,
    port: int,
) -> None:
    client: AppClient = await aiohttp_client(create_app(settings_for(slack=desk_settings(slack))))
    first = mail("I want to talk to a human please", subject="Invoice wrong")
    await deliver(port, first)
    (offer,) = await relay.wait_for(1, timeout=30)
    assert "person" in body_text(offer.message)
    await staff_replies(client, slack, "Hi Ana, Sam here: I've corrected the invoice.", ts="1700000300.000100")
    staff = (await relay.wait_for(2, timeout=30))[1].message
    assert staff["Subject"] == "Re: Invoice wrong" and staff["In-Reply-To"] == first["Message-ID"]
    assert "Sam here" in body_text(staff) and staff["Auto-Submitted"] is None  # a person wrote it


async def mailbox_watched(client: AppClient) -> None:
    """Once the poller has read the folder (its cursor is saved) and had a moment to enter IDLE:
    a mail appended in the instant before IDLE starts waits for the poll interval (60 s here)."""
    await until(
        lambda: count(client, ChannelValue, ChannelValue.channel == "email", ChannelValue.key.startswith("imap:")),
        what="the IMAP cursor",
    )
    await asyncio.sleep(1)


async def _seen(dovecot: Dovecot, uid: int) -> bool:
    return "\\Seen" in await dovecot.flags(uid)


@pytest.mark.slow("two hubs one after the other on one Dovecot mailbox")
async def test_a_mail_in_the_imap_mailbox_is_answered_once_also_after_a_restart(
    aiohttp_client: Callable[..., Any], make_settings: Callable[..., Settings], relay: SmtpRelay, dovecot: Dovecot
) -> None:
    email = mailbox_settings(SUPPORT, relay, dovecot, poll_interval_s=60)
    settings = make_settings(email=email, outbox=OutboxSettings(poll_interval_s=0.2, backoff_base_s=0.2))
    first: AppClient = await aiohttp_client(create_app(settings))
    await mailbox_watched(first)
    uid = await dovecot.append(bytes(mail("How do I reset my password?")))  # IDLE wakes the hub up
    (answer,) = await relay.wait_for(1, timeout=90)  # past the 60 s safety net, should IDLE miss it
    assert answer.rcpt_tos == (CUSTOMER,)
    await settled(first.app[RUNTIME].sessionmaker)
    await until(lambda: _seen(dovecot, uid), timeout=10, what="\\Seen on the mail")  # marked once it was committed
    await first.close()

    second: AppClient = await aiohttp_client(create_app(settings))
    await mailbox_watched(second)
    await dovecot.append(bytes(mail("How do I export my data?")))
    await relay.wait_for(2, timeout=90)
    await settled(second.app[RUNTIME].sessionmaker)
    assert len(relay.messages) == 2 and await count(second, Message) == 4  # the first was not answered again
