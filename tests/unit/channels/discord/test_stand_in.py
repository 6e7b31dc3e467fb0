"""The Discord fake itself, driven by the real discord.py client (REST and Gateway), so the
channel's tests can trust that it speaks what discord.py 2.7 sends and parses."""

from __future__ import annotations

import asyncio
import io
import time
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import discord
import discord.gateway
import discord.http
import discord.utils
import pytest
import yarl

from channels.discord.stand_in import (
    APPLICATION_ID,
    BOT_NAME,
    BOT_TOKEN,
    BOT_USER_ID,
    BUSY_CHANNEL_ID,
    CUSTOMER_GLOBAL_NAME,
    CUSTOMER_ID,
    CUSTOMER_NAME,
    GUILD_ID,
    MAX_CONTENT,
    SUPPORT_CHANNEL_ID,
    FakeDiscord,
)

INTENTS = discord.Intents(guilds=True, guild_messages=True, dm_messages=True, message_content=True)
READY_WAIT = 0.05
"""`guild_ready_timeout`: discord.py waits this long after the last GUILD_CREATE before on_ready (2 s by default)."""
TIMEOUT = 10.0


class Bot(discord.Client):
    """A client that keeps what it hears for the test to await."""

    def __init__(self, *, intents: discord.Intents = INTENTS) -> None:
        super().__init__(intents=intents, guild_ready_timeout=READY_WAIT)
        self.ready = asyncio.Event()
        self.resumed = asyncio.Event()
        self.heard: asyncio.Queue[discord.Message] = asyncio.Queue()

    async def on_ready(self) -> None:
        self.ready.set()

    async def on_resumed(self) -> None:
        self.resumed.set()

    async def on_message(self, message: discord.Message) -> None:
        self.heard.put_nowait(message)

    async def next_message(self, *, author_id: str = CUSTOMER_ID) -> discord.Message:
        """The next message heard from `author_id`, skipping others (the bot's own echoes)."""
        async with asyncio.timeout(TIMEOUT):
            while True:
                message = await self.heard.get()
                if message.author.id == int(author_id):
                    return message


@pytest.fixture
async def fake() -> AsyncIterator[FakeDiscord]:
    discord_ = FakeDiscord()
    await discord_.start()
    yield discord_
    await discord_.stop()


@pytest.fixture
def pointed(fake: FakeDiscord, monkeypatch: pytest.MonkeyPatch) -> None:
    """discord.py's REST root and gateway on the fake, put back after the test."""
    monkeypatch.setattr(discord.http.Route, "BASE", f"{fake.url}/api/v10")
    monkeypatch.setattr(discord.gateway.DiscordWebSocket, "DEFAULT_GATEWAY", yarl.URL(fake.gateway_url))


async def _start(client: discord.Client, ready: asyncio.Event) -> asyncio.Task[None]:
    """`client.start(BOT_TOKEN)` in a task, once `ready` is set; what start raised if it ended first."""
    running = asyncio.create_task(client.start(BOT_TOKEN))
    waiting = asyncio.create_task(ready.wait())
    done, _ = await asyncio.wait({running, waiting}, timeout=TIMEOUT, return_when=asyncio.FIRST_COMPLETED)
    if waiting in done:
        return running
    waiting.cancel()
    if running.done():
        running.result()
    raise AssertionError("the client did not get ready")


async def _stop(client: discord.Client, running: asyncio.Task[None]) -> None:
    await client.close()
    await asyncio.wait_for(running, TIMEOUT)


@pytest.fixture
async def client(fake: FakeDiscord, pointed: None) -> AsyncIterator[Bot]:
    bot = Bot()
    running = await _start(bot, bot.ready)
    yield bot
    await _stop(bot, running)


def _support(client: discord.Client) -> discord.TextChannel:
    channel = client.get_channel(int(SUPPORT_CHANNEL_ID))
    assert isinstance(channel, discord.TextChannel)
    return channel


async def test_login_reads_the_bot_and_its_application_then_the_gateway_makes_it_ready(
    fake: FakeDiscord, client: Bot
) -> None:
    assert [(call.method, call.path, call.status) for call in fake.calls] == [
        ("GET", "/api/v10/users/@me", 200),
        ("GET", "/api/v10/oauth2/applications/@me", 200),
    ]
    assert client.user is not None
    assert (client.user.id, client.user.name, client.user.bot) == (int(BOT_USER_ID), BOT_NAME, True)
    assert client.application_id == int(APPLICATION_ID)
    assert client.application_flags.gateway_message_content_limited

    support = _support(client)
    assert (support.name, support.guild.id, support.guild.name) == ("support", int(GUILD_ID), "Brightdesk")
    general = client.get_channel(int(BUSY_CHANNEL_ID))
    assert isinstance(general, discord.TextChannel) and general.name == "general"
    assert support.guild.me.id == int(BOT_USER_ID)
    assert support.permissions_for(support.guild.me).create_public_threads

    [identify] = fake.identifies
    assert identify["token"] == BOT_TOKEN
    assert identify["intents"] == INTENTS.value
    [connection] = fake.connections
    compression = discord.utils._ActiveDecompressionContext.COMPRESSION_TYPE  # zlib-stream, or zstd-stream
    assert connection.query == {"v": "10", "encoding": "json", "compress": compression}


