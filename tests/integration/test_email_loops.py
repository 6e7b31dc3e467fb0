"""The loop guard limits the bot's replies, never what is stored. Against an auto-responder that
does not say it is one (it answers each of our replies from another address, in our thread, with
no Auto-Submitted header) the loop ends after the hourly number of replies, and every one of its
mails is kept; a mail delivered twice, or a reply the relay made us send twice, counts once; a
customer writing to a person is never held back, nor is the person's reply. Real SMTP both ways:
the test plays the responder, writing back to each reply the relay receives, until the hub stops
answering; then counts the replies, the customer's mails in the database and the dead letters."""

from __future__ import annotations

from collections.abc import Callable
from email.message import EmailMessage
from email.utils import make_msgid
from typing import Any

import aiosmtplib
import pytest
from pydantic import SecretStr

from channels.email.settings import EmailSettings
from channels.email.stand_in import RelayedMessage, SmtpRelay
from channels.slack.stand_in import FakeSlack
from core.cli.server import RUNTIME, create_app
from core.messages import Author
from core.settings import Settings
from core.store.db import Conversation, DeliveryStatus, Message, OutboxItem
from tests.app_client import AppClient
from tests.fakes.dovecot import Dovecot
from tests.integration.app_db import count
from tests.integration.staff_desk_steps import desk_settings, staff_replies
from tests.integration.test_channel_storage_faults import DatabaseFault, fault  # noqa: F401 — a fixture
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

HOPS = 30
"""How long the responder keeps going when nothing stops it (the probe saw 29 replies in 30 s)."""
GENEROUS = 100


def _email(relay: SmtpRelay, port: int, **limits: Any) -> EmailSettings:
    counts = {
        "max_replies_per_sender_per_hour": GENEROUS,
        "max_replies_per_domain_per_hour": GENEROUS,
        "max_replies_per_thread_per_hour": GENEROUS,
        "max_replies_per_hour": GENEROUS,
        **limits,
    }
    return EmailSettings(
        address=SUPPORT, smtp_host=relay.host, smtp_port=relay.port, smtp_security="none", listen_port=port, **counts
    )


