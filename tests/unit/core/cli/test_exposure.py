"""`serve` decides who can reach the REST API before it listens."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import SecretStr

from channels.api.exposure import api_exposure
from channels.api.settings import ApiSettings
from core.cli.exposure import is_loopback
from core.settings import Settings, SettingsError


@pytest.mark.parametrize("host", ["127.0.0.1", "127.8.0.1", "::1", "[::1]", "localhost"])
def test_loopback_hosts(host: str) -> None:
    assert is_loopback(host)


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "", "10.0.0.5", "hub.example.com"])
def test_hosts_other_machines_can_reach(host: str) -> None:
    assert not is_loopback(host)


def test_a_reachable_api_needs_a_token_or_a_deliberate_choice() -> None:
    with pytest.raises(SettingsError, match=r"api\.token: required to listen on 0\.0\.0\.0"):
        api_exposure(Settings(), "0.0.0.0")
    assert "bearer token" in api_exposure(Settings(api=ApiSettings(token=SecretStr("t"))), "0.0.0.0")
    assert "OPEN to anyone" in api_exposure(Settings(api=ApiSettings(public=True)), "0.0.0.0")
    assert "this machine only" in api_exposure(Settings(), "127.0.0.1")
    assert api_exposure(Settings(channels=["web"]), "0.0.0.0") == "REST API: off"


def test_serve_refuses_to_open_the_api_to_the_network_without_a_token(tmp_path: Path) -> None:
    """The installed command in a process of its own: stderr holds the refusal and nothing else
    (a warning printed while a real process imports would show here, not in-process)."""
    env = {**os.environ, "SUPPORTHUB_DATA_DIR": str(tmp_path)}
    env.pop("SUPPORTHUB_API__TOKEN", None)
    result = subprocess.run(
        [str(Path(sys.executable).parent / "supporthub"), "serve", "--host", "0.0.0.0", "--port", "1"],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        check=False,
    )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "supporthub: invalid setting api.token: required to listen on 0.0.0.0, a non-loopback address "
        "(set SUPPORTHUB_API__TOKEN, or api.public = true to serve the API without one on purpose)"
    ]
    assert not (tmp_path / "supporthub.db").exists()
