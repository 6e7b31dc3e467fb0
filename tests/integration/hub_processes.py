"""Real `supporthub serve` processes for the scale-out tests and benchmarks: a fake Slack in
a thread of its own (it outlives each test's event loop), and processes that can be killed
with SIGKILL and started again."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import aiohttp

from channels.slack.stand_in import BOT_TOKEN, FakeSlack, RecordedCall
from tests.conftest import SAMPLE_KNOWLEDGE
from tests.integration.staff_desk_steps import SLACK_SECRET, STAFF
from tests.ports import free_port

SUPPORTHUB = str(Path(sys.executable).parent / "supporthub")
API_TOKEN = "scale-out-api-token"
AUTH = {"Authorization": f"Bearer {API_TOKEN}"}
READY_TIMEOUT_S = 120.0
_DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))
"""127.0.0.1 is asked directly, whatever proxy the environment names."""


class ThreadedSlack:
    """The fake Slack served from a thread with its own event loop."""

    def __init__(self) -> None:
        self.fake = FakeSlack()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="fake-slack", daemon=True)

    def __enter__(self) -> ThreadedSlack:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self.fake.start(), self._loop).result(timeout=10)
        return self

    def __exit__(self, *_: object) -> None:
        asyncio.run_coroutine_threadsafe(self.fake.stop(), self._loop).result(timeout=10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)

    def cards_of(self, case_id: str) -> list[RecordedCall]:
        """The case cards posted to the staff channel for `case_id` (found by their metadata)."""
        return [
            c
            for c in list(self.fake.requests)
            if c.method == "chat.postMessage"
            and c.status == 200
            and c.body.get("channel") == STAFF
            and not c.body.get("thread_ts")
            and (c.body.get("metadata") or {}).get("event_payload", {}).get("case_id") == case_id
        ]

    def in_thread(self, thread_ts: str, text_start: str) -> list[RecordedCall]:
        return [
            c
            for c in list(self.fake.requests)
            if c.method == "chat.postMessage"
            and c.body.get("thread_ts") == thread_ts
            and str(c.body.get("text", "")).startswith(text_start)
        ]


class HubProcess:
    """One `supporthub serve` on a port of its own, with its own data directory (a host)."""

    def __init__(self, name: str, root: Path, env: Mapping[str, str]) -> None:
        self.name = name
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = root / f"{name}.log"
        self._env = {**env, "SUPPORTHUB_DATA_DIR": str(root / name)}
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log_path.open("ab") as log:
            self._process = subprocess.Popen(
                [SUPPORTHUB, "serve", "--port", str(self.port)],
                env=self._env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def readiness(self) -> dict[str, Any] | None:
        """/readyz's body, or None while it does not answer 200."""
        try:
            with _DIRECT.open(f"{self.url}/readyz", timeout=2) as response:
                body: dict[str, Any] = json.loads(response.read())
                return body
        except (OSError, ValueError):  # URLError and HTTPError are OSErrors
            return None

    def wait_ready(self) -> None:
        deadline = time.monotonic() + READY_TIMEOUT_S
        while time.monotonic() < deadline:
            if not self.running:
                raise RuntimeError(f"{self.name} exited: {self.log_tail()}")
            if self.readiness() is not None:
                return
            time.sleep(0.2)
        raise RuntimeError(f"{self.name} was not ready within {READY_TIMEOUT_S:g} s: {self.log_tail()}")

    def kill(self) -> None:
        """SIGKILL: no shutdown code runs, as when a machine dies."""
        if self._process is not None and self.running:
            self._process.send_signal(signal.SIGKILL)
            self._process.wait(timeout=10)

    def stop(self) -> None:
        if self._process is not None and self.running:
            self._process.terminate()
            try:
                self._process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill()

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except FileNotFoundError:
            return "(no log)"


def hub_environment(
    *, database_url: str, chroma_url: str, slack_api_url: str, redis_url: str, per_contact: str
) -> dict[str, str]:
    """Settings shared by every process of one deployment."""
    return {
        **os.environ,
        "SUPPORTHUB_DATABASE_URL": database_url,
        "SUPPORTHUB_KNOWLEDGE__CHROMA_URL": chroma_url,
        "SUPPORTHUB_KNOWLEDGE__PATHS": json.dumps([str(SAMPLE_KNOWLEDGE)]),
        "SUPPORTHUB_CHANNELS": json.dumps(["web", "api", "slack"]),
        "SUPPORTHUB_API__TOKEN": API_TOKEN,
        "SUPPORTHUB_SLACK__BOT_TOKEN": BOT_TOKEN,
        "SUPPORTHUB_SLACK__SIGNING_SECRET": SLACK_SECRET,
        "SUPPORTHUB_SLACK__API_URL": slack_api_url,
        "SUPPORTHUB_SLACK__STAFF_CHANNEL": STAFF,
        "SUPPORTHUB_REDIS_URL": redis_url,
        "SUPPORTHUB_LIMITS__PER_CONTACT": per_contact,
        "SUPPORTHUB_LIMITS__PER_IP": "",
        "SUPPORTHUB_OUTBOX__POLL_INTERVAL_S": "0.5",
        "SUPPORTHUB_HANDOFF__SLA_MINUTES": "1",
        "SUPPORTHUB_HANDOFF__SLA_CHECK_S": "1",
        # Each API contact asks unrelated questions: keep them with the bot.
        "SUPPORTHUB_HANDOFF__UNANSWERED_IN_ROW": "1000000",
        "SUPPORTHUB_HANDOFF__FRUSTRATED_IN_ROW": "1000000",
        "SUPPORTHUB_SCHEDULE": "[]",
        "SUPPORTHUB_LOG__LEVEL": "INFO",
        "SUPPORTHUB_LOG__FORMAT": "text",
    }


def reindex(env: Mapping[str, str], data_dir: Path) -> None:
    """Index the sample help centre into the shared Chroma server and database."""
    subprocess.run(
        [SUPPORTHUB, "reindex"],
        env={**env, "SUPPORTHUB_DATA_DIR": str(data_dir)},
        check=True,
        capture_output=True,
        timeout=300,
    )


async def post_until_accepted(
    http: aiohttp.ClientSession, processes: Sequence[HubProcess], first: int, payload: dict[str, str]
) -> None:
    """POST /api/messages to processes[first]; on a dead process, the same message (same id)
    to the next one, as a load balancer's retry would."""
    for attempt in range(len(processes) * 5):
        process = processes[(first + attempt) % len(processes)]
        try:
            async with http.post(f"{process.url}/api/messages", json=payload, headers=AUTH) as response:
                if response.status in (200, 202):
                    return
        except (aiohttp.ClientError, TimeoutError):
            pass
        await asyncio.sleep(0.2)
    raise AssertionError(f"no process accepted message {payload.get('id')} of {payload.get('contact')}")
