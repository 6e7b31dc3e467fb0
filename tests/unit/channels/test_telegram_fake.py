"""The Telegram fake itself, driven by the real python-telegram-bot `Bot`, so channel tests can
trust that it speaks the wire format PTB 22 sends and parses."""

from __future__ import annotations

import asyncio
import datetime as dtm
from collections.abc import AsyncIterator

import pytest
from telegram import Bot, LinkPreviewOptions, ReplyParameters
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Conflict,
    EndPointNotFound,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TelegramError,
)

from channels.telegram.stand_in import (
    BOT_ID,
    BOT_TOKEN,
    BOT_USERNAME,
    FIRST_UPDATE_ID,
    FakeBotApi,
)
from channels.telegram.stand_in_updates import group_message, mention_entities, private_message


@pytest.fixture
async def fake() -> AsyncIterator[FakeBotApi]:
    api = FakeBotApi()
    await api.start()
    yield api
    await api.stop()


def _bot(fake: FakeBotApi, token: str = BOT_TOKEN) -> Bot:
    return Bot(token, base_url=f"{fake.api_url}/bot", base_file_url=f"{fake.api_url}/file/bot")


@pytest.fixture
async def bot(fake: FakeBotApi) -> AsyncIterator[Bot]:
    async with _bot(fake) as started:
        yield started


def _seconds(value: int | float | dtm.timedelta) -> float:
    """`RetryAfter.retry_after` is an int, or a timedelta when PTB_TIMEDELTA is set."""
    return value.total_seconds() if isinstance(value, dtm.timedelta) else float(value)


async def test_get_me_names_the_bot_and_initialize_called_it(fake: FakeBotApi, bot: Bot) -> None:
    me = await bot.get_me()

    assert (me.id, me.username, me.is_bot) == (BOT_ID, BOT_USERNAME, True)
    assert [call.method for call in fake.calls] == ["getMe", "getMe"]
    assert all(call.ok and call.params == {} for call in fake.calls)


async def test_send_message_records_params_as_they_travelled_and_returns_a_message(fake: FakeBotApi, bot: Bot) -> None:
    first = await bot.send_message(
        chat_id=-100123,
        text="<b>Hello</b> &amp; welcome",
        parse_mode="HTML",
        message_thread_id=7,
        reply_parameters=ReplyParameters(message_id=5),
        link_preview_options=LinkPreviewOptions(is_disabled=True),
    )
    second = await bot.send_message(chat_id=777, text="again")

    [call, _] = fake.calls_to("sendmessage")
    assert call.params == {
        "chat_id": "-100123",
        "text": "<b>Hello</b> &amp; welcome",
        "parse_mode": "HTML",
        "message_thread_id": "7",
        "reply_parameters": {"message_id": 5},
        "link_preview_options": {"is_disabled": True},
    }
    assert (first.chat.id, first.chat.type, first.message_thread_id) == (-100123, "supergroup", 7)
    assert first.text == "<b>Hello</b> &amp; welcome"
    assert second.message_id > first.message_id
    assert (second.chat.type, second.from_user and second.from_user.id) == ("private", BOT_ID)
    assert fake.sent_texts() == ["<b>Hello</b> &amp; welcome", "again"]
    assert fake.sent_texts(chat_id=777) == ["again"]


async def test_send_message_echoes_a_chat_seen_in_an_update(fake: FakeBotApi, bot: Bot) -> None:
    fake.push_update(group_message("hi", chat_id=-1001, forum=True))

    sent = await bot.send_message(chat_id=-1001, text="reply", message_thread_id=3)

    assert (sent.chat.title, sent.chat.is_forum, sent.is_topic_message) == ("Supporthub Customers", True, True)


async def test_send_message_refuses_an_overlong_text(fake: FakeBotApi, bot: Bot) -> None:
    await bot.send_message(chat_id=1, text="<b>" + "x" * 4096 + "</b>", parse_mode="HTML")

    with pytest.raises(BadRequest, match=r"^Message is too long$"):
        await bot.send_message(chat_id=1, text="x" * 4097)
    assert [call.status for call in fake.calls_to("sendMessage")] == [200, 400]


