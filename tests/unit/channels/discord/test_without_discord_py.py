"""Discord is an optional extra: without discord.py the hub leaves the channel out as if it were
not installed (no section, no pane, nothing started), and asking for it names the extra."""

from __future__ import annotations

import subprocess
import sys
import textwrap

WITHOUT_DISCORD_PY = textwrap.dedent(
    """
    import sys
    sys.modules["discord"] = None  # what `pip uninstall discord.py` leaves: `import discord` fails
    from core.channel_plugins import missing_channels
    from core.registry import UnknownChannelError, installed_channels, load_channels
    from core.sandbox.pane import installed_panes
    from core.settings import Settings, settings_class

    print(sorted(installed_channels()))
    print("discord" in settings_class().model_fields, "discord" in installed_panes())
    try:
        load_channels(Settings(channels=["web", "discord"]), hub=None)
    except UnknownChannelError as refused:
        print(refused)
    import os, pathlib, tempfile
    from core.settings import SettingsError, load_settings
    config = pathlib.Path(tempfile.mkdtemp()) / "hub.toml"
    config.write_text("[discord]" + chr(10) + "support_channels = []" + chr(10))
    try:
        load_settings(config)
    except SettingsError as refused:
        print(refused)
    os.environ["SUPPORTHUB_DISCORD__BOT_TOKEN"] = "a-token"
    config.write_text("")
    load_settings(config)  # warns on stderr
    """
)


def test_without_discord_py_the_channel_is_left_out_and_asking_for_it_names_the_extra() -> None:
    ran = subprocess.run(
        [sys.executable, "-c", WITHOUT_DISCORD_PY], capture_output=True, text=True, check=True, timeout=120
    )
    shown = ran.stdout.splitlines()
    assert "discord" not in shown[0] and "'messenger'" in shown[0]
    assert shown[1] == "False False"
    extra = "its library 'discord' is not installed: pip install 'supporthub[discord]'"
    assert shown[2] == f"channels: 'discord' cannot start: {extra}"
    assert shown[3] == f"[discord]: the discord channel cannot load: {extra}"
    assert f"discord: its settings are set in the environment, but {extra}" in ran.stderr
