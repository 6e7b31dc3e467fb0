"""docs/channels/teams.md's examples hold: every `SUPPORTHUB_TEAMS__…` variable it names is a
setting and its example turns the channel on, every TOML block loads into `[teams]` without the
password, the messaging endpoint it names is the channel's route, its manifest snippet names the
bot's id and files, and the `supporthub doctor` lines it shows are what the channel's `check()`
says against the Teams fake, Microsoft's sign-in host in place of the fake's (the OK line is also
the one tests/integration/test_msteams_doctor.py sees `supporthub doctor` print)."""

from __future__ import annotations

import json
import os
import re
import textwrap
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from channels.teams import TeamsChannel
from channels.teams.settings import TeamsSettings
from channels.teams.stand_in import APP_ID, APP_PASSWORD, TENANT_ID, FakeTeams
from core.channel import CheckFailed
from core.pipeline.hub_gate import HubGate
from core.settings import Settings, SettingsError, load_settings
from tests.integration.test_msteams_doctor import TEAMS_OK

PAGE = (Path(__file__).resolve().parents[4] / "docs" / "channels" / "teams.md").read_text(encoding="utf-8")
NAMED = re.compile(r"\bSUPPORTHUB_TEAMS__([A-Z][A-Z_]*)")
ASSIGNED = re.compile(r"\bSUPPORTHUB_TEAMS__([A-Z][A-Z_]*)=([^\s`\\]+)")
FENCE = re.compile(r"^([ \t]*)```(\w*)[^\n]*\n(.*?)^\1```", re.MULTILINE | re.DOTALL)
DOCTOR_LINE = re.compile(r"^(OK|FAIL)\s+(teams)\s+(.+)$", re.MULTILINE)
MICROSOFT_LOGIN = "https://login.microsoftonline.com"


def blocks(language: str) -> list[str]:
    return [textwrap.dedent(body) for _indent, lang, body in FENCE.findall(PAGE) if lang == language]


@pytest.fixture
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    for name in list(os.environ):
        if name.startswith("SUPPORTHUB_TEAMS__"):
            monkeypatch.delenv(name)
    yield monkeypatch


def test_every_variable_the_page_names_is_a_setting() -> None:
    named = {key.lower() for key in NAMED.findall(PAGE)}
    assert named >= {"app_id", "app_password", "tenant_id"}
    assert named <= set(TeamsSettings.model_fields), sorted(named - set(TeamsSettings.model_fields))


def test_the_shell_example_turns_the_channel_on(tmp_path: Path, clean_environment: pytest.MonkeyPatch) -> None:
    (example,) = [block for block in blocks("sh") if "SUPPORTHUB_TEAMS__" in block]
    assigned = dict(ASSIGNED.findall(example))
    for key, value in assigned.items():
        clean_environment.setenv(f"SUPPORTHUB_TEAMS__{key}", value)
    config = tmp_path / "empty.toml"
    config.write_text("", encoding="utf-8")
    loaded = load_settings(config).section(TeamsSettings)
    assert loaded.enabled and (loaded.app_id, loaded.tenant_id) == (assigned["APP_ID"], assigned["TENANT_ID"])
    assert loaded.token_url == f"{MICROSOFT_LOGIN}/{assigned['TENANT_ID']}/oauth2/v2.0/token"


def test_every_toml_block_loads_into_the_section_with_the_password_from_elsewhere() -> None:
    examples = blocks("toml")
    assert examples
    for example in examples:
        values = tomllib.loads(example)["teams"]
        assert "app_password" not in values
        loaded = TeamsSettings.model_validate({**values, "app_password": SecretStr("from-the-environment")})
        assert loaded.enabled and all(getattr(loaded, key) == value for key, value in values.items())


def test_a_password_in_the_file_is_refused_as_the_page_says(tmp_path: Path) -> None:
    assert "read only from the environment" in " ".join(PAGE.split())
    config = tmp_path / "teams.toml"
    config.write_text('[teams]\napp_password = "in-the-file"\n', encoding="utf-8")
    with pytest.raises(SettingsError, match="SUPPORTHUB_TEAMS__APP_PASSWORD"):
        load_settings(config)


def channel(**section: Any) -> TeamsChannel:
    """The channel built as `serve` and `doctor` build it."""
    values = {"app_id": APP_ID, "app_password": SecretStr(APP_PASSWORD), "tenant_id": TENANT_ID, **section}
    return TeamsChannel(Settings(teams=TeamsSettings(**values)), HubGate().port)


def test_the_messaging_endpoint_and_the_manifest_are_the_channels() -> None:
    routes = {(route.method, route.path) for route in channel().routes()}  # type: ignore[attr-defined]
    assert routes == {("POST", "/teams/messages")} and "`https://YOUR-HUB/teams/messages`" in PAGE
    (manifest,) = blocks("json")
    (bot,) = json.loads("{" + manifest + "}")["bots"]
    assert bot["botId"] == APP_ID and bot["supportsFiles"] is True
    assert set(bot["scopes"]) == {"personal", "team", "groupChat"}


async def test_the_doctor_lines_on_the_page_are_what_check_says(teams: FakeTeams) -> None:
    lines = DOCTOR_LINE.findall("\n".join(blocks("text")))
    assert {status for status, _name, _detail in lines} == {"OK", "FAIL"}
    for status, _name, detail in lines:
        password = APP_PASSWORD if status == "OK" else "Wq7~a-wrong-docs-client-secret"
        checked = channel(
            app_password=SecretStr(password), login_url=teams.url, openid_metadata_url=teams.openid_metadata_url
        )
        if status == "OK":
            assert detail == await checked.check() == TEAMS_OK
        else:
            with pytest.raises(CheckFailed) as failed:
                await checked.check()
            assert detail == str(failed.value).replace(teams.url, MICROSOFT_LOGIN) and password not in detail
    assert teams.calls == []


def test_the_example_configs_commented_section_is_the_defaults() -> None:
    example = (Path(__file__).resolve().parents[4] / "config" / "supporthub.example.toml").read_text(encoding="utf-8")
    start = example.index("# [teams]\n")
    lines = []
    for line in example[start:].splitlines():
        if not line.startswith("# "):
            break
        lines.append(line.removeprefix("# "))
    values = tomllib.loads("\n".join(lines))["teams"]
    assert values == {name: getattr(TeamsSettings(), name) for name in values}
    assert set(TeamsSettings.model_fields) - set(values) == {"app_password"}  # a secret: from the environment
