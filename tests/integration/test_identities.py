"""Whose memory a message reaches, as customers on different channels meet it: a forged
From: is a sender of its own, a DMARC-passed one is the verified person, and each Slack user
in a shared thread is a person of their own."""

from __future__ import annotations

from collections.abc import Callable
from email.message import EmailMessage
from functools import partial
from typing import Any

from pydantic import SecretStr

from channels.email.settings import EmailSettings
from channels.email.stand_in import SmtpRelay
from channels.slack.settings import SlackSettings
from channels.slack.stand_in import BOT_TOKEN, BOT_USER_ID, FakeSlack
from channels.slack.stand_in_events import app_mention_event, message_event
from core.cli.server import RUNTIME, create_app
from core.ops.privacy import forget_contacts
from core.settings import OutboxSettings, Settings
from tests.app_client import AppClient
from tests.integration.test_conversations import say
from tests.integration.test_email import body_text, deliver, mail
from tests.integration.test_slack import CUSTOMER_CHANNEL, SECRET, post_event, posted
from tests.integration.trusted import TRUSTED, trusted_api

VICTORIA = "victoria@shop.example"


def with_email(make_settings: Callable[..., Settings], relay: SmtpRelay, port: int, **email: Any) -> Settings:
    """The app answering mail from its SMTP listener on `port`, and the API with its token."""
    return make_settings(
        api=trusted_api(),
        outbox=OutboxSettings(poll_interval_s=0.2, backoff_base_s=0.2),
        email=EmailSettings(
            address="support@example.com",
            smtp_host=relay.host,
            smtp_port=relay.port,
            smtp_security="none",
            listen_port=port,
            **email,
        ),
    )


async def mailed(port: int, relay: SmtpRelay, message: EmailMessage) -> str:
    """Deliver `message` and return the text of the reply it gets."""
    before = len(relay.messages)
    await deliver(port, message)
    replies = await relay.wait_for(before + 1, timeout=30)
    return body_text(replies[before].message)


def from_victorias_address(text: str, *, authentication: str | None = None) -> EmailMessage:
    message = mail(text, subject="My account", sender=VICTORIA)
    if authentication is not None:
        message["Authentication-Results"] = authentication
    return message


async def test_a_forged_from_never_writes_into_a_verified_customers_memory(
    aiohttp_client: Callable[..., Any], make_settings: Callable[..., Settings], relay: SmtpRelay, smtp_port: int
) -> None:
    """Victoria is verified through the company's backend; Mallory mails as From: victoria@…
    with no authentication. Mallory's facts stay with the mail sender, never reach Victoria,
    and Mallory is told nothing of Victoria's."""
    client: AppClient = await aiohttp_client(create_app(with_email(make_settings, relay, smtp_port)), headers=TRUSTED)
    await say(client, "My name is Victoria Stone and my order number is BD-11111", contact="crm-v", email=VICTORIA)

    await mailed(smtp_port, relay, from_victorias_address("My name is Mallory Grey and my order number is BD-66666"))
    told_mallory = await mailed(smtp_port, relay, from_victorias_address("what are my order numbers?"))
    assert "BD-66666" in told_mallory and "BD-11111" not in told_mallory

    victoria = await say(client, "what's my name?", contact="crm-v", email=VICTORIA)
    assert victoria["reply"]["text"] == "Your name is Victoria Stone."
    orders = await say(client, "what are my order numbers?", contact="crm-v", email=VICTORIA)
    assert orders["reply"]["text"] == "Your order numbers: BD-11111."


async def test_a_dmarc_passed_sender_is_the_verified_person_and_a_forged_one_after_it_is_not(
    aiohttp_client: Callable[..., Any], make_settings: Callable[..., Settings], relay: SmtpRelay, smtp_port: int
) -> None:
    """With `trust_authentication_results`, a mail whose DMARC passed for its From domain meets
    the memory the verified person built on another channel; a mail From: the same address that
    passed nothing, after it, does not."""
    settings = with_email(make_settings, relay, smtp_port, trust_authentication_results=True)
    client: AppClient = await aiohttp_client(create_app(settings), headers=TRUSTED)
    await say(client, "My order number is BD-11111", contact="crm-v", email=VICTORIA)
    passed = "mx.example.com; dmarc=pass (p=REJECT) header.from=shop.example"
    told = await mailed(smtp_port, relay, from_victorias_address("what are my order numbers?", authentication=passed))
    assert "BD-11111" in told

    forged = mail("My order number is BD-66666. What are my order numbers?", subject="Another matter", sender=VICTORIA)
    told_forger = await mailed(smtp_port, relay, forged)
    assert "BD-66666" in told_forger and "BD-11111" not in told_forger
    victoria = await say(client, "what are my order numbers?", contact="crm-v", email=VICTORIA)
    assert victoria["reply"]["text"] == "Your order numbers: BD-11111."


async def test_each_slack_user_in_a_shared_thread_has_their_own_memory(
    aiohttp_client: Callable[..., Any], make_settings: Callable[..., Settings], slack: FakeSlack
) -> None:
    """Carol asks in a customer channel and tells her order number in the bot's thread; Dave,
    from another company in the shared channel, replies in the same thread and asks for his."""
    settings = make_settings(
        slack=SlackSettings(
            bot_token=SecretStr(BOT_TOKEN),
            signing_secret=SecretStr(SECRET),
            api_url=slack.base_url,
            customer_channels=[CUSTOMER_CHANNEL],
        )
    )
    client: AppClient = await aiohttp_client(create_app(settings))
    root = "1700000100.000100"
    await post_event(
        client,
        app_mention_event(
            channel=CUSTOMER_CHANNEL,
            user="U0CAROL",
            ts=root,
            text=f"<@{BOT_USER_ID}> my name is Carol Lind and my order number is BD-55555",
        ),
    )
    await posted(slack, 1)
    await post_event(
        client,
        message_event(
            channel=CUSTOMER_CHANNEL,
            user="U0DAVE",
            text="what are my order numbers?",
            ts="1700000100.000200",
            thread_ts=root,
            channel_type="channel",
        ),
    )
    to_dave = (await posted(slack, 2))[1]
    assert to_dave["thread_ts"] == root
    assert "BD-55555" not in str(to_dave) and "haven't told me your order number" in str(to_dave)
    await post_event(
        client,
        message_event(
            channel=CUSTOMER_CHANNEL,
            user="U0CAROL",
            text="what are my order numbers?",
            ts="1700000100.000300",
            thread_ts=root,
            channel_type="channel",
        ),
    )
    assert "BD-55555" in str((await posted(slack, 3))[2])


async def test_forgetting_an_email_forgets_the_verified_person_and_the_mail_sender_of_it(
    aiohttp_client: Callable[..., Any], make_settings: Callable[..., Settings], relay: SmtpRelay, smtp_port: int
) -> None:
    """They are contacts apart by design; an erasure request by address means both."""
    client: AppClient = await aiohttp_client(create_app(with_email(make_settings, relay, smtp_port)), headers=TRUSTED)
    await say(client, "My order number is BD-11111", contact="crm-v", email=VICTORIA)
    await mailed(smtp_port, relay, from_victorias_address("My order number is BD-22222"))
    erased = await client.app[RUNTIME].transactions.run(partial(forget_contacts, selector=f"email:{VICTORIA}"))
    assert sorted(e.facts for e in erased) == [1, 1]
    again = await say(client, "what are my order numbers?", contact="crm-v", email=VICTORIA)
    assert again["reply"]["text"] == "You haven't told me your order number yet."
    assert "haven't told me your order number" in await mailed(
        smtp_port, relay, from_victorias_address("What are my order numbers?")
    )
