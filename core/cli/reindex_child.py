"""The child process of a server's re-index run (`core.ops.reindex_process`): the request on stdin,
the run's summary (or its error) as the last line of stdout, logs on stderr. The run goes live
through the rehearsals' gate (`core.rehearsals.gate`), which may hold it back."""

from __future__ import annotations

import asyncio
import ctypes
import dataclasses
import json
import logging
import os
import signal
import sys
from contextlib import suppress

from pydantic import ValidationError

from core.invariants import present
from core.ops.logs import configure_logging
from core.ops.runtime import open_knowledge
from core.rehearsals.gate import RehearsalGate
from core.settings import Settings
from knowledge.ingest.ingestor import HeldBack, IngestSummary

log = logging.getLogger("core.cli.reindex_child")  # run as __main__

PR_SET_PDEATHSIG = 1
"""prctl's option: the signal this process gets when its parent dies."""

NICENESS = 10
"""Added to this process's nice value: the server's threads win a contended core about nine
times in ten (the kernel's weights for nice 0 and 10 are 1024 and 110)."""


async def _reindex(settings: Settings, trigger: str, *, crawl: bool) -> IngestSummary:
    """The run; SIGTERM (the server stopping) ends it recorded as stopped."""
    main = present(asyncio.current_task(), "the task running the re-index, which asyncio.run() makes,")
    loop = asyncio.get_running_loop()

    def stop() -> None:  # once: a second cancel would interrupt recording the run as stopped
        loop.remove_signal_handler(signal.SIGTERM)
        main.cancel()

    loop.add_signal_handler(signal.SIGTERM, stop)
    try:
        async with open_knowledge(settings) as knowledge:
            return await knowledge.reindex(
                settings.knowledge.folders(),
                sites=settings.knowledge.sites(),
                crawl=crawl,
                trigger=trigger,
                gate=RehearsalGate.of(settings),
            )
    except asyncio.CancelledError:
        log.warning("re-index (%s) stopped: the server is stopping", trigger)
        # not waiting for a worker thread's embedding batch, as asyncio.run's exit would
        os._exit(128 + signal.SIGTERM)


def _end_with(parent: int) -> None:
    """SIGTERM when the server dies, even killed outright (Linux's parent-death signal);
    Ctrl-C on the server reaches this process too, and is left to the server's SIGTERM."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    with suppress(OSError):  # no glibc: the server's shutdown still stops this process
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    if os.getppid() != parent:  # the server died before the signal was set
        sys.exit(1)


def main() -> None:
    """One re-index run as the request on stdin says."""
    request = json.loads(sys.stdin.read())
    _end_with(request["parent"])
    try:
        settings = Settings(**request["settings"])
    except ValidationError as exc:  # its text would quote values, secrets among them
        fields = ", ".join(".".join(str(part) for part in error["loc"]) for error in exc.errors())
        print(json.dumps({"error": f"the server's settings were refused here: {fields}"}), flush=True)
        sys.exit(1)
    configure_logging(settings)
    os.nice(NICENESS)
    try:
        summary = asyncio.run(_reindex(settings, request["trigger"], crawl=request.get("crawl", True)))
    except HeldBack as exc:  # the gate logged why
        print(json.dumps({"error": str(exc)}), flush=True)
        sys.exit(1)
    except Exception as exc:
        log.exception("re-index (%s) failed", request["trigger"])
        print(json.dumps({"error": f"{type(exc).__name__}: {exc}"}), flush=True)
        sys.exit(1)
    print(json.dumps({"summary": dataclasses.asdict(summary)}), flush=True)


if __name__ == "__main__":
    main()
