"""`supporthub doctor` proves the Discord bot's token against Discord's HTTP API (the fake) and
reads its support channel, opening no gateway connection and sending nothing, and names a wrong
token without printing it: the lines docs/channels/discord.md shows."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from channels.discord.stand_in import (
    BOT_DISCRIMINATOR,
    BOT_NAME,
    BOT_TOKEN,
    BOT_USER_ID,
    SUPPORT_CHANNEL_ID,
    FakeDiscord,
)
from tests.integration.test_doctor import assert_no_secret, doctor, migrated  # noqa: F401 — the fixture

DISCORD_OK = f"bot {BOT_NAME}#{BOT_DISCRIMINATOR} ({BOT_USER_ID}), support channels #support"
"""The OK line's detail as docs/channels/discord.md shows it (the fake's bot and its #support)."""
WRONG_TOKEN = "Discord refused the bot token (HTTP 401)"


@pytest.fixture
async def discord_api() -> AsyncIterator[FakeDiscord]:
    fake = FakeDiscord()
    await fake.start()
    yield fake
    await fake.stop()


def discord_env(fake: FakeDiscord) -> dict[str, str]:
    return {
        "SUPPORTHUB_DISCORD__BOT_TOKEN": BOT_TOKEN,
        "SUPPORTHUB_DISCORD__SUPPORT_CHANNELS": json.dumps([SUPPORT_CHANNEL_ID]),
        "SUPPORTHUB_DISCORD__API_URL": f"{fake.url}/api",
        "SUPPORTHUB_DISCORD__GATEWAY_URL": fake.gateway_url,
    }


async def test_doctor_signs_the_bot_in_reads_its_support_channel_and_names_a_wrong_token(
    discord_api: FakeDiscord, migrated: str, indexed_data_dir: Path
) -> None:
    env = {
        "SUPPORTHUB_DATA_DIR": str(indexed_data_dir),
        "SUPPORTHUB_DATABASE_URL": migrated,
        **discord_env(discord_api),
    }
    good = await doctor(env)
    assert good.lines["discord"] == ("OK", DISCORD_OK), good.output
    assert discord_api.sent == [] and discord_api.threads == [] and discord_api.typing == []  # nothing sent
    assert discord_api.identifies == [] and discord_api.connections == []  # no gateway connection
    assert {(call.method, call.authorized) for call in discord_api.calls} == {("GET", True)}
    assert f"/api/v10/channels/{SUPPORT_CHANNEL_ID}" in [call.path for call in discord_api.calls]
    assert_no_secret(good, env)

    wrong = {**env, "SUPPORTHUB_DISCORD__BOT_TOKEN": "MTA5wrong.doctor.discord-bot-token"}
    refused = await doctor(wrong)
    assert refused.returncode == 1, refused.output
    assert refused.lines["discord"] == ("FAIL", WRONG_TOKEN), refused.output
    assert "discord" in refused.summary
    assert discord_api.sent == [] and discord_api.identifies == [] and discord_api.connections == []
    assert_no_secret(refused, wrong)


async def test_doctor_says_when_the_message_content_intent_is_off(migrated: str, indexed_data_dir: Path) -> None:
    fake = FakeDiscord(privileged_intents=0)  # the Developer Portal's switches all off
    await fake.start()
    try:
        env = {"SUPPORTHUB_DATA_DIR": str(indexed_data_dir), "SUPPORTHUB_DATABASE_URL": migrated, **discord_env(fake)}
        refused = await doctor(env)
    finally:
        await fake.stop()
    status, detail = refused.lines["discord"]
    assert (status, refused.returncode) == ("FAIL", 1) and detail.startswith("the Message Content intent is off")
