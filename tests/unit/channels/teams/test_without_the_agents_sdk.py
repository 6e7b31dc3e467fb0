"""Teams is an optional extra: without the Microsoft 365 Agents SDK the hub leaves the channel out
as if it were not installed (no section, no pane, nothing started), and asking for it names the extra."""

from __future__ import annotations

import subprocess
import sys
import textwrap

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
    """
)


def test_without_the_agents_sdk_the_channel_is_left_out_and_asking_for_it_names_the_extra() -> None:
    shown = subprocess.run(
        [sys.executable, "-c", WITHOUT_THE_SDK], capture_output=True, text=True, check=True, timeout=120
    ).stdout.splitlines()
    assert "teams" not in shown[0] and "'messenger'" in shown[0]
    assert shown[1] == "False False"
    assert shown[2] == (
        "channels: 'teams' cannot start: its library 'microsoft_agents' is not installed: pip install 'supporthub[teams]'"
    )
