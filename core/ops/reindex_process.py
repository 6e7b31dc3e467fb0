"""The server's re-index runs (scheduled, and the dashboard's "Re-index now"), each in a child
process at a lower CPU priority.

Run inside the server, a re-index of a big help centre held the GIL in chroma's writes, in
chunking and in building the lexical index: the event loop lagged 700 ms at p99 while 50 clients
were served, and the model and the run's chunks added 600 MB to the server. In a child, the
server only loads the version the child publishes (`KnowledgeBase.refresh`, in a worker
thread), and `nice` gives the server's own threads the cores first.

The child gets the server's settings as JSON on its stdin (secrets never reach its command
line), writes the run's summary as the last line of its stdout, and logs to the stderr it
shares with the server. It ends with the server, however the server ends (`core.cli.reindex_child`).
"""

from __future__ import annotations

import asyncio
import gc
import json
import logging
import os
import signal
import sys
from pathlib import Path
from typing import Any

from pydantic import SecretStr

from core.settings import Settings
from knowledge.base import KnowledgeBase
from knowledge.ingest.ingestor import IngestSummary
from knowledge.tables import SkippedFile

log = logging.getLogger(__name__)

STOP_GRACE_S = 5.0
"""How long a child stopped with SIGTERM may take to record its run as stopped and exit
before it is killed."""


class ReindexFailed(Exception):
    """The child's run failed (recorded in index_runs, as every run is); the message says why."""


class ReindexRunner:
    """Runs re-indexes of `settings.knowledge` (its paths and sources) one at a time, each in a child process,
    and loads what it published into `knowledge` before returning."""

    def __init__(self, settings: Settings, knowledge: KnowledgeBase) -> None:
        self._settings = settings
        self._knowledge = knowledge
        self._lock = asyncio.Lock()
        self._child: asyncio.subprocess.Process | None = None
        self._next: asyncio.Task[IngestSummary] | None = None
        """A run asked for with `soon` that has not started yet."""
        self._runs: set[asyncio.Task[IngestSummary]] = set()

    def soon(self, trigger: str) -> asyncio.Task[IngestSummary]:
        """A run that starts after any run in progress, so it indexes everything written before
        this call (an answer approved in /admin, an article pushed through the API): what is
        asked while one waits to start joins it, rather than queueing runs. It crawls no
        website (their pages are kept as they are), so it takes seconds. Its failure is logged
        here; await it to see it too."""
        if self._next is None or self._next.done():
            task = asyncio.create_task(self._run_next(trigger), name="reindex-soon")
            self._next = task
            self._runs.add(task)
            task.add_done_callback(self._done)
        return self._next

    def _done(self, task: asyncio.Task[IngestSummary]) -> None:
        self._runs.discard(task)
        if not task.cancelled():
            task.exception()  # logged in `_run_next`: retrieved, so asyncio does not log it again

    async def _run_next(self, trigger: str) -> IngestSummary:
        async with self._lock:
            self._next = None  # from here on, a new request needs a run of its own
        try:
            summary = await self.run(trigger, crawl=False)
        except Exception as exc:
            log.error("knowledge update (%s) failed (recorded in index_runs): %s", trigger, exc)
            raise
        log.info("knowledge update (%s): %s", trigger, summary.line)
        return summary

    async def run(self, trigger: str, *, crawl: bool = True) -> IngestSummary:
        """One run, after any run in progress; `crawl`: the website sources too. Cancelled, it
        stops the child."""
        async with self._lock:
            request = {
                "trigger": trigger,
                "crawl": crawl,
                "parent": os.getpid(),
                "settings": settings_json(self._settings),
            }
            self._child = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "core.cli.reindex_child",
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
            )
            try:
                output, _ = await self._child.communicate(json.dumps(request).encode())
            finally:
                await self._stop_child()
            result = _last_json_line(output)
            if "error" in result or self._child.returncode != 0:
                raise ReindexFailed(result.get("error") or f"the re-index process exited with {self._child.returncode}")
            await asyncio.to_thread(self._knowledge.refresh)
            if gc.get_freeze_count():  # a process that froze its start-up heap (`serve`: core.cli.main)
                gc.collect(1)  # young garbage is not frozen with the new version
                gc.freeze()
            return _summary_from_json(result["summary"])

    async def aclose(self) -> None:
        """Stop a run in progress (recorded as stopped in index_runs; the next run redoes its
        work) and those asked for with `soon`."""
        for task in list(self._runs):
            task.cancel()
        await asyncio.gather(*self._runs, return_exceptions=True)
        await self._stop_child()

    async def _stop_child(self) -> None:
        child = self._child
        if child is None or child.returncode is not None:
            return
        child.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(asyncio.shield(child.wait()), STOP_GRACE_S)
        except TimeoutError:
            child.kill()
            await child.wait()


def settings_json(settings: Settings) -> dict[str, Any]:
    """All of `settings`, secrets included (for a pipe, never a log or a command line): the
    child validates them again, and checks across sections (Slack's socket mode needs its app
    token, say) need every section as the server had it."""

    def plain(value: object) -> object:
        if isinstance(value, SecretStr):
            return value.get_secret_value()
        if isinstance(value, Path):
            return str(value)
        raise TypeError(f"{type(value).__name__} in the settings")

    plain_settings: dict[str, Any] = json.loads(json.dumps(settings.model_dump(), default=plain))
    return plain_settings


def _last_json_line(output: bytes) -> dict[str, Any]:
    lines = output.decode("utf-8", "replace").strip().splitlines()
    try:
        result = json.loads(lines[-1]) if lines else {}
    except json.JSONDecodeError:
        return {}
    return result if isinstance(result, dict) else {}


def _summary_from_json(data: dict[str, Any]) -> IngestSummary:
    skipped = tuple(SkippedFile(**item) for item in data.get("skipped_files", ()))
    return IngestSummary(**{**data, "skipped_files": skipped})
