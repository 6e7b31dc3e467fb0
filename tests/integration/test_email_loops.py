"""The loop guard against an auto-responder that does not say it is one: it answers each of our
replies from another address, in our thread, with no Auto-Submitted header. Real SMTP both ways:
the test plays the responder, writing back to each reply the relay receives, until the hub
stops answering; then counts the replies."""

from __future__ import annotations

from collections.abc import Callable
from email.message import EmailMessage
from email.utils import make_msgid
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from core.server import RUNTIME, create_app
from core.settings import EmailSettings, Settings
from tests.fakes.smtp_relay import RelayedMessage, SmtpRelay
from tests.integration.test_email import SUPPORT, deliver, mail, port, settings_for  # noqa: F401 — fixtures
from tests.settle import settled

HOPS = 30
"""How long the responder keeps going when nothing stops it (the probe saw 29 replies in 30 s)."""
GENEROUS = 100


def _email(relay: SmtpRelay, port: int, **limits: int) -> EmailSettings:
    counts = {"max_replies_per_sender_per_hour": GENEROUS, "max_replies_per_domain_per_hour": GENEROUS,
              "max_replies_per_thread_per_hour": GENEROUS, "max_replies_per_hour": GENEROUS, **limits}
    return EmailSettings(address=SUPPORT, smtp_host=relay.host, smtp_port=relay.port, smtp_security="none",
                         listen_port=port, **counts)


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


async def _replies_to_a_responder(client: TestClient, relay: SmtpRelay, port: int,
                                  address: Callable[[int], str]) -> int:
    """Our replies before the hub stopped answering a responder writing from `address(hop)`."""
    await deliver(port, mail("How do I reset my password?", sender=address(0)))
    for hop in range(1, HOPS):
        await settled(client.app[RUNTIME].sessionmaker)  # the 250 came after the mail was stored or refused
        if len(relay.messages) < hop:
            break
        await deliver(port, _auto_reply(address(hop), to=relay.messages[-1]))
    await settled(client.app[RUNTIME].sessionmaker)
    return len(relay.messages)


@pytest.mark.parametrize(
    ("limit", "address"),
    [
        ("max_replies_per_sender_per_hour", lambda hop: f"desk+t{hop}@responder.example"),
        ("max_replies_per_domain_per_hour", lambda hop: f"desk{hop}@responder.example"),
        ("max_replies_per_thread_per_hour", lambda hop: f"desk@t{hop}.responder.example"),
    ],
    ids=["a new sub-address each time", "a new address each time", "a new domain each time"],
)
async def test_a_responder_writing_from_a_new_address_each_time_gets_the_hourly_number_of_replies(
    limit: str, address: Callable[[int], str], aiohttp_client: Callable[..., Any],
    settings_for: Callable[..., Settings], relay: SmtpRelay, port: int
) -> None:
    client: TestClient = await aiohttp_client(create_app(settings_for(email=_email(relay, port, **{limit: 3}))))
    assert await _replies_to_a_responder(client, relay, port, address) == 3


async def test_with_the_default_limits_the_loop_ends_within_ten_replies(
    aiohttp_client: Callable[..., Any], settings_for: Callable[..., Settings], relay: SmtpRelay, port: int
) -> None:
    client: TestClient = await aiohttp_client(create_app(settings_for()))
    replies = await _replies_to_a_responder(client, relay, port, lambda hop: f"desk@t{hop}.responder.example")
    assert replies == EmailSettings().max_replies_per_thread_per_hour == 10


async def test_mail_past_the_hourly_total_is_not_answered(
    aiohttp_client: Callable[..., Any], settings_for: Callable[..., Settings], relay: SmtpRelay, port: int
) -> None:
    client: TestClient = await aiohttp_client(create_app(settings_for(email=_email(relay, port,
                                                                                   max_replies_per_hour=3))))
    for person in range(4):
        await deliver(port, mail("How do I reset my password?", sender=f"person{person}@customer{person}.example",
                                 subject=f"Question {person}"))
    await settled(client.app[RUNTIME].sessionmaker)
    assert [m.rcpt_tos for m in relay.messages] == [(f"person{i}@customer{i}.example",) for i in range(3)]
