"""Replies to Telegram: the real channel and python-telegram-bot against a local fake of the Bot
API, with the in-memory hub port. What crosses the wire: the parts of a long answer, their
escaping, and how each refusal of Telegram's becomes the outbox's decision."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from pydantic import SecretStr

from channels.telegram.channel import TelegramChannel
from channels.telegram.format import visible_length
from channels.telegram.settings import TelegramSettings
from channels.telegram.stand_in import BOT_TOKEN, FakeBotApi
from core.channel import CustomerUnreachable, DeliveryError, DeliveryRefused, SentParts
from core.messages import Address, Author
from core.settings import Settings
from tests.fakes.hub import FakeHub, started

CHAT = Address("telegram", "777")
PARAGRAPH = (
    "Sentence number {n} explains one more step of exporting your data, with enough words to "
    "fill a paragraph of a realistic help-centre answer. "
) * 3


@pytest.fixture
async def hub(telegram: FakeBotApi, tmp_path: Path) -> AsyncIterator[FakeHub]:
    settings = Settings(
        data_dir=tmp_path,
        telegram=TelegramSettings(
            bot_token=SecretStr(BOT_TOKEN),
            api_url=telegram.api_url,
            public_url="https://hub.example.com",
            webhook_secret=SecretStr("s3cret"),
        ),
    )
    async with started(lambda ports: TelegramChannel(settings, ports)) as hub:
        yield hub


def telegram_of(hub: FakeHub) -> TelegramChannel:
    assert isinstance(hub.channel, TelegramChannel)
    return hub.channel


def long_answer(paragraphs: int) -> str:
    return "\n\n".join(PARAGRAPH.format(n=n) for n in range(paragraphs))


async def test_a_long_answer_goes_in_parts_under_4096_in_order_each_recorded(
    hub: FakeHub, telegram: FakeBotApi
) -> None:
    reply = hub.add(CHAT, Author.BOT, long_answer(40))
    kept: dict[int, str] = {}

    async def keep(part: int, external_id: str) -> None:
        kept[part] = external_id

    parts = SentParts(keep=keep)
    first_id = await telegram_of(hub).send_split(CHAT, reply, parts)
    texts = telegram.sent_texts(777)
    assert len(texts) >= 4 and all(visible_length(text) <= 4096 for text in texts)
    numbers = [int(n) for text in texts for n in re.findall(r"Sentence number (\d+)", text)]
    assert numbers == sorted(numbers) and set(numbers) == set(range(40))  # nothing lost, order kept
    ids = [str(c.response["result"]["message_id"]) for c in telegram.calls_to("sendMessage")]
    assert parts.sent == ids and first_id == ids[0]
    # each part is kept as it goes; the last with the delivery's own status (the outbox's one transaction)
    assert kept == dict(enumerate(ids[:-1])) and parts.last == (len(ids) - 1, ids[-1])


async def test_a_retry_after_a_failed_part_sends_only_the_rest(hub: FakeHub, telegram: FakeBotApi) -> None:
    reply = hub.add(CHAT, Author.BOT, long_answer(40))
    await hub.channel.send(CHAT, reply)
    delivered = telegram.sent_texts(777)
    # The same reply again, as if the first attempt had failed after its first two parts.
    first_two = [str(c.response["result"]["message_id"]) for c in telegram.calls_to("sendMessage")][:2]
    telegram.fail_next("sendMessage", 502)
    with pytest.raises(DeliveryError) as failed:
        await telegram_of(hub).send_split(CHAT, reply, SentParts(first_two))
    assert not isinstance(failed.value, DeliveryRefused)
    await telegram_of(hub).send_split(CHAT, reply, SentParts(first_two))
    assert telegram.sent_texts(777) == delivered + delivered[2:]  # parts 1 and 2 never again


async def test_script_tags_and_ampersands_are_escaped(hub: FakeHub, telegram: FakeBotApi) -> None:
    await hub.channel.send(CHAT, hub.add(CHAT, Author.BOT, "Type <script>alert(1)</script> & press **Save** at AT&T"))
    (text,) = telegram.sent_texts(777)
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; press <b>Save</b> at AT&amp;T" in text


async def test_flood_control_is_retried_after_telegrams_wait(hub: FakeHub, telegram: FakeBotApi) -> None:
    telegram.fail_next("sendMessage", 429, retry_after=7)
    with pytest.raises(DeliveryError) as failed:
        await hub.channel.send(CHAT, hub.add(CHAT, Author.BOT, "Hello"))
    assert failed.value.retry_after == 7 and not isinstance(failed.value, DeliveryRefused)


async def test_a_blocked_bot_makes_the_customer_unreachable(hub: FakeHub, telegram: FakeBotApi) -> None:
    telegram.fail_next("sendMessage", 403)
    with pytest.raises(DeliveryError) as failed:
        await hub.channel.send(CHAT, hub.add(CHAT, Author.BOT, "Hello"))
    assert (
        isinstance(failed.value, CustomerUnreachable)
        and isinstance(failed.value, DeliveryRefused)
        and "blocked" in str(failed.value)
    )


async def test_a_bad_request_is_permanent(hub: FakeHub, telegram: FakeBotApi) -> None:
    telegram.fail_next("sendMessage", 400, description="Bad Request: message thread not found")
    with pytest.raises(DeliveryError) as failed:
        await hub.channel.send(CHAT, hub.add(CHAT, Author.BOT, "Hello"))
    assert isinstance(failed.value, DeliveryRefused) and not isinstance(failed.value, CustomerUnreachable)


async def test_a_migrated_group_is_followed_and_the_message_resent_there(hub: FakeHub, telegram: FakeBotApi) -> None:
    group = Address("telegram", "-4001")
    reply = hub.add(group, Author.BOT, "Hello group")
    telegram.fail_next("sendMessage", 400, migrate_to_chat_id=-1004001)
    await hub.channel.send(group, reply)
    assert [c.params["chat_id"] for c in telegram.calls_to("sendMessage")] == ["-4001", "-1004001"]
    assert telegram.sent_texts(-1004001) == ["Hello group"]
    assert hub.messages[-1][0] == Address("telegram", "-1004001")  # the conversation followed