async def test_send_chat_action(fake: FakeBotApi, bot: Bot) -> None:
    assert await bot.send_chat_action(chat_id=777, action="typing") is True
    assert fake.calls_to("sendChatAction")[0].params == {"chat_id": "777", "action": "typing"}


async def test_get_file_and_download_serve_the_bytes(fake: FakeBotApi, bot: Bot) -> None:
    fake.add_file("doc-1", b"%PDF-1.7 invoice", file_path="documents/file_9.pdf")

    file = await bot.get_file("doc-1")
    data = await file.download_as_bytearray()

    assert bytes(data) == b"%PDF-1.7 invoice"
    assert (file.file_size, file.file_path) == (16, f"{fake.api_url}/file/bot{BOT_TOKEN}/documents/file_9.pdf")
    assert [(d.path, d.token_ok, d.served) for d in fake.downloads] == [("documents/file_9.pdf", True, True)]


@pytest.mark.parametrize(
    ("add", "description"),
    [
        ({"too_big": True}, "File is too big"),
        ({"file_size": 25 * 1024 * 1024}, "File is too big"),
        (None, "Invalid file_id"),
    ],
)
async def test_get_file_refusals_raise_bad_request(
    fake: FakeBotApi, bot: Bot, add: dict[str, object] | None, description: str
) -> None:
    if add is not None:
        fake.add_file("big-1", b"...", **add)  # type: ignore[arg-type]

    with pytest.raises(BadRequest) as raised:
        await bot.get_file("big-1")

    assert raised.value.message == description  # PTB drops "Bad Request: " and capitalizes the rest
    assert fake.calls_to("getFile")[0].status == 400


async def test_a_download_with_a_wrong_token_is_refused(fake: FakeBotApi, bot: Bot) -> None:
    fake.add_file("doc-1", b"secret", file_path="documents/file_1.pdf")

    with pytest.raises(InvalidToken):
        await bot.request.retrieve(f"{fake.api_url}/file/bot123456:wrong/documents/file_1.pdf")
    with pytest.raises(InvalidToken):  # PTB maps every 404 to InvalidToken
        await bot.request.retrieve(f"{fake.api_url}/file/bot{BOT_TOKEN}/documents/missing.pdf")

    assert [(d.token_ok, d.served) for d in fake.downloads] == [(False, False), (True, False)]


@pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")
async def test_retry_after_carries_the_seconds_and_fails_only_the_scripted_calls(fake: FakeBotApi, bot: Bot) -> None:
    fake.fail_next("sendMessage", 429, retry_after=3, times=2)

    for _ in range(2):
        with pytest.raises(RetryAfter) as raised:
            await bot.send_message(chat_id=1, text="hello")
        assert _seconds(raised.value.retry_after) == 3
    await bot.send_message(chat_id=1, text="hello")

    calls = fake.calls_to("sendMessage")
    assert [call.status for call in calls] == [429, 429, 200]
    assert calls[0].at <= calls[1].at <= calls[2].at
    assert fake.calls_to("sendMessage")[0].response == {
        "ok": False,
        "error_code": 429,
        "description": "Too Many Requests: retry after 3",
        "parameters": {"retry_after": 3},
    }
    assert fake.sent_texts() == ["hello"]


@pytest.mark.parametrize(
    ("status", "error", "message"),
    [
        (403, Forbidden, "Forbidden: bot was blocked by the user"),
        (400, BadRequest, "Chat not found"),
        (500, NetworkError, "Internal Server Error"),
        (502, NetworkError, "Bad Gateway"),
    ],
)
async def test_scripted_failures_raise_the_sdk_error(
    fake: FakeBotApi, bot: Bot, status: int, error: type[TelegramError], message: str
) -> None:
    fake.fail_next("sendMessage", status)

    with pytest.raises(error) as raised:
        await bot.send_message(chat_id=1, text="hello")

    assert raised.value.message == message
    assert fake.calls_to("sendMessage")[0].status == status
    assert fake.sent_texts() == []


