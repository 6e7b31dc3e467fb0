"""docs/channels/discord.md's examples hold: every `SUPPORTHUB_DISCORD__…` variable and
`discord.…` setting it names is a setting and its examples load, every TOML block loads into
`DiscordSettings` with no secret in it, the interactions path it names is the channel's route,
the reply it shows is what the channel's renderer writes, and the `supporthub doctor` lines it
shows are what the channel's `check()` says against the fake of Discord (the OK line is also the
one tests/integration/test_discord_doctor.py sees `supporthub doctor` print). And the example
settings file's `[discord]`, commented out there, loads once uncommented."""

from __future__ import annotations

import os
import re
import shlex
import textwrap
import tomllib
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from channels.discord import DiscordChannel
from channels.discord.channel import INTERACTIONS_PATH
from channels.discord.format import discord_parts
from channels.discord.settings import DiscordSettings
from channels.discord.stand_in import BOT_TOKEN, SUPPORT_CHANNEL_ID, FakeDiscord
from core.channel import CheckFailed
from core.messages import Citation
from core.pipeline.hub_gate import HubGate
from core.settings import Settings, SettingsError, load_settings
from tests.integration.test_discord_doctor import DISCORD_OK, WRONG_TOKEN

ROOT = Path(__file__).resolve().parents[4]
PAGE = (ROOT / "docs" / "channels" / "discord.md").read_text(encoding="utf-8")
EXAMPLE_CONFIG = (ROOT / "config" / "supporthub.example.toml").read_text(encoding="utf-8")
SECRETS = ("bot_token",)
DUMMY_TOKEN = SecretStr("dummy-discord-bot-token")

NAMED = re.compile(r"\bSUPPORTHUB_DISCORD__([A-Z][A-Z_]*)")
ASSIGNED = re.compile(r"\bSUPPORTHUB_DISCORD__([A-Z][A-Z_]*)=('[^'\n]*'|\"[^\"\n]*\"|[^\s`\\'\"]+)")
SETTING = re.compile(r"`discord\.([a-z_]+)`")
FENCE = re.compile(r"^([ \t]*)(`{3,})(\w*)[^\n]*\n(.*?)^\1\2[ \t]*$", re.MULTILINE | re.DOTALL)
DOCTOR_LINE = re.compile(r"^(OK|FAIL)\s+discord\s+(.+)$", re.MULTILINE)
UNKNOWN_CHANNEL = re.compile(r"^support channel (\d+): ")
INTERACTIONS = re.compile(r"/discord/interactions\b")

SHOWN_ANSWER = """## Reset your password

1. Open **Settings › Security**.
2. Choose *Reset password* and follow [the guide](https://help.example.com/reset).

| plan | price |
|---|---|
| Team | 8 € |
| Business | 15 € |
"""
"""The answer (as the hub writes it, in markdown) whose Discord message the page shows."""
SHOWN_SOURCES = (
    Citation(
        "https://help.example.com/reset", "Resetting your password", "", 0.9, url="https://help.example.com/reset"
    ),
    Citation("plans.md", "Plans and prices", "", 0.8),
)


def blocks(language: str) -> list[str]:
    """The page's fenced blocks of `language`, dedented (a block in a list item is indented)."""
    return [textwrap.dedent(body) for _indent, _fence, lang, body in FENCE.findall(PAGE) if lang == language]


def assignments(text: str) -> dict[str, str]:
    """The `SUPPORTHUB_DISCORD__<KEY>=value` assignments in `text`, by key, as the shell reads the value."""
    return {key.lower(): shlex.split(value)[0] for key, value in ASSIGNED.findall(text)}


def shown(value: Any) -> Any:
    """A setting's value as the environment writes it (a list as the JSON it is given in)."""
    if isinstance(value, SecretStr):
        return value.get_secret_value()
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, list):
        return value
    return str(value)