async def test_a_guild_message_is_heard_and_answered_in_a_thread_started_from_it(
    fake: FakeDiscord, client: Bot
) -> None:
    dispatched = await fake.dispatch_message(channel_id=SUPPORT_CHANNEL_ID, content="Where is my order #42?")

    message = await client.next_message()
    assert message.content == "Where is my order #42?"
    assert message.id == int(dispatched["id"])
    assert (message.author.id, message.author.name, message.author.display_name) == (
        int(CUSTOMER_ID),
        CUSTOMER_NAME,
        CUSTOMER_GLOBAL_NAME,
    )
    assert isinstance(message.author, discord.Member)
    assert message.guild is not None and message.channel == _support(client)

    thread = await message.create_thread(name="Order #42")
    await thread.send("Your order ships today.")

    [started] = await fake.wait_for_threads(1)
    assert started == {
        "id": str(message.id),  # a thread started from a message takes its id
        "parent_id": SUPPORT_CHANNEL_ID,
        "message_id": str(message.id),
        "name": "Order #42",
        "type": 11,
        "auto_archive_duration": 1440,
    }
    [sent] = await fake.wait_for_sent(1)
    assert (sent["channel_id"], sent["content"]) == (str(thread.id), "Your order ships today.")

    await fake.dispatch_in_thread(str(thread.id), "Thanks!")
    answer = await client.next_message()
    assert isinstance(answer.channel, discord.Thread)  # THREAD_CREATE put it in discord.py's cache
    assert (answer.channel.id, answer.channel.parent_id, answer.content) == (
        thread.id,
        int(SUPPORT_CHANNEL_ID),
        "Thanks!",
    )


async def test_a_dm_is_heard_and_answered_in_its_channel(fake: FakeDiscord, client: Bot) -> None:
    await fake.dispatch_dm("Hi, can I get a refund?")

    message = await client.next_message()
    assert message.guild is None
    assert isinstance(message.channel, discord.DMChannel)
    assert message.channel.id == int(fake.dm_channel_id())
    assert message.channel.recipient is None  # built from the message alone: Discord sends no CHANNEL_CREATE
    assert client.get_channel(message.channel.id) is None
    assert (message.author.id, message.author.name, message.content) == (
        int(CUSTOMER_ID),
        CUSTOMER_NAME,
        "Hi, can I get a refund?",
    )

    await message.channel.send("Of course, within 30 days.")

    [sent] = await fake.wait_for_sent(1)
    assert (sent["channel_id"], sent["content"]) == (fake.dm_channel_id(), "Of course, within 30 days.")
    dm = await message.author.create_dm()
    assert (dm.id, dm.recipient and dm.recipient.id) == (int(fake.dm_channel_id()), int(CUSTOMER_ID))


async def test_the_bot_hears_its_own_messages_as_on_discord(fake: FakeDiscord, client: Bot) -> None:
    sent = await _support(client).send("Hello from the bot")

    echo = await client.next_message(author_id=BOT_USER_ID)

    assert (echo.id, echo.content, echo.author.id) == (sent.id, "Hello from the bot", int(BOT_USER_ID))


async def test_a_reply_refers_to_the_message(fake: FakeDiscord, client: Bot) -> None:
    await fake.dispatch_message(channel_id=SUPPORT_CHANNEL_ID, content="Is it in stock?")
    message = await client.next_message()

    reply = await message.reply("Yes, 12 left.")

    assert reply.type is discord.MessageType.reply
    assert reply.reference is not None and reply.reference.message_id == message.id
    assert fake.sent[0]["message_reference"]["message_id"] == message.id  # discord.py sends ids as JSON numbers
    unknown = discord.MessageReference(message_id=1, channel_id=message.channel.id)
    with pytest.raises(discord.HTTPException) as raised:
        await message.channel.send("Hm?", reference=unknown)
    assert (raised.value.status, raised.value.code) == (400, 50035)


async def test_an_overlong_or_empty_message_is_refused(fake: FakeDiscord, client: Bot) -> None:
    support = _support(client)
    await support.send("x" * MAX_CONTENT)

    with pytest.raises(discord.HTTPException) as raised:
        await support.send("x" * (MAX_CONTENT + 1))
    assert (raised.value.status, raised.value.code) == (400, 50035)
    assert "In content: Must be 2000 or fewer in length." in raised.value.text
    with pytest.raises(discord.HTTPException) as empty:
        await support.send("")
    assert (empty.value.code, empty.value.text) == (50006, "Cannot send an empty message")
    assert len(fake.sent) == 1


