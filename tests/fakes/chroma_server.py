"""A real Chroma server for tests: `chroma run` from the installed chromadb, on 127.0.0.1 and a
free port, storing in a temp dir, offline.

    with chroma_server(tmp_path / "chroma") as url:   # "http://127.0.0.1:PORT", once its heartbeat answers
        … KnowledgeSettings(chroma_url=url) …
                                                      # stopped (SIGTERM, then SIGKILL) on leaving

The `chroma_url` fixture does the same for one test module (the tests of a module share the
server, each in a collection of its own); its function here is `chroma_server_url`: import that
into a conftest or test module to register it. Both skip when the `chroma` executable is missing, and
fail instead when SUPPORTHUB_REQUIRE_CHROMA is set (CI sets it: never skipped there). A server
that does not start fails the test with its log.

Measured here (chromadb 1.5, 2 cores): the heartbeat answers 1.4–2.2 s after the start, and
SIGTERM stops it in about 0.6 s.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

REQUIRE_ENV = "SUPPORTHUB_REQUIRE_CHROMA"
HOST = "127.0.0.1"
START_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 5.0
PORT_ATTEMPTS = 3
"""A free port found by binding port 0 can be taken before the server binds it: try another."""


class ChromaServerError(RuntimeError):
    """The server did not start; the message carries its log's tail."""


def chroma_executable() -> str | None:
    """The virtualenv's `chroma` (next to this Python), else one on PATH."""
    beside = Path(sys.executable).parent / "chroma"
    return str(beside) if os.access(beside, os.X_OK) else shutil.which("chroma")


@contextlib.contextmanager
def chroma_server(path: Path) -> Iterator[str]:
    """A started Chroma server storing under `path`; yields its URL. Skips where `chroma` is
    missing (fails if REQUIRE_ENV is set)."""
    executable = chroma_executable()
    if executable is None:
        reason = "Chroma server tests need the `chroma` executable (pip install chromadb)"
        if os.environ.get(REQUIRE_ENV):
            pytest.fail(f"{reason} ({REQUIRE_ENV} is set)")
        pytest.skip(reason)
    path.mkdir(parents=True, exist_ok=True)
    process, url = _start(executable, path)
    try:
        yield url
    finally:
        _stop(process)


@pytest.fixture(name="chroma_url", scope="module")
def chroma_server_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The URL (`http://127.0.0.1:PORT`) of a real Chroma server for the tests of one module,
    empty when the first starts: each test keeps to a collection of its own
    (`KnowledgeSettings.collection`)."""
    with chroma_server(tmp_path_factory.mktemp("chroma-server")) as url:
        yield url


def _start(executable: str, path: Path) -> tuple[subprocess.Popen[bytes], str]:
    log_path = path / "chroma.log"
    for _ in range(PORT_ATTEMPTS):
        port = _free_port()
        with log_path.open("ab") as log:
            process = subprocess.Popen(
                [executable, "run", "--path", str(path), "--host", HOST, "--port", str(port)],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        url = f"http://{HOST}:{port}"
        if _wait_ready(process, url):
            return process, url
        if process.poll() is None:  # running but silent: retrying elsewhere would not help
            _stop(process)
            break
    tail = "\n".join(log_path.read_text(encoding="utf-8", errors="replace").splitlines()[-30:])
    raise ChromaServerError(f"`chroma run` did not answer its heartbeat within {START_TIMEOUT_S:g} s:\n{tail}")


_DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))
"""127.0.0.1 is asked directly, whatever proxy the environment names."""


def _wait_ready(process: subprocess.Popen[bytes], url: str) -> bool:
    """True once the heartbeat answers; False if the process exits first (its port was taken)
    or the time is up."""
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            return False
        try:
            with _DIRECT.open(f"{url}/api/v2/heartbeat", timeout=1) as response:
                if response.status == 200:
                    return True
        except OSError:  # not listening yet
            pass
        time.sleep(0.05)
    return False


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        port: int = probe.getsockname()[1]
        return port
