"""What one sender can make the email channel hold: the text kept of a mail. Real SMTP to the
hub's own listener."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aiohttp.test_utils import TestClient
from sqlalchemy import select

from core.db import Message
from core.server import RUNTIME, create_app
from core.settings import EmailSettings, Settings
from tests.fakes.smtp_relay import SmtpRelay
from tests.integration.test_email import (  # noqa: F401 — fixtures
    SUPPORT,
    deliver,
    mail,
    port,
    relay,
    settings_for,
)


def _email(relay: SmtpRelay, port: int, **bounds: Any) -> EmailSettings:
    return EmailSettings(address=SUPPORT, smtp_host=relay.host, smtp_port=relay.port, smtp_security="none",
                         listen_port=port, **bounds)


async def _customer_texts(client: TestClient) -> list[str]:
    async with client.app[RUNTIME].sessionmaker() as session:
        found = await session.execute(select(Message.text).where(Message.author == "customer").order_by(Message.id))
        return list(found.scalars())


async def test_a_long_mail_is_kept_up_to_the_channels_length_and_says_where_it_was_cut(
    aiohttp_client: Callable[..., Any], settings_for: Callable[..., Settings], relay: SmtpRelay, port: int
) -> None:
    client: TestClient = await aiohttp_client(create_app(settings_for(email=_email(relay, port, max_text_length=2000))))
    text = "How do I reset my password? " + "The log says: nothing useful here. " * 200
    await deliver(port, mail(text))
    await relay.wait_for(1, timeout=30)
    (kept,) = await _customer_texts(client)
    assert kept == text[:2000] + "\n\n[… cut at 2,000 characters]"
