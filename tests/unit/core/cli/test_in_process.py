"""A command run in the test's own process (`tests.cli_runner`) leaves the process's logging as
it found it: the tests after it still capture their log lines with caplog."""

from __future__ import annotations

import logging
import socket
import sys
import warnings
from pathlib import Path

import pytest

from core.ops.logs import NOISY
from tests.cli_runner import supporthub


def logging_state() -> tuple[object, ...]:
    root = logging.getLogger()
    noisy = {name: logging.getLogger(name).level for name in NOISY}
    return list(root.handlers), root.level, noisy, sys.excepthook, warnings.showwarning


def test_a_command_run_in_process_leaves_logging_as_it_found_it(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    before = logging_state()
    with socket.create_server(("127.0.0.1", 0)) as taken:
        env = {"SUPPORTHUB_DATA_DIR": str(tmp_path), "SUPPORTHUB_LOG__LEVEL": "INFO", "SUPPORTHUB_LOG__FORMAT": "text"}
        result = supporthub("serve", "--port", str(taken.getsockname()[1]), env=env)
    assert result.exit_code == 2
    assert "REST API: no token, reachable from this machine only" in result.stderr  # the command's own log handler

    assert logging_state() == before
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="core"):
        logging.getLogger("core.cli").info("a later test's line")
    assert caplog.messages == ["a later test's line"]
