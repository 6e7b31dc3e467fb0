"""WhatsApp through a Twilio sender, end to end: the real app with the twilio SDK (the one SMS
uses), webhooks signed the way Twilio signs them, and every REST call recorded by the fake of
Twilio's WhatsApp sender (`channels.whatsapp.twilio_stand_in`)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from freezegun import freeze_time
from pydantic import SecretStr
from sqlalchemy import select

from channels.sms.settings import SmsSettings
from channels.twilio.stand_in import ACCOUNT_SID, AUTH_TOKEN, HUB_NUMBER, incoming_sms, signed_form
from channels.whatsapp.settings import WhatsAppSettings
from channels.whatsapp.twilio_stand_in import (
    CUSTOMER,
    SENDER,
    FakeTwilioWhatsApp,
    incoming_whatsapp,
    post_signed,
    whatsapp_status,
)
from core.cli.server import RUNTIME, create_app
from core.settings import AdminSettings, OutboxSettings, Settings
from core.store.db import Conversation, Message, OutboxItem
from tests.app_client import AppClient
from tests.integration.app_db import count
from tests.integration.staff_steps import on_staff
from tests.integration.test_whatsapp import ASK_FOR_PERSON, TOKEN, case_id, case_notes, inbox_reply
from tests.settle import until

PUBLIC_URL = "https://support.example.com"
CONTENT_SID = "HX0123456789abcdef0123456789abcdef"


@pytest.fixture
async def twilio() -> AsyncIterator[FakeTwilioWhatsApp]:
    fake = FakeTwilioWhatsApp()
    await fake.start()
    yield fake
    await fake.stop()


def whatsapp_settings(twilio: FakeTwilioWhatsApp, **more: Any) -> WhatsAppSettings:
    return WhatsAppSettings(
        route="twilio",
        account_sid=ACCOUNT_SID,
        auth_token=SecretStr(AUTH_TOKEN),
        from_number=HUB_NUMBER,
        api_url=twilio.api_url,
        public_url=PUBLIC_URL,
        **more,
    )


@pytest.fixture
def settings_for(make_settings: Callable[..., Settings], twilio: FakeTwilioWhatsApp) -> Callable[..., Settings]:
    def make(**more: Any) -> Settings:
        return make_settings(
            whatsapp=whatsapp_settings(twilio, **more),
            admin=AdminSettings(token=SecretStr(TOKEN)),
            outbox=OutboxSettings(poll_interval_s=0.2, backoff_base_s=0.2),
        )

    return make


@pytest.fixture
async def client(aiohttp_client: Callable[..., Any], settings_for: Callable[..., Settings]) -> AppClient:
    return await aiohttp_client(create_app(settings_for()))  # type: ignore[no-any-return]


async def twilio_posts(client: AppClient, form: dict[str, str], *, path: str = "/whatsapp/twilio", **how: Any) -> int:
    hub = str(client.make_url("")).rstrip("/")
    return (await post_signed(hub, PUBLIC_URL + path, form, **how)).status


async def test_a_text_is_answered_from_the_whatsapp_sender_with_sources(
    client: AppClient, twilio: FakeTwilioWhatsApp
) -> None:
    assert await twilio_posts(client, incoming_whatsapp("How do I reset my password?")) == 200
    (sent,) = await twilio.wait_for_sent(1)
    assert sent.params["To"] == "whatsapp:" + CUSTOMER and sent.params["From"] == SENDER
    assert "password" in str(sent.params["Body"]).lower() and "Source" in str(sent.params["Body"])
    assert sent.params["StatusCallback"] == PUBLIC_URL + "/whatsapp/twilio/status"


async def test_a_forged_signature_is_403_and_nothing_is_stored(client: AppClient, twilio: FakeTwilioWhatsApp) -> None:
    assert await twilio_posts(client, incoming_whatsapp("How do I reset my password?"), forged=True) == 403
    assert await count(client, Message) == 0 and twilio.whatsapp_sent() == []


async def test_the_same_number_on_whatsapp_and_by_sms_is_one_contact(
    aiohttp_client: Callable[..., Any], make_settings: Callable[..., Settings], twilio: FakeTwilioWhatsApp
) -> None:
    sms = SmsSettings(
        account_sid=ACCOUNT_SID,
        auth_token=SecretStr(AUTH_TOKEN),
        from_number=HUB_NUMBER,
        api_url=twilio.api_url,
        public_url=PUBLIC_URL,
    )
    settings = make_settings(whatsapp=whatsapp_settings(twilio), sms=sms, outbox=OutboxSettings(poll_interval_s=0.2))
    client: AppClient = await aiohttp_client(create_app(settings))
    assert await twilio_posts(client, incoming_whatsapp("My name is Dana.")) == 200
    texted = incoming_sms("How do I reset my password?", from_=CUSTOMER, message_sid="SM" + "1" * 32)
    answered = await client.post("/sms/twilio", data=texted, headers=signed_form(PUBLIC_URL + "/sms/twilio", texted))
    assert answered.status == 200
    await twilio.wait_for_sent(2)
    async with client.app[RUNTIME].sessionmaker() as session:
        contacts = set((await session.execute(select(Conversation.contact_id))).scalars())
    assert await count(client, Conversation) == 2 and len(contacts) == 1


async def test_a_staff_reply_25_hours_later_goes_as_the_content_template(
    aiohttp_client: Callable[..., Any], settings_for: Callable[..., Settings], twilio: FakeTwilioWhatsApp
) -> None:
    client: AppClient = await aiohttp_client(create_app(settings_for(template=CONTENT_SID)))
    await on_staff(client.app)  # the inbox takes cases
    assert await twilio_posts(client, incoming_whatsapp(ASK_FOR_PERSON)) == 200
    await twilio.wait_for_sent(1)
    case = await case_id(client)
    with freeze_time(datetime.now(UTC) + timedelta(hours=25), tick=True, real_asyncio=True):
        await inbox_reply(client, case, "Your refund was approved today.\nIt reaches your card within 5 days.")
        template = (await twilio.wait_for_sent(2))[1]
    assert template.params["ContentSid"] == CONTENT_SID and "Body" not in template.params
    assert (
        template.params["ContentVariables"]
        == '{"1": "Your refund was approved today. It reaches your card within 5 days."}'
    )


async def test_twilios_63016_for_an_accepted_reply_holds_it_until_the_customer_writes(
    client: AppClient, twilio: FakeTwilioWhatsApp
) -> None:
    await on_staff(client.app)  # the inbox takes cases
    assert await twilio_posts(client, incoming_whatsapp(ASK_FOR_PERSON)) == 200
    await twilio.wait_for_sent(1)
    case = await case_id(client)
    await inbox_reply(client, case, "Your refund was approved today.")
    reply = (await twilio.wait_for_sent(2))[1]
    for status, code in (("sent", None), ("failed", 63016)):
        form = whatsapp_status(str(reply.response["sid"]), status, error_code=code)
        assert await twilio_posts(client, form, path="/whatsapp/twilio/status") == 204
    notes = await until(lambda: _notes_held(case_notes(client, case)), what="staff told the reply is held")
    assert "24-hour window" in notes
    async with client.app[RUNTIME].sessionmaker() as session:
        held = (await session.execute(select(OutboxItem.status).where(OutboxItem.kind == "reply"))).scalars().all()
    assert "held" in held
    assert await twilio_posts(client, incoming_whatsapp("Any news?")) == 200
    again = (await twilio.wait_for_sent(3))[2]
    assert again.params["Body"] == "Your refund was approved today."


async def _notes_held(notes: Any) -> str | None:
    return next((note for note in await notes if note.startswith("Not sent yet:")), None)
