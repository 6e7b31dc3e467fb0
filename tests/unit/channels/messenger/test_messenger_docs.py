"""docs/channels/messenger.md's examples hold: every `SUPPORTHUB_MESSENGER__…` and
`SUPPORTHUB_INSTAGRAM__…` variable it names is a setting and its examples load, every TOML block
loads into its section, the webhook paths it names are the channels' routes, and the
`supporthub doctor` lines it shows are what the channels' `check()` says (the OK lines are also
the ones tests/integration/test_messenger_doctor.py sees `supporthub doctor` print)."""

from __future__ import annotations

import os
import re
import textwrap
import tomllib
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from channels.messenger import InstagramChannel, MessengerChannel
from channels.messenger.channel import MetaMessagingChannel
from channels.messenger.settings import InstagramSettings, MessengerSettings, MetaMessagingSettings
from channels.messenger.stand_in import (
    GRAPH_VERSION,
    IG_ACCESS_TOKEN,
    IG_ACCOUNT_ID,
    PAGE_ACCESS_TOKEN,
    PAGE_ID,
    FakeMessaging,
)
from core.channel import CheckFailed
from core.pipeline.hub_gate import HubGate
from core.settings import Settings, SettingsError, load_settings
from tests.integration.test_messenger_doctor import INSTAGRAM_OK, MESSENGER_OK

PAGE = (Path(__file__).resolve().parents[4] / "docs" / "channels" / "messenger.md").read_text(encoding="utf-8")
MODELS: dict[str, type[MetaMessagingSettings]] = {"messenger": MessengerSettings, "instagram": InstagramSettings}
CHANNELS: dict[str, type[MetaMessagingChannel]] = {"messenger": MessengerChannel, "instagram": InstagramChannel}
ACCOUNT_KEY = {"messenger": "page_id", "instagram": "account_id"}
SECRETS = ("access_token", "app_secret", "verify_token")
DUMMY_SECRETS = {key: SecretStr(f"dummy-{key}") for key in SECRETS}

NAMED = re.compile(r"\bSUPPORTHUB_(MESSENGER|INSTAGRAM)__([A-Z][A-Z_]*)")
ASSIGNED = re.compile(r"\bSUPPORTHUB_(MESSENGER|INSTAGRAM)__([A-Z][A-Z_]*)=([^\s`\\]+)")
FENCE = re.compile(r"^([ \t]*)```(\w*)[^\n]*\n(.*?)^\1```", re.MULTILINE | re.DOTALL)
DOCTOR_LINE = re.compile(r"^(OK|FAIL)\s+(messenger|instagram)\s+(.+)$", re.MULTILINE)
WEBHOOK_PATH = re.compile(r"/(messenger|instagram)/webhook\b")


def blocks(language: str) -> list[str]:
    """The page's fenced blocks of `language`, dedented (a block in a list item is indented)."""
    return [textwrap.dedent(body) for _indent, lang, body in FENCE.findall(PAGE) if lang == language]


def assignments(text: str) -> dict[str, dict[str, str]]:
    """The `SUPPORTHUB_<SECTION>__<KEY>=value` assignments in `text`, by section, then key."""
    found: dict[str, dict[str, str]] = {}
    for section, key, value in ASSIGNED.findall(text):
        found.setdefault(section.lower(), {})[key.lower()] = value
    return found


def shown(value: Any) -> str:
    """A setting's value as the environment writes it."""
    if isinstance(value, SecretStr):
        return value.get_secret_value()
    if isinstance(value, bool):
        return str(value).lower()
    return str(value)


@pytest.fixture
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    """No `SUPPORTHUB_MESSENGER__…` or `SUPPORTHUB_INSTAGRAM__…` but what a test sets."""
    for name in list(os.environ):
        if name.startswith(("SUPPORTHUB_MESSENGER__", "SUPPORTHUB_INSTAGRAM__")):
            monkeypatch.delenv(name)
    yield monkeypatch