def _auto_reply(sender: str, to: RelayedMessage) -> EmailMessage:
    """An out-of-office answer to one of our replies, threaded as RFC 5322 says."""
    ours = to.message
    answer = EmailMessage()
    answer["From"], answer["To"] = sender, SUPPORT
    answer["Subject"] = f"Automatic reply: {ours['Subject']}"
    answer["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2])
    answer["In-Reply-To"] = ours["Message-ID"]
    answer["References"] = f"{ours['References'] or ''} {ours['Message-ID']}".strip()
    answer.set_content("Thank you for your message. I am out of the office and will answer on my return.")
    return answer


def _reply_to(ours: RelayedMessage, text: str) -> EmailMessage:
    """The customer answering one of our mails in its thread."""
    return mail(
        text,
        subject=f"Re: {ours.message['Subject']}".replace("Re: Re: ", "Re: "),
        in_reply_to=str(ours.message["Message-ID"]).strip("<>"),
    )


async def _replies_to_a_responder(
    client: AppClient, relay: SmtpRelay, port: int, address: Callable[[int], str]
) -> tuple[int, int]:
    """Our replies before the hub stopped answering a responder writing from `address(hop)`, and
    the mails it wrote."""
    await deliver(port, mail("How do I reset my password?", sender=address(0)))
    written = 1
    for hop in range(1, HOPS):
        await settled(client.app[RUNTIME].sessionmaker)  # the answer to its last mail was sent or given up
        if len(relay.messages) < hop:
            break
        await deliver(port, _auto_reply(address(hop), to=relay.messages[-1]))
        written += 1
    await settled(client.app[RUNTIME].sessionmaker)
    return len(relay.messages), written


async def _customer_mails(client: AppClient) -> int:
    return await count(client, Message, Message.author == Author.CUSTOMER)


async def _dead_letters(client: AppClient, reason: str = "") -> int:
    return await count(
        client, OutboxItem, OutboxItem.status == DeliveryStatus.DEAD, OutboxItem.last_error.contains(reason)
    )


@pytest.mark.parametrize(
    ("limit", "address", "reason"),
    [
        (
            "max_replies_per_sender_per_hour",
            lambda hop: f"desk+t{hop}@responder.example",
            "over 3 replies an hour to this address",
        ),
        (
            "max_replies_per_domain_per_hour",
            lambda hop: f"desk{hop}@responder.example",
            "over 3 replies an hour to this address's domain",
        ),
        (
            "max_replies_per_thread_per_hour",
            lambda hop: f"desk@t{hop}.responder.example",
            "over 3 replies an hour in this thread",
        ),
    ],
    ids=["a new sub-address each time", "a new address each time", "a new domain each time"],
)
async def test_a_responder_writing_from_a_new_address_each_time_gets_the_hourly_number_of_replies(
    limit: str,
    address: Callable[[int], str],
    reason: str,
    aiohttp_client: Callable[..., Any],
    settings_for: Callable[..., Settings],
    relay: SmtpRelay,
    port: int,
) -> None:
    client: AppClient = await aiohttp_client(create_app(settings_for(email=_email(relay, port, **{limit: 3}))))
    replies, written = await _replies_to_a_responder(client, relay, port, address)
    assert (replies, written) == (3, 4)
    assert await _customer_mails(client) == written  # every mail of the responder is kept
    assert await _dead_letters(client, f"loop guard: {reason}") == 1  # the fourth reply, not sent


async def test_with_the_default_limits_the_loop_ends_within_ten_replies(
    aiohttp_client: Callable[..., Any], settings_for: Callable[..., Settings], relay: SmtpRelay, port: int
) -> None:
    client: AppClient = await aiohttp_client(create_app(settings_for()))
    replies, written = await _replies_to_a_responder(client, relay, port, lambda hop: f"desk@t{hop}.responder.example")
    assert replies == EmailSettings().max_replies_per_thread_per_hour == 10
    assert await _customer_mails(client) == written == 11


async def test_past_the_hourly_total_mail_is_kept_and_the_bots_reply_is_a_dead_letter(
    aiohttp_client: Callable[..., Any], settings_for: Callable[..., Settings], relay: SmtpRelay, port: int
) -> None:
    client: AppClient = await aiohttp_client(
        create_app(settings_for(email=_email(relay, port, max_replies_per_hour=3)))
    )
    for person in range(4):
        await deliver(
            port,
            mail(
                "How do I reset my password?",
                sender=f"person{person}@customer{person}.example",
                subject=f"Question {person}",
            ),
        )
    await settled(client.app[RUNTIME].sessionmaker)
    assert len(relay.messages) == 3 and await _customer_mails(client) == 4
    assert await _dead_letters(client, "loop guard: over 3 replies an hour in all") == 1


async def _handed_over(dovecot: Dovecot, uid: int) -> bool:
    """Whether the hub took the IMAP mail `uid` in (it marks it seen once it did)."""
    return "\\Seen" in await dovecot.flags(uid)


async def _second_question_after(client: AppClient, relay: SmtpRelay, port: int) -> None:
    """The customer's next question, once the first went in twice: it is answered too."""
    await deliver(port, mail("How do I export my data?", subject="Export"))
    await settled(client.app[RUNTIME].sessionmaker)
    assert [m.rcpt_tos for m in relay.messages] == [(CUSTOMER,), (CUSTOMER,)]
    assert await _customer_mails(client) == 2 and await _dead_letters(client) == 0


async def test_a_mail_sent_again_over_smtp_counts_once(
    aiohttp_client: Callable[..., Any], settings_for: Callable[..., Settings], relay: SmtpRelay, port: int
) -> None:
    email = _email(relay, port, max_replies_per_sender_per_hour=2)
    client: AppClient = await aiohttp_client(create_app(settings_for(email=email)))
    first = mail("How do I reset my password?")
    await deliver(port, first)  # the 250 comes once the mail is stored
    await deliver(port, first)  # the sender's server did not hear that 250, and sends it again
    await _second_question_after(client, relay, port)


async def test_a_mail_delivered_by_smtp_and_imap_counts_once(
    aiohttp_client: Callable[..., Any],
    settings_for: Callable[..., Settings],
    relay: SmtpRelay,
    port: int,
    dovecot: Dovecot,
) -> None:
    email = _email(relay, port, max_replies_per_sender_per_hour=2).model_copy(
        update={
            "imap_host": dovecot.host,
            "imap_port": dovecot.port,
            "imap_security": "none",
            "imap_username": dovecot.username,
            "imap_password": SecretStr(dovecot.password),
        }
    )
    client: AppClient = await aiohttp_client(create_app(settings_for(email=email)))
    await mailbox_watched(client)
    first = mail("How do I reset my password?")
    await deliver(port, first)
    uid = await dovecot.append(bytes(first))  # a copy also lands in the mailbox the hub reads
    await until(lambda: _handed_over(dovecot, uid), what="the hub taking the mail from the mailbox")
    await _second_question_after(client, relay, port)


@pytest.mark.slow("holds the database locked past SQLite's busy timeout")
async def test_a_mail_the_database_could_not_take_is_taken_however_often_it_came(
    aiohttp_client: Callable[..., Any],
    settings_for: Callable[..., Settings],
    relay: SmtpRelay,
    port: int,
    fault: DatabaseFault,
) -> None:
    email = _email(relay, port, max_replies_per_sender_per_hour=2)
    client: AppClient = await aiohttp_client(create_app(settings_for(email=email, database_url=fault.url)))
    question = mail("How do I reset my password?")

    async def send() -> None:  # a locked SQLite answers after its 5 s busy timeout
        await aiosmtplib.send(
            question,
            sender=CUSTOMER,
            recipients=[SUPPORT],
            hostname="127.0.0.1",
            port=port,
            start_tls=False,
            timeout=30,
        )

    await fault.begin()
    try:
        for _ in range(3):  # the sender's server tries again while the database is out
            with pytest.raises(aiosmtplib.SMTPDataError) as refused:
                await send()
            assert refused.value.code == 451
    finally:
        await fault.end()
    await send()
    await settled(client.app[RUNTIME].sessionmaker)
    assert [m.rcpt_tos for m in relay.messages] == [(CUSTOMER,)] and await _customer_mails(client) == 1


async def test_a_reply_the_relay_made_us_send_again_counts_once(
    aiohttp_client: Callable[..., Any], settings_for: Callable[..., Settings], relay: SmtpRelay, port: int
) -> None:
    client: AppClient = await aiohttp_client(
        create_app(settings_for(email=_email(relay, port, max_replies_per_sender_per_hour=2)))
    )
    relay.refuse_next(451, "4.3.0 Try again later")  # the first reply is sent twice
    for answered, question in enumerate(
        ("How do I reset my password?", "How do I export my data?", "How do I invite a teammate?")
    ):
        await deliver(port, mail(question, subject=question))
        await settled(client.app[RUNTIME].sessionmaker)
        assert len(relay.messages) == min(answered + 1, 2)
    assert len(relay.refusals) == 1 and await _customer_mails(client) == 3
    assert await _dead_letters(client, "loop guard: over 2 replies an hour to this address") == 1


async def test_a_customer_writing_to_a_person_is_never_held_back_nor_is_the_persons_reply(
    aiohttp_client: Callable[..., Any],
    settings_for: Callable[..., Settings],
    relay: SmtpRelay,
    slack: FakeSlack,
    port: int,
) -> None:
    email = _email(relay, port, max_replies_per_sender_per_hour=1, max_replies_per_thread_per_hour=1)
    client: AppClient = await aiohttp_client(create_app(settings_for(email=email, slack=desk_settings(slack))))
    await deliver(port, mail("I want to talk to a human please", subject="Invoice wrong"))
    (offer,) = await relay.wait_for(1, timeout=30)  # the bot's one reply this hour; a case is open
    for line in ("The invoice says 12 seats.", "We have 10.", "Please also fix March's."):
        await deliver(port, _reply_to(offer, line))
    await settled(client.app[RUNTIME].sessionmaker)
    assert await _customer_mails(client) == 4 and len(relay.messages) == 1  # kept; the bot stays silent

    await staff_replies(client, slack, "Hi Ana, Sam here: both invoices are corrected.", ts="1700000300.000100")
    staff = (await relay.wait_for(2, timeout=30))[1].message
    assert "Sam here" in staff.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert await _dead_letters(client) == 0


async def test_a_refused_bot_reply_is_a_dead_letter_and_the_conversation_stays_reachable(
    aiohttp_client: Callable[..., Any],
    settings_for: Callable[..., Settings],
    relay: SmtpRelay,
    slack: FakeSlack,
    port: int,
) -> None:
    email = _email(relay, port, max_replies_per_sender_per_hour=1)
    client: AppClient = await aiohttp_client(create_app(settings_for(email=email, slack=desk_settings(slack))))
    await deliver(port, mail("How do I reset my password?"))
    (answer,) = await relay.wait_for(1, timeout=30)
    await deliver(port, _reply_to(answer, "I want to talk to a human please"))
    await settled(client.app[RUNTIME].sessionmaker)
    assert len(relay.messages) == 1 and await _customer_mails(client) == 2
    assert await _dead_letters(client, "loop guard: over 1 replies an hour to this address") == 1  # the offer
    assert await count(client, Conversation, Conversation.unreachable_reason.is_not(None)) == 0

    await staff_replies(client, slack, "Hi Ana, Sam here: I've reset it for you.", ts="1700000300.000100")
    staff = (await relay.wait_for(2, timeout=30))[1]
    assert staff.rcpt_tos == (CUSTOMER,) and staff.message["Auto-Submitted"] is None  # a person wrote it