async def test_a_proxy_error_page_is_a_network_error_not_a_bad_request(fake: FakeBotApi, bot: Bot) -> None:
    fake.fail_next("sendMessage", 502, html_body=True)

    with pytest.raises(NetworkError) as raised:
        await bot.send_message(chat_id=1, text="hello")

    assert not isinstance(raised.value, BadRequest)
    assert "Bad Gateway (502). Parsing the server response" in raised.value.message
    [call] = fake.calls_to("sendMessage")
    assert (call.status, call.response, call.ok) == (502, {}, False)


async def test_a_migrated_group_raises_chat_migrated(fake: FakeBotApi, bot: Bot) -> None:
    fake.fail_next("sendMessage", 400, migrate_to_chat_id=-1001234567890)

    with pytest.raises(ChatMigrated) as raised:
        await bot.send_message(chat_id=-123, text="hello")

    assert raised.value.new_chat_id == -1001234567890
    assert fake.calls_to("sendMessage")[0].response["description"] == (
        "Bad Request: group chat was upgraded to a supergroup chat"
    )


async def test_set_webhook_then_get_webhook_info(fake: FakeBotApi, bot: Bot) -> None:
    fake.push_update(private_message("pending"))

    assert await bot.set_webhook(
        "https://hub.example.com/telegram", secret_token="s3cret_-X", allowed_updates=["message", "callback_query"]
    )
    info = await bot.get_webhook_info()

    assert (info.url, info.has_custom_certificate, info.pending_update_count) == (
        "https://hub.example.com/telegram",
        False,
        1,
    )
    assert info.allowed_updates == ("message", "callback_query")
    assert fake.calls_to("setWebhook")[0].params["allowed_updates"] == ["message", "callback_query"]
    assert (fake.webhook_url, fake.webhook_secret) == ("https://hub.example.com/telegram", "s3cret_-X")
    assert fake.webhook_allowed_updates == ["message", "callback_query"]

    assert await bot.delete_webhook(drop_pending_updates=True)
    info = await bot.get_webhook_info()
    assert (info.url, info.pending_update_count) == ("", 0)


@pytest.mark.parametrize(
    ("url", "secret", "message"),
    [
        ("http://hub.example.com/telegram", None, "Bad webhook: an https url must be provided for webhook"),
        ("https://hub.example.com/telegram", BOT_TOKEN, "Secret token contains unallowed characters"),
    ],
)
async def test_set_webhook_refuses_what_telegram_refuses(
    fake: FakeBotApi, bot: Bot, url: str, secret: str | None, message: str
) -> None:
    with pytest.raises(BadRequest) as raised:
        await bot.set_webhook(url, secret_token=secret)

    assert raised.value.message == message
    assert fake.webhook_url == ""


async def test_get_updates_long_polls_until_an_update_arrives(fake: FakeBotApi, bot: Bot) -> None:
    async def push_later() -> None:
        await asyncio.sleep(0.2)
        fake.push_update(private_message("/start"))

    pusher = asyncio.create_task(push_later())
    loop = asyncio.get_running_loop()
    started = loop.time()
    [update] = await bot.get_updates(offset=0, timeout=5)

    await pusher
    assert 0.15 < loop.time() - started < 4
    assert update.update_id == FIRST_UPDATE_ID
    assert update.message is not None and update.message.text == "/start"
    assert update.message.entities[0].type == "bot_command"
    assert fake.calls_to("getUpdates")[0].params == {"offset": "0", "timeout": "5"}


async def test_get_updates_returns_empty_at_timeout_and_offset_confirms(fake: FakeBotApi, bot: Bot) -> None:
    assert await bot.get_updates(timeout=dtm.timedelta(seconds=0.3)) == ()

    first = fake.push_update(private_message("one"))
    second = fake.push_update(private_message("two", message_id=2))
    assert [u.update_id for u in await bot.get_updates()] == [first, second]
    assert [u.update_id for u in await bot.get_updates(limit=1)] == [first]
    assert [u.update_id for u in await bot.get_updates(offset=first + 1)] == [second]
    assert [u.update_id for u in await bot.get_updates(offset=second + 1, timeout=0)] == []
    assert fake.push_update({"update_id": 200_000_000, **group_message("hi")}) == 200_000_000
    assert fake.push_update(group_message("next")) == 200_000_001