async def test_a_wrong_token_fails_login(fake: FakeDiscord, pointed: None) -> None:
    bot = Bot()
    try:
        with pytest.raises(discord.LoginFailure):
            await bot.login("MTA5.wrong.token")
    finally:
        await bot.close()

    [call] = fake.calls
    assert (call.path, call.authorized, call.status, call.response) == (
        "/api/v10/users/@me",
        False,
        401,
        {"message": "401: Unauthorized", "code": 0},
    )


async def test_discord_py_waits_out_a_429_and_sends_once(fake: FakeDiscord, client: Bot) -> None:
    fake.fail_next(429, retry_after=0.1)

    await _support(client).send("Sorry for the wait")

    [limited, accepted] = [call for call in fake.calls if call.method == "POST"]
    assert (limited.status, limited.response["retry_after"], accepted.status) == (429, 0.1, 200)
    assert accepted.at - limited.at >= 0.1
    assert [sent["content"] for sent in fake.sent] == ["Sorry for the wait"]


async def test_a_nonce_sent_again_answers_the_first_message(fake: FakeDiscord, client: Bot) -> None:
    support = _support(client)

    first = await support.send("Your ticket is #7", nonce=1234)
    again = await support.send("Your ticket is #7", nonce=1234)

    assert again.id == first.id
    assert [sent["nonce"] for sent in fake.sent] == ["1234"]
    assert [call.status for call in fake.calls if call.method == "POST"] == [200, 200]


async def test_a_scripted_failure_raises_with_discords_code(fake: FakeDiscord, client: Bot) -> None:
    fake.fail_next(403, code=50013)

    with pytest.raises(discord.Forbidden) as raised:
        await _support(client).send("Hello")

    assert (raised.value.code, raised.value.text) == (50013, "Missing Permissions")
    assert fake.sent == []


async def test_typing_fetching_a_channel_and_a_private_thread(fake: FakeDiscord, client: Bot) -> None:
    support = _support(client)

    await support.typing()
    fetched = await client.fetch_channel(int(SUPPORT_CHANNEL_ID))
    thread = await support.create_thread(name="Refund for Ada")

    assert fake.typing == [SUPPORT_CHANNEL_ID]
    assert isinstance(fetched, discord.TextChannel) and fetched.name == "support"
    assert thread.type is discord.ChannelType.private_thread
    assert fake.threads[0]["message_id"] is None
    with pytest.raises(discord.NotFound) as raised:
        await client.fetch_channel(1)
    assert raised.value.code == 10003


async def test_attachments_are_served_from_signed_links(fake: FakeDiscord, client: Bot) -> None:
    invoice = fake.add_attachment(b"%PDF-1.7 invoice", "application/pdf", "invoice 42.pdf")
    await fake.dispatch_message(channel_id=SUPPORT_CHANNEL_ID, content="My invoice", attachments=[invoice])

    message = await client.next_message()
    [attachment] = message.attachments
    assert (attachment.filename, attachment.size, attachment.content_type) == ("invoice_42.pdf", 16, "application/pdf")
    assert await attachment.read() == b"%PDF-1.7 invoice"
    async with aiohttp.ClientSession() as http, http.get(attachment.url.replace("hm=", "hm=0")) as tampered:
        assert (tampered.status, await tampered.text()) == (404, "This content is no longer available.")
    assert [(download.authorized, download.status) for download in fake.downloads] == [(False, 200), (False, 404)]

    reply = await message.channel.send("Here is the receipt", file=discord.File(io.BytesIO(b"paid"), "receipt.txt"))
    assert fake.sent[0]["files"] == [{"filename": "receipt.txt", "data": b"paid"}]
    assert reply.attachments[0].content_type == "text/plain"
    assert await reply.attachments[0].read() == b"paid"


async def test_a_dropped_connection_resumes_and_replays_what_was_missed(fake: FakeDiscord, client: Bot) -> None:
    assert client.ws is not None
    session_id = client.ws.session_id

    assert await fake.close_connections(4000) == 1
    await fake.dispatch_message(channel_id=SUPPORT_CHANNEL_ID, content="Still there?")

    resume = await fake.wait_for_resume()
    await asyncio.wait_for(client.resumed.wait(), TIMEOUT)
    assert (resume["session_id"], resume["seq"]) == (session_id, 2)  # READY, GUILD_CREATE
    assert (await client.next_message()).content == "Still there?"
    assert len(fake.identifies) == 1
    assert len(fake.connections) == 2


