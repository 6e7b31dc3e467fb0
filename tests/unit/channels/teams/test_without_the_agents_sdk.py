"""Teams is an optional extra: without the Microsoft 365 Agents SDK the hub leaves the channel out
as if it were not installed (no section, no pane, nothing started), and asking for it (in
`channels`, a `[teams]` section, its variables) names the extra."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

PAGE = Path(__file__).resolve().parents[4] / "docs" / "channels" / "teams.md"

WITHOUT_THE_SDK = textwrap.dedent(
    """
    import sys
    sys.modules["microsoft_agents"] = None  # what uninstalling the SDK leaves: `import microsoft_agents…` fails
    from core.channel_plugins import missing_channels
    from core.registry import UnknownChannelError, installed_channels, load_channels
    from core.sandbox.pane import installed_panes
    from core.settings import Settings, settings_class

    print(sorted(installed_channels()))
    print("teams" in settings_class().model_fields, "teams" in installed_panes())
    try:
        load_channels(Settings(channels=["web", "teams"]), hub=None)
    except UnknownChannelError as refused:
        print(refused)
    import os, pathlib, tempfile
    from core.settings import SettingsError, load_settings
    config = pathlib.Path(tempfile.mkdtemp()) / "hub.toml"
    config.write_text("[teams]" + chr(10) + "typing_indicator = false" + chr(10))
    try:
        load_settings(config)
    except SettingsError as refused:
        print(refused)
    os.environ["SUPPORTHUB_TEAMS__APP_PASSWORD"] = "a-password"
    config.write_text("")
    load_settings(config)  # warns on stderr
    """
)


def test_without_the_agents_sdk_the_channel_is_left_out_and_asking_for_it_names_the_extra() -> None:
    ran = subprocess.run(
        [sys.executable, "-c", WITHOUT_THE_SDK], capture_output=True, text=True, check=True, timeout=120
    )
    shown = ran.stdout.splitlines()
    assert "teams" not in shown[0] and "'messenger'" in shown[0]
    assert shown[1] == "False False"
    extra = "its library 'microsoft_agents' is not installed: pip install 'supporthub[teams]'"
    assert shown[2] == f"channels: 'teams' cannot start: {extra}"
    assert shown[3] == f"[teams]: the teams channel cannot load: {extra}"
    assert f"teams: its settings are set in the environment, but {extra}" in ran.stderr
    page = " ".join(PAGE.read_text(encoding="utf-8").split())  # docs/channels/teams.md quotes each
    for said in (shown[3], f"teams: its settings are set in the environment, but {extra}"):
        assert f"`{said}`" in page, said
