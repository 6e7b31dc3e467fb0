"""What a customer is told about a file the hub could not fetch or would not read whole, on
Slack, Telegram and SMS (the real SDKs against the local fakes), and where Slack's bot token
may go.

A file that could not be fetched is told as such, never as "empty"; a file over the limit is
told its real size (one convention: `core.file_sizes`), not the 10.1 MB read before stopping.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from pydantic import SecretStr

from channels.slack.settings import SlackSettings
from channels.slack.stand_in import BOT_TOKEN, FakeSlack
from channels.slack.stand_in_events import message_event
from channels.telegram.stand_in import FakeBotApi
from channels.telegram.stand_in_updates import private_message
from channels.twilio.stand_in import FakeTwilio
from core.cli.server import create_app
from core.settings import OutboxSettings, Settings
from tests.app_client import AppClient
from tests.integration import test_slack, test_sms
from tests.integration.test_slack import post_event, posted
from tests.integration.test_sms import sid, text_in
from tests.integration.test_telegram import deliver, ready, telegram_settings, update

ELEVEN_MB = int(11.1 * 1024 * 1024)
"""A file the customer's computer calls 11.1 MB: over the 10 MB limit by more than a tenth."""
FAST_OUTBOX = OutboxSettings(poll_interval_s=0.2, backoff_base_s=0.2)


@pytest.fixture
async def slack_client(
    aiohttp_client: Callable[..., Any], make_settings: Callable[..., Settings], slack: FakeSlack
) -> AppClient:
    slack_settings = SlackSettings(
        bot_token=SecretStr(BOT_TOKEN), signing_secret=SecretStr(test_slack.SECRET), api_url=slack.base_url
    )
    return await aiohttp_client(create_app(make_settings(slack=slack_settings, outbox=FAST_OUTBOX)))  # type: ignore[no-any-return]


@pytest.fixture
async def telegram_client(
    aiohttp_client: Callable[..., Any], make_settings: Callable[..., Settings], telegram: FakeBotApi
) -> AppClient:
    settings = make_settings(telegram=telegram_settings(telegram.api_url), outbox=FAST_OUTBOX)
    client: AppClient = await aiohttp_client(create_app(settings))
    await telegram.wait_for_calls("getWebhookInfo", 1)
    await ready(client)
    return client


@pytest.fixture
async def sms_client(
    aiohttp_client: Callable[..., Any], make_settings: Callable[..., Settings], twilio: FakeTwilio
) -> AppClient:
    sms = test_sms.sms_settings(twilio)
    return await aiohttp_client(create_app(make_settings(sms=sms, outbox=FAST_OUTBOX)))  # type: ignore[no-any-return]


async def test_a_slack_file_url_off_slacks_file_host_gets_no_token_and_the_customer_is_told(
    slack_client: AppClient, slack: FakeSlack
) -> None:
    elsewhere = FakeSlack()
    await elsewhere.start()
    try:
        forged = elsewhere.add_file("invoice.txt", b"Invoice 4411, due in 30 days", "text/plain")
        event = message_event(
            channel="D0EVE", user="U0EVE", text="see the invoice", ts="1700000101.000100", files=[forged]
        )
        assert await post_event(slack_client, event) == 200
        (reply,) = await posted(slack, 1)
        assert not elsewhere.downloads  # never fetched: the bot token went nowhere off Slack
        assert "invoice.txt was not fetched: it is not on Slack's file server" in reply["text"]
    finally:
        await elsewhere.stop()


async def test_a_slack_file_that_cannot_be_fetched_is_told_so_not_called_empty(
    slack_client: AppClient, slack: FakeSlack
) -> None:
    file = slack.add_file("error-log.txt", b"BD-4012", "text/plain")
    gone = file | {"url_private_download": file["url_private"].replace(file["id"], "F000000999")}
    event = message_event(channel="D0GIL", user="U0GIL", text="see the log", ts="1700000102.000100", files=[gone])
    assert await post_event(slack_client, event) == 200
    (reply,) = await posted(slack, 1)
    assert [d.served for d in slack.downloads] == [False]  # Slack's 404
    assert "error-log.txt could not be fetched from Slack" in reply["text"] and "empty" not in reply["text"]


@pytest.mark.parametrize("declared", [True, False], ids=["size in the event", "size from the download"])
async def test_a_slack_file_over_the_limit_is_told_its_real_size(
    slack_client: AppClient, slack: FakeSlack, declared: bool
) -> None:
    file = slack.add_file("export.csv", b"x" * ELEVEN_MB, "text/csv")
    if not declared:
        del file["size"]
    event = message_event(channel="D0HAN", user="U0HAN", text="see the export", ts="1700000103.000100", files=[file])
    assert await post_event(slack_client, event) == 200
    (reply,) = await posted(slack, 1)
    assert "export.csv is 11.1 MB, over the 10 MB limit" in reply["text"]
    assert [d.headers["Authorization"] for d in slack.downloads] == ([] if declared else [f"Bearer {BOT_TOKEN}"])


async def test_a_telegram_file_id_telegram_refuses_is_told_as_not_fetched_not_empty(
    telegram_client: AppClient, telegram: FakeBotApi
) -> None:
    document = {
        "file_id": "NO-SUCH-FILE",
        "file_unique_id": "u9",
        "file_name": "contract.pdf",
        "mime_type": "application/pdf",
        "file_size": 4200,
    }
    payload = update(private_message(None, user_id=901, caption="see the contract", document=document))
    assert await deliver(telegram_client, payload) == 200
    (reply,) = await telegram.wait_for_calls("sendMessage", 1)
    assert [call.params["file_id"] for call in telegram.calls_to("getFile")] == ["NO-SUCH-FILE"]  # "invalid file_id"
    assert "contract.pdf could not be fetched from Telegram" in reply.params["text"]
    assert "empty" not in reply.params["text"]


async def test_an_mms_file_over_the_limit_is_told_its_real_size(sms_client: AppClient, twilio: FakeTwilio) -> None:
    message_sid = sid()
    export = twilio.add_media(message_sid, "ME1", b"x" * ELEVEN_MB, "text/csv")
    status, _ = await text_in(sms_client, "see the export", message_sid=message_sid, media=[(export, "text/csv")])
    assert status == 200
    (sent,) = await twilio.wait_for_sent(1)
    assert "mms-1.csv is 11.1 MB, over the 10 MB limit" in str(sent.params["Body"])
