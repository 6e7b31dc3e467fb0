"""`supporthub` run in the test's own process: click's CliRunner on the real command group,
with the process's logging put back as it was found.

A child process costs seconds of CPU before its command does anything: `supporthub ingest` of
one file took 9 s of CPU (the interpreter, torch and the model loaded again) on the 2-core
machine this was written on. In-process, what the test process has loaded is reused.
Every command configures logging for itself (`core.ops.logs.configure_logging`): a handler on
the root logger writing to the stderr of the moment, the root's level, warnings captured, the
excepthook, the chatty libraries' levels. In a child that ends with the command; here it would
outlive it (a handler writing to CliRunner's closed stream, caplog seeing other levels in later
tests), so each run puts all of it back.
"""

from __future__ import annotations

import logging
import os
import sys
import warnings
from collections.abc import Iterator, Mapping
from contextlib import contextmanager

from click.testing import CliRunner, Result

from core.cli.main import main
from core.ops.logs import NOISY


def supporthub(*args: str, env: Mapping[str, str | None] | None = None) -> Result:
    """`supporthub ARGS…` as a user types it: `exit_code`, `stdout` and `stderr` as a process's
    (a command's `sys.exit(2)` is exit code 2; a click error is its message on stderr and 2, or 1
    for a ClickException). `env` is laid over os.environ for the call only (None unsets a
    variable). Any other exception propagates, so a failing test shows its traceback. Call it
    from a synchronous test (commands call `asyncio.run`), or through `asyncio.to_thread`."""
    with kept_logging():
        return CliRunner().invoke(main, list(args), env=env, catch_exceptions=False, prog_name="supporthub")


def without_supporthub_environment() -> dict[str, str | None]:
    """An `env` for `supporthub` that unsets every SUPPORTHUB_* variable of this process: the
    command sees only what the test gives it, as a child started with a bare environment."""
    return {name: None for name in os.environ if name.startswith("SUPPORTHUB_")}


@contextmanager
def kept_logging() -> Iterator[None]:
    """What `configure_logging` changes, as it was before the block."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    noisy = {name: logging.getLogger(name).level for name in NOISY}
    excepthook, showwarning = sys.excepthook, warnings.showwarning
    try:
        yield
    finally:
        for handler in list(root.handlers):
            root.removeHandler(handler)
        for handler in handlers:  # in their order: pytest's capture handlers among them
            root.addHandler(handler)
        root.setLevel(level)
        for name, was in noisy.items():
            logging.getLogger(name).setLevel(was)
        if warnings.showwarning is not showwarning:
            logging.captureWarnings(False)
            warnings.showwarning = showwarning
        sys.excepthook = excepthook