async def test_a_newer_get_updates_terminates_the_waiting_one(fake: FakeBotApi, bot: Bot) -> None:
    """Two Bot instances: one Bot's getUpdates share a one-connection pool, so they queue."""
    older = asyncio.create_task(bot.get_updates(timeout=5))
    await asyncio.sleep(0.2)

    async with _bot(fake) as second:
        newer = asyncio.create_task(second.get_updates(timeout=5))
        with pytest.raises(Conflict, match=r"^Conflict: terminated by other getUpdates request"):
            await older
        update_id = fake.push_update(private_message("hello"))

        assert [u.update_id for u in await newer] == [update_id]
    assert [call.status for call in fake.calls_to("getUpdates")] == [409, 200]


async def test_a_poller_that_hangs_up_is_not_answered(fake: FakeBotApi, bot: Bot) -> None:
    abandoned = asyncio.create_task(bot.get_updates(timeout=5))
    await asyncio.sleep(0.2)
    abandoned.cancel()
    await asyncio.sleep(0.1)

    async with _bot(fake) as restarted:
        update_id = fake.push_update(private_message("hello"))
        assert [u.update_id for u in await restarted.get_updates(timeout=1)] == [update_id]
    assert [call.status for call in fake.calls_to("getUpdates")] == [200]


async def test_get_updates_while_a_webhook_is_set_is_a_conflict(fake: FakeBotApi, bot: Bot) -> None:
    await bot.set_webhook("https://hub.example.com/telegram")

    with pytest.raises(Conflict, match="while webhook is active"):
        await bot.get_updates()
    assert fake.calls_to("getUpdates")[0].status == 409


async def test_a_wrong_token_raises_invalid_token_and_is_recorded(fake: FakeBotApi) -> None:
    stranger = _bot(fake, token="123456:wrong")

    with pytest.raises(InvalidToken):
        await stranger.initialize()
    with pytest.raises(InvalidToken):
        await stranger.get_me()
    await stranger.shutdown()

    assert [(call.method, call.status) for call in fake.calls] == [("getMe", 401), ("getMe", 401)]
    assert fake.calls[0].response == {"ok": False, "error_code": 401, "description": "Unauthorized"}


async def test_an_unknown_method_is_404(fake: FakeBotApi, bot: Bot) -> None:
    with pytest.raises(EndPointNotFound):  # do_api_request's name for PTB's InvalidToken on a 404
        await bot.do_api_request("sendTeleportation", api_kwargs={"chat_id": 1})
    assert (fake.calls[-1].method, fake.calls[-1].status) == ("sendTeleportation", 404)
    assert fake.calls[-1].response == {"ok": False, "error_code": 404, "description": "Not Found"}


async def test_wait_for_calls_reports_what_it_saw(fake: FakeBotApi, bot: Bot) -> None:
    fake.fail_next("sendMessage", 403)
    with pytest.raises(Forbidden):
        await bot.send_message(chat_id=1, text="hello")

    with pytest.raises(AssertionError, match="Forbidden: bot was blocked by the user"):
        await fake.wait_for_calls("sendMessage", 1, timeout=0.2)
    assert len(await fake.wait_for_calls("sendMessage", 1, ok_only=False)) == 1


def test_mention_entities_use_utf16_offsets() -> None:
    text = "😀 @supporthub_test_bot /help@supporthub_test_bot a@b.example"

    assert mention_entities(text) == [
        {"offset": 3, "length": 20, "type": "mention"},
        {"offset": 24, "length": 25, "type": "bot_command"},
    ]
    assert mention_entities("/start now") == [{"offset": 0, "length": 6, "type": "bot_command"}]


def test_builders_look_like_telegram_updates() -> None:
    update = group_message("@supporthub_test_bot help", forum=True, message_thread_id=4)

    message = update["message"]
    assert "update_id" not in update
    assert message["chat"] == {"id": -100123, "title": "Supporthub Customers", "type": "supergroup", "is_forum": True}
    assert (message["message_thread_id"], message["is_topic_message"]) == (4, True)
    assert message["entities"] == [{"offset": 0, "length": 20, "type": "mention"}]
    assert message["from"]["id"] == 778 and isinstance(message["date"], int)
    assert private_message(None, caption="/help")["message"]["caption_entities"][0]["type"] == "bot_command"