def env_value(key: str, value: str) -> Any:
    """An assignment's value as `shown` gives the setting it sets."""
    return tomllib.loads(f"v = {value}")["v"] if key == "support_channels" else value


@pytest.fixture
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    """No `SUPPORTHUB_DISCORD__…` but what a test sets."""
    for name in list(os.environ):
        if name.startswith("SUPPORTHUB_DISCORD__"):
            monkeypatch.delenv(name)
    yield monkeypatch


def load_with(environment: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> DiscordSettings:
    """The `[discord]` section an empty config file and `environment` give."""
    for key, value in environment.items():
        monkeypatch.setenv(f"SUPPORTHUB_DISCORD__{key.upper()}", value)
    config = tmp_path / "empty.toml"
    config.write_text("", encoding="utf-8")
    return load_settings(config).section(DiscordSettings)


def test_every_variable_and_setting_the_page_names_is_a_setting_and_its_table_has_them_all() -> None:
    fields = set(DiscordSettings.model_fields)
    named = {key.lower() for key in NAMED.findall(PAGE)} | set(SETTING.findall(PAGE))
    assert named <= fields, sorted(named - fields)
    assert {"bot_token", "support_channels", "public_key"} <= named
    table = PAGE.split("## Settings", 1)[1].split("\n## ", 1)[0]
    for field in fields:
        assert f"| `{field}`" in table or f", `{field}`" in table, f"{field} is missing from the settings table"


@pytest.mark.parametrize("example", blocks("sh"))
def test_each_shell_example_loads(example: str, tmp_path: Path, clean_environment: pytest.MonkeyPatch) -> None:
    environment = assignments(example)
    settings = load_with(environment, tmp_path, clean_environment)
    if environment:
        assert settings.enabled, example
    for key, value in environment.items():
        assert shown(getattr(settings, key)) == env_value(key, value), key


def test_every_assignment_on_the_page_loads(tmp_path: Path, clean_environment: pytest.MonkeyPatch) -> None:
    environment = assignments(PAGE)
    assert {"bot_token", "support_channels"} <= set(environment)
    settings = load_with(environment, tmp_path, clean_environment)
    assert settings.enabled
    for key, value in environment.items():
        assert shown(getattr(settings, key)) == env_value(key, value), key


def test_every_toml_block_loads_into_the_section_with_its_token_from_elsewhere() -> None:
    examples = blocks("toml")
    assert examples
    for example in examples:
        sections = tomllib.loads(example)
        assert set(sections) == {"discord"}, example
        values = sections["discord"]
        assert not set(values) & set(SECRETS), f"a secret in the page's [discord]: {example}"
        assert set(values) <= set(DiscordSettings.model_fields), sorted(set(values) - set(DiscordSettings.model_fields))
        loaded = DiscordSettings.model_validate({**values, "bot_token": DUMMY_TOKEN})
        assert loaded.enabled, example
        for key, value in values.items():
            assert getattr(loaded, key) == value, key


def test_a_token_in_the_file_is_refused_as_the_page_says(tmp_path: Path) -> None:
    assert "the bot token is read only from the environment" in " ".join(PAGE.split())
    config = tmp_path / "discord.toml"
    config.write_text('[discord]\nbot_token = "in-the-file"\n', encoding="utf-8")
    with pytest.raises(SettingsError, match=r"SUPPORTHUB_DISCORD__BOT_TOKEN"):
        load_settings(config)


def test_the_setting_errors_the_page_quotes_are_the_settings(tmp_path: Path) -> None:
    config = tmp_path / "discord.toml"
    config.write_text('[discord]\nsupport_channels = ["general"]\n', encoding="utf-8")
    with pytest.raises(SettingsError) as refused:
        load_settings(config)
    assert f"`supporthub: invalid setting {refused.value}`" in " ".join(PAGE.replace("\n  ", " ").split())


def channel(**section: Any) -> DiscordChannel:
    """The channel built as `serve` and `doctor` build it, its section from `section`."""
    settings = Settings(discord=DiscordSettings(**{"bot_token": DUMMY_TOKEN, **section}))
    return DiscordChannel(settings, HubGate().port)


def test_the_interactions_path_the_page_names_is_the_channels_route_and_only_with_the_key() -> None:
    assert {match.group(0) for match in INTERACTIONS.finditer(PAGE)} == {INTERACTIONS_PATH}
    assert f"`https://YOUR-HUB{INTERACTIONS_PATH}`" in PAGE
    (key,) = {tomllib.loads(example)["discord"].get("public_key") for example in blocks("toml")} - {None}
    routes = {(route.method, route.path) for route in channel(public_key=key).routes()}  # type: ignore[attr-defined]
    assert routes == {("POST", INTERACTIONS_PATH)}
    assert channel().routes() == []  # "only while `public_key` is set"
    assert f"`POST {INTERACTIONS_PATH}` only while `public_key` is set" in " ".join(PAGE.split())


def test_the_reply_the_page_shows_is_what_the_channel_sends() -> None:
    (shown_reply,) = [block for block in blocks("text") if "Sources:" in block]
    assert discord_parts(SHOWN_ANSWER, SHOWN_SOURCES) == [shown_reply.rstrip("\n")]


@pytest.fixture
async def discord_api() -> AsyncIterator[FakeDiscord]:
    fake = FakeDiscord()
    await fake.start()
    yield fake
    await fake.stop()


async def test_the_doctor_lines_on_the_page_are_what_check_says(discord_api: FakeDiscord) -> None:
    lines = DOCTOR_LINE.findall("\n".join(blocks("text")))
    assert [status for status, _detail in lines] == ["OK", "FAIL", "FAIL"], lines
    where = {"api_url": f"{discord_api.url}/api", "gateway_url": discord_api.gateway_url}
    for status, detail in lines:
        if status == "OK":
            checked = channel(bot_token=SecretStr(BOT_TOKEN), support_channels=[SUPPORT_CHANNEL_ID], **where)
            assert detail == await checked.check() == DISCORD_OK  # doctor prints it
            continue
        unknown = UNKNOWN_CHANNEL.match(detail)
        token = BOT_TOKEN if unknown else "MTA5wrong.docs.discord-bot-token"
        listed = [SUPPORT_CHANNEL_ID, unknown.group(1)] if unknown else [SUPPORT_CHANNEL_ID]
        checked = channel(bot_token=SecretStr(token), support_channels=listed, **where)
        with pytest.raises(CheckFailed) as failed:
            await checked.check()
        assert detail == str(failed.value) and token not in detail
        assert unknown is not None or detail == WRONG_TOKEN
    assert discord_api.sent == [] and discord_api.threads == [] and discord_api.typing == []
    assert discord_api.identifies == [] and discord_api.connections == []  # no gateway connection


def test_the_example_settings_files_discord_section_is_commented_out_and_loads_uncommented() -> None:
    assert "discord" not in tomllib.loads(EXAMPLE_CONFIG)  # without the extra, a [discord] stops start-up
    assert "discord.bot_token" in EXAMPLE_CONFIG.split("\n\n", 1)[0]  # the header's environment-only list
    start = EXAMPLE_CONFIG.index("# [discord]\n")
    commented = EXAMPLE_CONFIG[start : EXAMPLE_CONFIG.index("\n\n", start)].splitlines()
    uncommented = [line.removeprefix("# ") for line in commented]
    toml = "\n".join(line for line in uncommented if line == "[discord]" or re.match(r"[a-z_]+ = ", line))
    values = tomllib.loads(toml)["discord"]
    assert set(values) == set(DiscordSettings.model_fields) - set(SECRETS)  # every setting but the token
    loaded = DiscordSettings.model_validate({**values, "bot_token": DUMMY_TOKEN})
    for key, value in values.items():
        assert getattr(loaded, key) == value, key