def load_with(environment: dict[str, dict[str, str]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """The settings an empty config file and `environment` give."""
    for section, values in environment.items():
        for key, value in values.items():
            monkeypatch.setenv(f"SUPPORTHUB_{section.upper()}__{key.upper()}", value)
    config = tmp_path / "empty.toml"
    config.write_text("", encoding="utf-8")
    return load_settings(config)


def test_every_variable_the_page_names_is_a_setting_of_its_section() -> None:
    named = {(section.lower(), key.lower()) for section, key in NAMED.findall(PAGE)}
    for section, key in sorted(named):
        assert key in MODELS[section].model_fields, f"SUPPORTHUB_{section.upper()}__{key.upper()} is not a setting"
    expected = {("messenger", key) for key in ("page_id", *SECRETS, "human_agent")} | {
        ("instagram", key) for key in ("account_id", *SECRETS)
    }
    assert expected <= named, sorted(expected - named)


@pytest.mark.parametrize("example", blocks("sh"))
def test_each_shell_example_turns_its_channel_on(
    example: str, tmp_path: Path, clean_environment: pytest.MonkeyPatch
) -> None:
    environment = assignments(example)
    assert len(environment) == 1, example  # one channel per example
    settings = load_with(environment, tmp_path, clean_environment)
    for section, values in environment.items():
        loaded = settings.section(MODELS[section])
        assert loaded.enabled, example
        for key, value in values.items():
            assert shown(getattr(loaded, key)) == value, (section, key)


def test_every_assignment_on_the_page_loads_into_its_section(
    tmp_path: Path, clean_environment: pytest.MonkeyPatch
) -> None:
    environment = assignments(PAGE)
    assert set(environment) == {"messenger", "instagram"}
    settings = load_with(environment, tmp_path, clean_environment)
    for section, values in environment.items():
        loaded = settings.section(MODELS[section])
        for key, value in values.items():
            assert shown(getattr(loaded, key)) == value, (section, key)


def test_every_toml_block_loads_into_its_section_with_its_secrets_from_elsewhere() -> None:
    examples = blocks("toml")
    assert examples
    seen = set()
    for example in examples:
        for section, values in tomllib.loads(example).items():
            model = MODELS[section]
            assert not set(values) & set(SECRETS), f"a secret in the page's [{section}]: {example}"
            assert set(values) <= set(model.model_fields), sorted(set(values) - set(model.model_fields))
            loaded = model.model_validate({**values, **DUMMY_SECRETS})
            assert loaded.enabled, example
            for key, value in values.items():
                assert getattr(loaded, key) == value, (section, key)
            seen.add(section)
    assert seen == {"messenger", "instagram"}


def test_a_secret_in_the_file_is_refused_as_the_page_says(tmp_path: Path) -> None:
    assert "are read only from the environment" in " ".join(PAGE.split())
    for section in MODELS:
        config = tmp_path / f"{section}.toml"
        config.write_text(f'[{section}]\naccess_token = "in-the-file"\n', encoding="utf-8")
        with pytest.raises(SettingsError, match=rf"SUPPORTHUB_{section.upper()}__ACCESS_TOKEN"):
            load_settings(config)


def channel(name: str, **section: Any) -> MetaMessagingChannel:
    """The channel `name` built as `serve` and `doctor` build it, its section from `section`."""
    account = {"messenger": PAGE_ID, "instagram": IG_ACCOUNT_ID}[name]
    values = {ACCOUNT_KEY[name]: account, **DUMMY_SECRETS, **section}
    settings = Settings(**{name: MODELS[name](**values)})
    return CHANNELS[name](settings, HubGate().port)


def test_the_webhook_paths_the_page_names_are_the_channels_routes() -> None:
    routes = {
        (route.method, route.path)  # type: ignore[attr-defined]
        for name in CHANNELS
        for route in channel(name).routes()
    }
    named = {match.group(0) for match in WEBHOOK_PATH.finditer(PAGE)}
    assert named == {"/messenger/webhook", "/instagram/webhook"}
    for path in named:
        assert {("GET", path), ("POST", path)} <= routes, path  # the handshake, the messages
    for name in CHANNELS:
        assert f"`https://YOUR-HUB/{name}/webhook`" in PAGE


@pytest.fixture
async def metas() -> AsyncIterator[dict[str, FakeMessaging]]:
    fakes = {name: FakeMessaging(name) for name in CHANNELS}
    for fake in fakes.values():
        await fake.start()
    yield fakes
    for fake in fakes.values():
        await fake.stop()


async def test_the_doctor_lines_on_the_page_are_what_check_says(metas: dict[str, FakeMessaging]) -> None:
    lines = DOCTOR_LINE.findall("\n".join(blocks("text")))
    shown_lines = {(status, name) for status, name, _detail in lines}
    assert shown_lines >= {("OK", "messenger"), ("OK", "instagram"), ("FAIL", "messenger")}
    tokens = {"messenger": PAGE_ACCESS_TOKEN, "instagram": IG_ACCESS_TOKEN}
    for status, name, detail in lines:
        fake = metas[name]
        token = tokens[name] if status == "OK" else "EAAGwrong-docs-token"
        checked = channel(name, access_token=SecretStr(token), graph_url=fake.api_url, graph_version=GRAPH_VERSION)
        if status == "OK":
            assert detail == await checked.check()
            assert detail == {"messenger": MESSENGER_OK, "instagram": INSTAGRAM_OK}[name]  # doctor prints it
        else:
            with pytest.raises(CheckFailed) as failed:
                await checked.check()
            assert detail == str(failed.value) and "error 190" in detail and token not in detail
        assert fake.sent == [] and fake.actions == []
