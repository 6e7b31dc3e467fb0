"""SMS through Twilio, end to end: the real app with the twilio SDK, webhooks signed the way
Twilio signs them (the SDK's own `RequestValidator`), and every REST call and media download
recorded by a local fake of Twilio."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr
from sqlalchemy import select

from channels.api.settings import ApiSettings
from channels.slack.stand_in import FakeSlack
from channels.sms.format import segments
from channels.sms.settings import SmsSettings
from channels.twilio.stand_in import (
    ACCOUNT_SID,
    AUTH_TOKEN,
    HUB_NUMBER,
    FakeTwilio,
    incoming_sms,
    signed_form,
    status_callback,
)
from core.cli.server import RUNTIME, create_app
from core.settings import OutboxSettings, Settings
from core.store.contacts import VERIFIED_PHONE
from core.store.db import AttachmentRow, Conversation, DeliveryStatus, Identity, Message, OptOut, OutboxItem
from tests.app_client import AppClient
from tests.integration.app_db import count
from tests.integration.staff_desk_steps import desk_settings, staff_replies
from tests.settle import settled

PUBLIC_URL = "https://support.example.com"
WEBHOOK = f"{PUBLIC_URL}/sms/twilio"
STATUS = f"{PUBLIC_URL}/sms/twilio/status"
CUSTOMER = "+14155550100"
SAMPLE_PDF = Path("config/knowledge/refund-policy.pdf")
SHARED_KEY = "webhooks-shared-key-secret"
_sids = itertools.count(1)


def sms_settings(twilio: FakeTwilio) -> SmsSettings:
    """The SMS channel on the fake Twilio, its webhooks signed with SHARED_KEY at PUBLIC_URL."""
    return SmsSettings(
        account_sid=ACCOUNT_SID,
        auth_token=SecretStr(AUTH_TOKEN),
        from_number=HUB_NUMBER,
        api_url=twilio.api_url,
        public_url=PUBLIC_URL,
        webhook_signing_key=SecretStr(SHARED_KEY),
    )


@pytest.fixture
def settings_for(make_settings: Callable[..., Settings], twilio: FakeTwilio) -> Callable[..., Settings]:
    def make(**overrides: Any) -> Settings:
        sms = sms_settings(twilio)
        return make_settings(sms=sms, outbox=OutboxSettings(poll_interval_s=0.2, backoff_base_s=0.2), **overrides)

    return make


@pytest.fixture
async def client(aiohttp_client: Callable[..., Any], settings_for: Callable[..., Settings]) -> AppClient:
    return await aiohttp_client(create_app(settings_for()))  # type: ignore[no-any-return]


def sid() -> str:
    return f"SM{next(_sids):032x}"


async def text_in(
    client: AppClient, body: str, *, sender: str = CUSTOMER, message_sid: str | None = None, **options: Any
) -> tuple[int, str]:
    """Twilio posting an incoming SMS, signed for the public URL; the status and the TwiML."""
    params = incoming_sms(body, from_=sender, message_sid=message_sid or sid(), **options)
    response = await client.post("/sms/twilio", data=params, headers=signed_form(WEBHOOK, params))
    return response.status, await response.text()


async def test_a_text_is_answered_with_one_sms_and_the_sender_is_a_verified_phone(
    client: AppClient, twilio: FakeTwilio
) -> None:
    status, twiml = await text_in(client, "How do I reset my password?")
    assert status == 200 and "<Response />" in twiml.replace("<Response/>", "<Response />")
    (sent,) = await twilio.wait_for_sent(1)
    assert sent.authorized and sent.params["To"] == CUSTOMER and sent.params["From"] == HUB_NUMBER
    body = str(sent.params["Body"])
    assert "password" in body.lower() and "Source" in body and "**" not in body
    assert segments(body).count <= 4 and sent.params["StatusCallback"] == STATUS
    assert await count(client, Identity, Identity.channel == VERIFIED_PHONE, Identity.external_user_id == CUSTOMER) == 1


async def test_a_texter_and_an_api_caller_with_the_same_phone_are_one_contact(
    aiohttp_client: Callable[..., Any], settings_for: Callable[..., Settings], twilio: FakeTwilio
) -> None:
    client: AppClient = await aiohttp_client(create_app(settings_for(api=ApiSettings(token=SecretStr("t0ken")))))
    api = await client.post(
        "/api/messages",
        headers={"Authorization": "Bearer t0ken"},
        json={"contact": "crm-4711", "text": "My name is Dana.", "phone": CUSTOMER},
    )
    assert api.status == 200
    assert (await text_in(client, "How do I reset my password?"))[0] == 200
    await twilio.wait_for_sent(1)
    async with client.app[RUNTIME].sessionmaker() as session:
        contacts = set((await session.execute(select(Conversation.contact_id))).scalars())
    assert await count(client, Conversation) == 2 and len(contacts) == 1  # two channels, one person


async def test_twilios_retry_of_the_same_message_sid_gets_no_second_sms(client: AppClient, twilio: FakeTwilio) -> None:
    message_sid = sid()
    for _ in range(3):
        assert (await text_in(client, "How do I export my data?", message_sid=message_sid))[0] == 200
    await twilio.wait_for_sent(1)
    await settled(client.app[RUNTIME].sessionmaker)
    assert len(twilio.sent()) == 1 and await count(client, Message) == 2


async def test_forged_missing_and_wrong_url_signatures_are_403_and_nothing_is_stored(
    client: AppClient, twilio: FakeTwilio
) -> None:
    params = incoming_sms("How do I reset my password?", from_=CUSTOMER, message_sid=sid())
    attempts = [
        signed_form(WEBHOOK, params, token="not-the-auth-token"),
        {},
        signed_form("https://elsewhere.example.com/sms/twilio", params),
        signed_form(f"{client.make_url('/sms/twilio')}", params),  # the request's own URL: not what Twilio called
        signed_form(WEBHOOK, params | {"Body": "something else"}),
    ]
    for headers in attempts:
        assert (await client.post("/sms/twilio", data=params, headers=headers)).status == 403
    assert await count(client, Message) == 0 and not twilio.calls


async def test_behind_a_proxy_the_public_url_and_query_validate(client: AppClient, twilio: FakeTwilio) -> None:
    params = incoming_sms("How do I reset my password?", from_=CUSTOMER, message_sid=sid())
    headers = signed_form(f"{WEBHOOK}?source=proxy", params)
    assert (await client.post("/sms/twilio?source=proxy", data=params, headers=headers)).status == 200
    await twilio.wait_for_sent(1)


async def test_a_sha256_webhook_is_checked_with_the_shared_key_not_the_auth_token(
    client: AppClient, twilio: FakeTwilio
) -> None:
    params = incoming_sms("How do I reset my password?", from_=CUSTOMER, message_sid=sid())
    with_token = signed_form(WEBHOOK, params, algorithm="HMAC_SHA256")
    assert (await client.post("/sms/twilio", data=params, headers=with_token)).status == 403
    with_key = signed_form(WEBHOOK, params, token=SHARED_KEY, algorithm="HMAC_SHA256")
    assert (await client.post("/sms/twilio", data=params, headers=with_key)).status == 200
    await twilio.wait_for_sent(1)


@pytest.mark.parametrize(
    ("body", "content_type", "status"),
    [
        (
            b'--x\r\nContent-Disposition: form-data; name="a"; filename="a"\r\n\r\nb\r\n--x--',
            "multipart/form-data; boundary=x",
            415,
        ),
        (b"Body=%FF%FE", "application/x-www-form-urlencoded", 400),
        (b"x" * 70_000, "application/x-www-form-urlencoded", 413),
        (b"Body=hi", "application/x-www-form-urlencoded", 403),
    ],
)
async def test_a_body_that_is_not_a_twilio_form_is_a_4xx(
    client: AppClient, body: bytes, content_type: str, status: int
) -> None:
    response = await client.post("/sms/twilio", data=body, headers={"Content-Type": content_type})
    assert response.status == status and await count(client, Message) == 0


async def test_yes_is_for_the_bot_unless_the_number_opted_out(client: AppClient, twilio: FakeTwilio) -> None:
    assert (await text_in(client, "Yes"))[0] == 200
    await twilio.wait_for_sent(1)  # answered: a "yes" to the bot's own question
    assert await count(client, Message, Message.text == "Yes") == 1

    opted_out = "+14155550177"
    assert (await text_in(client, "STOP", sender=opted_out))[0] == 200
    assert (await text_in(client, "YES", sender=opted_out))[0] == 200
    assert await count(client, OptOut, OptOut.chat_id == opted_out) == 0  # opted in again
    assert await count(client, Message, Message.text == "YES") == 0  # not a question for the bot


async def test_stop_silences_the_number_and_start_brings_answers_back(client: AppClient, twilio: FakeTwilio) -> None:
    assert (await text_in(client, "STOP"))[0] == 200
    assert await count(client, OptOut, OptOut.chat_id == CUSTOMER) == 1
    assert (await text_in(client, "How do I reset my password?"))[0] == 200
    await settled(client.app[RUNTIME].sessionmaker)
    assert not twilio.sent()  # not even a confirmation: Twilio sends that itself
    assert (
        await count(
            client, OutboxItem, OutboxItem.status == DeliveryStatus.DEAD, OutboxItem.last_error.contains("opted out")
        )
        == 1
    )

    assert (await text_in(client, "start"))[0] == 200
    assert (await text_in(client, "How do I export my data?"))[0] == 200
    (sent,) = await twilio.wait_for_sent(1)
    assert "export" in str(sent.params["Body"]).lower()
    assert await count(client, Message, Message.text.in_(["STOP", "start"])) == 0  # keywords never reach the bot


async def test_help_is_answered_in_the_twiml_with_the_help_text(client: AppClient, twilio: FakeTwilio) -> None:
    status, twiml = await text_in(client, "help")
    assert status == 200 and SmsSettings().help_text in twiml and "<Message>" in twiml
    assert await count(client, Message) == 0 and not twilio.calls


async def test_an_mms_image_and_a_pdf_are_read_as_attachments_with_twilio_credentials(
    client: AppClient, twilio: FakeTwilio
) -> None:
    message_sid = sid()
    image = twilio.add_media(message_sid, "ME1", b"\xff\xd8\xff\xe0fake-jpeg", "image/jpeg")
    pdf = twilio.add_media(message_sid, "ME2", SAMPLE_PDF.read_bytes(), "application/pdf")
    status, _ = await text_in(
        client,
        "what does this say about refunds?",
        message_sid=message_sid,
        media=[(image, "image/jpeg"), (pdf, "application/pdf")],
    )
    assert status == 200
    (sent,) = await twilio.wait_for_sent(1)
    body = str(sent.params["Body"])
    assert "mms-2.pdf" in body and "mms-1.jpg" in body  # the PDF read, the image named as not readable
    assert await count(client, AttachmentRow) == 2
    assert [d.authorized for d in twilio.downloads if "/Media/" in d.path] == [True, True]
    assert not any(d.authorized for d in twilio.downloads if "/Media/" not in d.path)  # the CDN never sees them


async def test_credentials_are_never_sent_to_a_media_url_off_twilio(client: AppClient, twilio: FakeTwilio) -> None:
    elsewhere = FakeTwilio()
    await elsewhere.start()
    try:
        message_sid = sid()
        forged = elsewhere.add_media(message_sid, "ME9", b"secret-stealer", "text/plain", require_auth=False)
        assert (await text_in(client, "see attached", message_sid=message_sid, media=[(forged, "text/plain")]))[
            0
        ] == 200
        (sent,) = await twilio.wait_for_sent(1)
        assert not elsewhere.downloads  # not fetched at all, so no credentials went there
        assert "mms-1.txt could not be fetched" in str(sent.params["Body"])
    finally:
        await elsewhere.stop()


async def test_a_5xx_is_retried_and_the_customer_gets_one_sms(client: AppClient, twilio: FakeTwilio) -> None:
    twilio.fail_next(500)
    assert (await text_in(client, "How do I reset my password?"))[0] == 200
    attempts = await twilio.wait_for_sent(2, ok_only=False)
    assert [a.status for a in attempts] == [500, 201]
    await settled(client.app[RUNTIME].sessionmaker)
    assert len(twilio.sent()) == 1


async def test_status_callbacks_never_move_backwards_and_a_dead_number_is_unreachable(
    client: AppClient, twilio: FakeTwilio
) -> None:
    assert (await text_in(client, "How do I reset my password?"))[0] == 200
    (sent,) = await twilio.wait_for_sent(1)
    reply_sid = sent.response["sid"]
    await settled(client.app[RUNTIME].sessionmaker)
    for status in ("delivered", "sent", "queued"):  # out of order, as callbacks may arrive
        params = status_callback(reply_sid, status, to=CUSTOMER)
        response = await client.post("/sms/twilio/status", data=params, headers=signed_form(STATUS, params))
        assert response.status == 204
    async with client.app[RUNTIME].sessionmaker() as session:
        assert (await session.execute(select(OutboxItem.platform_status))).scalar_one() == "delivered"
    forged = status_callback(reply_sid, "failed", to=CUSTOMER)
    assert (await client.post("/sms/twilio/status", data=forged, headers={})).status == 403

    assert (await text_in(client, "How do I export my data?", sender="+14155550199"))[0] == 200
    second = (await twilio.wait_for_sent(2))[1]
    for status, code in (("sent", None), ("undelivered", "30006")):
        params = status_callback(second.response["sid"], status, to="+14155550199", error_code=code)
        assert (await client.post("/sms/twilio/status", data=params, headers=signed_form(STATUS, params))).status == 204
    assert await count(client, Conversation, Conversation.unreachable_reason.contains("30006")) == 1


async def test_an_escalation_by_sms_gets_the_staff_reply_from_slack_by_sms(
    aiohttp_client: Callable[..., Any], settings_for: Callable[..., Settings], twilio: FakeTwilio, slack: FakeSlack
) -> None:
    client: AppClient = await aiohttp_client(create_app(settings_for(slack=desk_settings(slack))))
    assert (await text_in(client, "I want to talk to a human please"))[0] == 200
    (offer,) = await twilio.wait_for_sent(1)
    assert "person" in str(offer.params["Body"])
    await staff_replies(client, slack, "Hi, Sam here. I've reset it for you.", ts="1700000200.000100")
    staff = (await twilio.wait_for_sent(2))[1]
    assert staff.params["To"] == CUSTOMER and staff.params["Body"] == "Hi, Sam here. I've reset it for you."
