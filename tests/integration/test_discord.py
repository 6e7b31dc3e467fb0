"""Discord end to end: the real app and the real discord.py, connected to a local fake of Discord's
gateway and HTTP API (`channels.discord.stand_in`), and the survey's buttons pressed through the
interactions endpoint with requests signed by a test Ed25519 key, as Discord signs them."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from pydantic import SecretStr
from sqlalchemy import select

from channels.discord.settings import DiscordSettings
from channels.discord.stand_in import (
    BOT_TOKEN,
    BUSY_CHANNEL_ID,
    CUSTOMER_ID,
    SUPPORT_CHANNEL_ID,
    FakeDiscord,
)
from channels.slack.stand_in import FakeSlack
from core.cli.server import RUNTIME, create_app
from core.settings import AdminSettings, OutboxSettings, Settings
from core.store.case_tables import CaseRating
from core.store.db import AttachmentRow, Conversation, Message, OutboxItem
from tests.app_client import AppClient
from tests.integration.app_db import count
from tests.integration.staff_desk_steps import desk_settings, staff_replies
from tests.integration.staff_steps import on_staff
from tests.settle import until

TOKEN = "dashboard-token-of-the-lead"
BEARER = {"Authorization": f"Bearer {TOKEN}"}
ASK_FOR_PERSON = "I want to talk to a human please"
APP_KEY = Ed25519PrivateKey.generate()
PUBLIC_KEY = APP_KEY.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw).hex()
OTHER_MEMBER = "1200000000000000002"


def discord_settings(fake: FakeDiscord) -> DiscordSettings:
    return DiscordSettings(
        bot_token=SecretStr(BOT_TOKEN),
        support_channels=[SUPPORT_CHANNEL_ID],
        public_key=PUBLIC_KEY,
        api_url=f"{fake.url}/api",
        gateway_url=fake.gateway_url,
    )


@pytest.fixture
def settings_for(make_settings: Callable[..., Settings], discord_fake: FakeDiscord) -> Callable[..., Settings]:
    def make(**overrides: Any) -> Settings:
        return make_settings(
            discord=discord_settings(discord_fake),
            admin=AdminSettings(token=SecretStr(TOKEN)),
            outbox=OutboxSettings(poll_interval_s=0.2, backoff_base_s=0.2),
            **overrides,
        )

    return make


async def connected(client: AppClient, fake: FakeDiscord) -> AppClient:
    """The hub once its gateway session is identified (messages before that would not reach it)."""
    await fake.wait_for_identify()
    return client


@pytest.fixture
async def client(
    aiohttp_client: Callable[..., Any], settings_for: Callable[..., Settings], discord_fake: FakeDiscord
) -> AppClient:
    client: AppClient = await aiohttp_client(create_app(settings_for()))
    await on_staff(client.app)  # the inbox takes cases
    return await connected(client, discord_fake)


async def case_id(client: AppClient) -> str:
    async def queue() -> list[dict[str, Any]]:
        listed: list[dict[str, Any]] = await (await client.get("/admin/api/inbox", headers=BEARER)).json()
        return listed

    return str((await until(queue, what="the case in the inbox"))[0]["case"]["id"])


async def inbox_reply(client: AppClient, case: str, text: str) -> None:
    sent = await client.post(f"/admin/inbox/{case}/reply", data={"text": text}, headers=BEARER, allow_redirects=False)
    assert sent.status == 303


async def discord_presses(client: AppClient, interaction: dict[str, Any], *, key: Ed25519PrivateKey = APP_KEY) -> Any:
    """Discord posting an interaction to the hub, signed as Discord signs it."""
    body = json.dumps(interaction).encode()
    timestamp = str(int(time.time()))
    headers = {
        "Content-Type": "application/json",
        "X-Signature-Ed25519": key.sign(timestamp.encode() + body).hex(),
        "X-Signature-Timestamp": timestamp,
    }
    return await client.post("/discord/interactions", data=body, headers=headers)


def button_press(custom_id: str, channel_id: str, *, user_id: str = CUSTOMER_ID) -> dict[str, Any]:
    return {
        "id": "1300000000000000001",
        "application_id": "1098765432109876543",
        "type": 3,
        "token": "interaction-token",
        "version": 1,
        "channel_id": channel_id,
        "guild_id": "1100000000000000001",
        "member": {"user": {"id": user_id, "username": "ada_lovelace"}, "roles": []},
        "data": {"custom_id": custom_id, "component_type": 2},
    }


async def test_a_question_in_the_support_channel_opens_a_thread_answered_there_with_sources(
    client: AppClient, discord_fake: FakeDiscord
) -> None:
    asked = await discord_fake.dispatch_message(channel_id=SUPPORT_CHANNEL_ID, content="How do I reset my password?")
    (answer,) = await discord_fake.wait_for_sent(1)
    (thread,) = discord_fake.threads
    assert thread["message_id"] == asked["id"] and answer["channel_id"] == thread["id"] == asked["id"]
    assert "password" in answer["content"].lower() and "Source" in answer["content"]
    assert answer["allowed_mentions"] == {"parse": []}  # pings nobody
    assert thread["id"] in discord_fake.typing
    await discord_fake.dispatch_in_thread(thread["id"], "And how do I export my data?")
    await discord_fake.wait_for_sent(2)
    assert await count(client, Conversation) == 1 and await count(client, Message, Message.author == "customer") == 2


async def test_in_a_busy_channel_only_a_mention_is_answered_and_the_mention_is_not_part_of_the_question(
    client: AppClient, discord_fake: FakeDiscord
) -> None:
    await discord_fake.dispatch_message(channel_id=BUSY_CHANNEL_ID, content="lunch anyone?")
    await discord_fake.dispatch_message(
        channel_id=BUSY_CHANNEL_ID, content="How do I reset my password?", mentions_bot=True
    )
    (answer,) = await discord_fake.wait_for_sent(1)  # the mention's: the message before it was read first
    assert "password" in answer["content"].lower() and len(discord_fake.threads) == 1
    async with client.app[RUNTIME].sessionmaker() as session:
        assert (await session.execute(select(Message.text).where(Message.author == "customer"))).scalars().all() == [
            "How do I reset my password?"
        ]


async def test_a_direct_message_is_answered_in_the_dm_and_a_replayed_event_once(
    client: AppClient, discord_fake: FakeDiscord
) -> None:
    message = await discord_fake.dispatch_dm("How do I export my data?")
    await discord_fake.dispatch_dm("How do I export my data?", message_id=message["id"])  # the same event again
    await discord_fake.dispatch_dm("How do I reset my password?")
    sent = await discord_fake.wait_for_sent(2)
    assert {body["channel_id"] for body in sent} == {discord_fake.dm_channel_id()} and discord_fake.threads == []
    assert len(discord_fake.sent) == 2 and await count(client, Message, Message.author == "customer") == 2


async def test_a_photo_is_fetched_from_discords_cdn(client: AppClient, discord_fake: FakeDiscord) -> None:
    photo = b"\x89PNG\r\n\x1a\n a screenshot of the error"
    attachment = discord_fake.add_attachment(photo, "image/png", "error.png")
    await discord_fake.dispatch_message(
        channel_id=SUPPORT_CHANNEL_ID, content="This shows up", attachments=[attachment]
    )
    await discord_fake.wait_for_sent(1)
    async with client.app[RUNTIME].sessionmaker() as session:
        (kept,) = (await session.execute(select(AttachmentRow))).scalars().all()
    assert (kept.filename, kept.content_type, kept.size) == ("error.png", "image/png", len(photo))


async def test_staff_replies_from_slack_and_the_inbox_reach_the_thread_and_a_late_one_unarchives_it(
    aiohttp_client: Callable[..., Any],
    settings_for: Callable[..., Settings],
    discord_fake: FakeDiscord,
    slack: FakeSlack,
) -> None:
    client = await connected(await aiohttp_client(create_app(settings_for(slack=desk_settings(slack)))), discord_fake)
    await discord_fake.dispatch_message(channel_id=SUPPORT_CHANNEL_ID, content=ASK_FOR_PERSON)
    (offer,) = await discord_fake.wait_for_sent(1)
    assert "person" in offer["content"]
    thread = offer["channel_id"]
    await staff_replies(client, slack, "Hi, Sam here. I've reset it for you.", ts="1700000200.000100")
    assert (await discord_fake.wait_for_sent(2))[1]["content"] == "Hi, Sam here. I've reset it for you."
    discord_fake.archive_thread(thread)  # a day of quiet: Discord archives the thread
    await inbox_reply(client, await case_id(client), "Anything else I can do?")
    late = (await discord_fake.wait_for_sent(3))[2]
    assert (late["channel_id"], late["content"]) == (thread, "Anything else I can do?")
    assert discord_fake.unarchived == [thread]


async def test_a_customer_who_closed_their_dms_is_marked_unreachable(
    client: AppClient, discord_fake: FakeDiscord
) -> None:
    discord_fake.fail_next(403, code=50007)  # "Cannot send messages to this user"
    await discord_fake.dispatch_dm("How do I reset my password?")

    async def unreachable() -> str | None:
        async with client.app[RUNTIME].sessionmaker() as session:
            return (await session.execute(select(Conversation.unreachable_reason))).scalars().first()

    assert "50007" in await until(unreachable, what="the conversation marked unreachable")
    assert discord_fake.sent == [] and await count(client, OutboxItem, OutboxItem.status == "dead") == 1


async def test_a_forged_interaction_is_401_and_a_signed_ping_is_answered(client: AppClient) -> None:
    forged = await discord_presses(client, {"type": 1}, key=Ed25519PrivateKey.generate())
    assert forged.status == 401
    unsigned = await client.post("/discord/interactions", json={"type": 1})
    assert unsigned.status == 401
    ping = await discord_presses(client, {"type": 1})
    assert ping.status == 200 and await ping.json() == {"type": 1}


async def test_the_surveys_scores_are_buttons_only_the_customer_can_press_once(
    client: AppClient, discord_fake: FakeDiscord
) -> None:
    await discord_fake.dispatch_message(channel_id=SUPPORT_CHANNEL_ID, content=ASK_FOR_PERSON)
    thread = (await discord_fake.wait_for_sent(1))[0]["channel_id"]
    case = await case_id(client)
    assert (await client.post(f"/admin/inbox/{case}/resolve", headers=BEARER, allow_redirects=False)).status == 303
    question = await until(
        lambda: next((body for body in discord_fake.sent if body.get("components")), None), what="the survey"
    )
    buttons = question["components"][0]["components"]
    assert [button["label"] for button in buttons] == ["1 (bad)", "2", "3", "4", "5 (great)"]
    stranger = await discord_presses(client, button_press(buttons[0]["custom_id"], thread, user_id=OTHER_MEMBER))
    assert (await stranger.json())["data"]["content"] == "Only the person this survey asked can answer it."
    pressed = await discord_presses(client, button_press(buttons[4]["custom_id"], thread))
    again = await discord_presses(client, button_press(buttons[4]["custom_id"], thread))
    assert (await pressed.json())["data"] == {"content": "Thank you for your rating: 5 of 5.", "flags": 64}
    assert (await again.json())["data"]["content"] == "This survey is closed."
    async with client.app[RUNTIME].sessionmaker() as session:
        assert (await session.execute(select(CaseRating.score))).scalars().all() == [5]
