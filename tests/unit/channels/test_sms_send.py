"""Replies by SMS: the real channel and twilio SDK against a local fake of Twilio's REST API,
with the in-memory hub port. What crosses the wire: a long answer within `sms.max_segments`
(GSM-7 and UCS-2), and how each refusal of Twilio's becomes the outbox's decision."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from pydantic import SecretStr

from channels.common.opt_out import keyword
from channels.sms.channel import SmsChannel
from channels.sms.format import segments
from channels.sms.settings import SmsSettings
from channels.twilio.stand_in import ACCOUNT_SID, AUTH_TOKEN, HUB_NUMBER, FakeTwilio
from core.channel import CustomerUnreachable, DeliveryError, DeliveryRefused
from core.messages import Address, Author, Citation
from core.settings import Settings
from tests.fakes.hub import FakeHub, started

CUSTOMER = Address("sms", "+14155550100")
SOURCE = Citation("https://help.example.com/export", "Exporting your data", "CSV", 0.8)
SENTENCES = " ".join(f"Step {n} of the export is explained in this sentence of the answer." for n in range(30))


@pytest.fixture
async def hub(twilio: FakeTwilio, tmp_path: Path) -> AsyncIterator[FakeHub]:
    settings = Settings(
        data_dir=tmp_path,
        sms=SmsSettings(
            account_sid=ACCOUNT_SID,
            auth_token=SecretStr(AUTH_TOKEN),
            from_number=HUB_NUMBER,
            api_url=twilio.api_url,
            public_url="https://support.example.com",
            max_segments=3,
        ),
    )
    async with started(lambda ports: SmsChannel(settings, ports)) as hub:
        yield hub


@pytest.mark.parametrize("answer, encoding", [(SENTENCES, "GSM-7"), ("🎉 " + SENTENCES, "UCS-2")])
async def test_a_long_answer_fits_max_segments_and_offers_more(
    hub: FakeHub, twilio: FakeTwilio, answer: str, encoding: str
) -> None:
    sid = await hub.channel.send(
        CUSTOMER, hub.add(CUSTOMER, Author.BOT, answer.replace("Step 29", "**Step 29**"), citations=(SOURCE,))
    )
    (sent,) = twilio.sent()
    body = str(sent.params["Body"])
    counted = segments(body)
    assert sid == sent.response["sid"] and counted.count <= 3
    assert counted.encoding == encoding
    assert "More: https://help.example.com/export" in body and "Source: Exporting your data" in body
    assert "Step 0 of the export" in body and "Step 29" not in body  # cut at a sentence, from the start


async def test_a_rate_limit_or_a_server_error_is_retried(hub: FakeHub, twilio: FakeTwilio) -> None:
    for status, code in ((429, 20429), (503, None)):
        twilio.fail_next(status, code=code)
        with pytest.raises(DeliveryError) as failed:
            await hub.channel.send(CUSTOMER, hub.add(CUSTOMER, Author.BOT, "Hello"))
        assert not isinstance(failed.value, DeliveryRefused)
    assert len(twilio.send_attempts()) == 2  # one request each: the SDK itself never retries


async def test_an_invalid_number_is_dead_lettered_and_unreachable(hub: FakeHub, twilio: FakeTwilio) -> None:
    twilio.fail_next(400, code=21211, message=f"The 'To' number {CUSTOMER.chat_id} is not a valid phone number.")
    with pytest.raises(DeliveryError) as failed:
        await hub.channel.send(CUSTOMER, hub.add(CUSTOMER, Author.BOT, "Hello"))
    assert (
        isinstance(failed.value, DeliveryRefused)
        and isinstance(failed.value, CustomerUnreachable)
        and "21211" in str(failed.value)
    )
    assert CUSTOMER.chat_id not in str(failed.value)  # the number is masked in logs and dead letters


async def test_an_unsubscribed_number_is_opted_out(hub: FakeHub, twilio: FakeTwilio) -> None:
    twilio.opted_out.add(CUSTOMER.chat_id)
    with pytest.raises(DeliveryError) as failed:
        await hub.channel.send(CUSTOMER, hub.add(CUSTOMER, Author.BOT, "Hello"))
    assert isinstance(failed.value, DeliveryRefused) and CUSTOMER in hub.opted_out


@pytest.mark.parametrize(
    ("body", "word"),
    [
        *(
            (w, w)
            for w in (
                "STOP",
                "STOPALL",
                "UNSUBSCRIBE",
                "CANCEL",
                "END",
                "QUIT",
                "START",
                "UNSTOP",
                "YES",
                "HELP",
                "INFO",
            )
        ),
        (" stop! ", "STOP"),
        ("Help.", "HELP"),
        ("stop sending me these", None),
        ("how do I cancel my plan?", None),
    ],
)
def test_carrier_keywords_are_whole_messages(body: str, word: str | None) -> None:
    assert keyword(body) == word


async def test_credentials_being_rotated_or_a_full_queue_are_retried(hub: FakeHub, twilio: FakeTwilio) -> None:
    for status, code in ((401, 20003), (400, 21611)):
        twilio.fail_next(status, code=code)
        with pytest.raises(DeliveryError) as failed:
            await hub.channel.send(CUSTOMER, hub.add(CUSTOMER, Author.BOT, "Hello"))
        assert not isinstance(failed.value, DeliveryRefused)
