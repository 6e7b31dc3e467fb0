"""A channel shipped as its own package brings its own settings section: core's settings name
no channel, and the section is loaded, checked and handed to the channel like core's own.

The package is `tests/fixtures/plugin_channel` (a module and its `*.dist-info` with the entry
point), put on the path of a child interpreter, as `pip install` would put it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[3]
PLUGIN = ROOT / "tests" / "fixtures" / "plugin_channel"
LOAD = """
import json, sys
from pathlib import Path
from core.pipeline.hub_gate import HubGate
from core.registry import load_channels
from core.settings import SettingsError, load_settings
try:
    settings = load_settings(Path(sys.argv[1]))
except SettingsError as exc:
    print(json.dumps({"error": str(exc)}))
    raise SystemExit(0)
echo = load_channels(settings, HubGate().port).get("echo")
print(json.dumps(None if echo is None else {
    "greeting": echo.settings.greeting, "max_text_length": echo.capabilities.max_text_length,
    "api_key": echo.settings.api_key.get_secret_value() if echo.settings.api_key else None}))
"""


def load(tmp_path: Path, toml: str, *, environment: dict[str, str] | None = None, plugin: bool = True) -> Any:
    """What the hub makes of `toml` and `environment`, in a fresh interpreter."""
    config = tmp_path / "hub.toml"
    config.write_text(toml)
    env = {name: value for name, value in os.environ.items() if not name.startswith("SUPPORTHUB_")}
    env["PYTHONPATH"] = os.pathsep.join([*([str(PLUGIN)] if plugin else []), str(ROOT)])
    env.update(environment or {})
    result = subprocess.run(
        [sys.executable, "-c", LOAD, str(config)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        timeout=120,
        check=True,
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_a_plugin_channel_gets_its_section_from_the_file_and_the_environment(tmp_path: Path) -> None:
    loaded = load(
        tmp_path,
        '[echo]\ngreeting = "from the file"\nmax_text_length = 50\n',
        environment={"SUPPORTHUB_ECHO__MAX_TEXT_LENGTH": "70", "SUPPORTHUB_ECHO__API_KEY": "k3y"},
    )
    assert loaded == {"greeting": "from the file", "max_text_length": 70, "api_key": "k3y"}


def test_a_plugin_channel_named_in_channels_gets_its_defaults(tmp_path: Path) -> None:
    loaded = load(tmp_path, 'channels = ["web", "echo"]\n')
    assert loaded == {"greeting": "hello", "max_text_length": 100, "api_key": None}


@pytest.mark.parametrize(
    ("toml", "error"),
    [
        ("[echo]\nbogus = 1\n", "echo.bogus: Extra inputs are not permitted"),
        ("[echo]\nmax_text_length = 0\n", "echo.max_text_length: Input should be greater than or equal to 1"),
        (
            "[echo]\napi_key = 'in-the-file'\n",
            "echo.api_key: secrets are read only from the environment (SUPPORTHUB_ECHO__API_KEY)",
        ),
    ],
)
def test_a_bad_key_in_a_plugin_section_stops_the_start_naming_it(tmp_path: Path, toml: str, error: str) -> None:
    assert load(tmp_path, toml) == {"error": error}


def test_without_the_package_its_section_is_an_unknown_key(tmp_path: Path) -> None:
    assert load(tmp_path, '[echo]\ngreeting = "hi"\n', plugin=False) == {
        "error": "echo: Extra inputs are not permitted"
    }


def test_channels_set_in_the_file_decides_whatever_keys_the_environment_holds(tmp_path: Path) -> None:
    loaded = load(tmp_path, 'channels = ["web", "api"]\n', environment={"SUPPORTHUB_ECHO__API_KEY": "k3y"})
    assert loaded is None