async def test_without_message_content_guild_text_arrives_empty_unless_the_bot_is_mentioned(
    fake: FakeDiscord, pointed: None
) -> None:
    bot = Bot(intents=discord.Intents(guilds=True, guild_messages=True, dm_messages=True))
    running = await _start(bot, bot.ready)
    try:
        await fake.dispatch_message(channel_id=SUPPORT_CHANNEL_ID, content="anyone?")
        await fake.dispatch_message(channel_id=SUPPORT_CHANNEL_ID, content="help please", mentions_bot=True)
        await fake.dispatch_dm("hello")

        assert (await bot.next_message()).content == ""
        mentioned = await bot.next_message()
        assert mentioned.content == f"<@{BOT_USER_ID}> help please"
        assert bot.user in mentioned.mentions
        assert (await bot.next_message()).content == "hello"
    finally:
        await _stop(bot, running)


async def test_a_privileged_intent_not_switched_on_stops_the_client(fake: FakeDiscord, pointed: None) -> None:
    bot = Bot(intents=INTENTS | discord.Intents(presences=True))
    try:
        with pytest.raises(discord.PrivilegedIntentsRequired):
            await _start(bot, bot.ready)
    finally:
        await bot.close()
    assert fake.identifies == []


async def test_the_members_intent_gets_the_guild_chunked_before_ready(fake: FakeDiscord, pointed: None) -> None:
    bot = Bot(intents=INTENTS | discord.Intents(members=True))
    started = time.monotonic()
    running = await _start(bot, bot.ready)
    try:
        guild = bot.get_guild(int(GUILD_ID))
        assert guild is not None and guild.chunked
        customer = guild.get_member(int(CUSTOMER_ID))
        assert customer is not None and customer.global_name == CUSTOMER_GLOBAL_NAME
        assert time.monotonic() - started < 5  # answered, not discord.py's chunk timeout
    finally:
        await _stop(bot, running)


async def test_an_auto_sharded_client_connects_where_gateway_bot_says(fake: FakeDiscord, pointed: None) -> None:
    bot = discord.AutoShardedClient(intents=INTENTS, guild_ready_timeout=READY_WAIT)
    ready = asyncio.Event()

    async def on_ready() -> None:
        ready.set()

    bot.event(on_ready)
    running = await _start(bot, ready)
    try:
        assert "/api/v10/gateway/bot" in [call.path for call in fake.calls]
        assert fake.identifies[0]["shard"] == [0, 1]
        assert bot.get_channel(int(SUPPORT_CHANNEL_ID)) is not None
    finally:
        await _stop(bot, running)


async def _gateway_close(fake: FakeDiscord, *payloads: dict[str, Any]) -> int | None:
    """Connect (uncompressed), send `payloads` after HELLO, and return the code the fake closed with."""
    async with aiohttp.ClientSession() as http, http.ws_connect(f"{fake.gateway_url}?v=10&encoding=json") as socket:
        assert (await socket.receive_json())["op"] == 10
        for payload in payloads:
            await socket.send_json(payload)
        while (await socket.receive()).type is aiohttp.WSMsgType.TEXT:
            pass
        return socket.close_code


@pytest.mark.parametrize(
    ("payloads", "code"),
    [
        ([{"op": 2, "d": {"token": "wrong", "intents": 513, "properties": {}}}], 4004),
        ([{"op": 2, "d": {"token": BOT_TOKEN, "properties": {}}}], 4013),
        ([{"op": 8, "d": {"guild_id": GUILD_ID}}], 4003),
        ([{"op": 99, "d": None}], 4001),
        ([{"op": 1, "d": None}, {"op": 2, "d": {"token": BOT_TOKEN, "intents": 1}}, {"op": 2, "d": {}}], 4005),
    ],
)
async def test_the_gateway_closes_as_discord_does(fake: FakeDiscord, payloads: list[dict[str, Any]], code: int) -> None:
    assert await _gateway_close(fake, *payloads) == code


async def test_the_gateway_wants_version_10(fake: FakeDiscord) -> None:
    async with aiohttp.ClientSession() as http, http.ws_connect(f"{fake.gateway_url}?v=9&encoding=json") as socket:
        frame = await socket.receive()
    assert (frame.type, frame.data, frame.extra) == (aiohttp.WSMsgType.CLOSE, 4012, "Invalid API version")


async def test_rest_answers_exactly_json_through_googles_load_balancer(fake: FakeDiscord) -> None:
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{fake.url}/api/v10/users/@me", headers={"Authorization": f"Bot {BOT_TOKEN}"}) as me:
            assert (me.status, me.headers["Content-Type"], me.headers["Via"]) == (200, "application/json", "1.1 google")
            assert (await me.json())["bot"] is True
        async with http.get(f"{fake.url}/api/v10/nothing/here") as missing:
            assert (missing.status, await missing.json()) == (404, {"message": "404: Not Found", "code": 0})
