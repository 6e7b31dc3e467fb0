"""The child process of a server's re-index run (`core.reindex_process`): the request on stdin,
the run's summary (or its error) as the last line of stdout, logs on stderr."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import os
import signal
import sys

from core.logs import configure_logging
from core.runtime import open_knowledge
from core.settings import Settings
from knowledge.ingest import IngestSummary

log = logging.getLogger("core.reindex_child")  # run as __main__

NICENESS = 10
"""Added to this process's nice value: the server's threads win a contended core about nine
times in ten (the kernel's weights for nice 0 and 10 are 1024 and 110)."""


async def _reindex(settings: Settings, trigger: str) -> IngestSummary:
    """The run; SIGTERM (the server stopping) ends it recorded as stopped."""
    main = asyncio.current_task()
    assert main is not None
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, main.cancel)
    try:
        async with open_knowledge(settings) as knowledge:
            return await knowledge.reindex(settings.knowledge.paths, trigger=trigger)
    except asyncio.CancelledError:
        log.warning("re-index (%s) stopped: the server is stopping", trigger)
        # not waiting for a worker thread's embedding batch, as asyncio.run's exit would
        os._exit(128 + signal.SIGTERM)


def main() -> None:
    """One re-index run as the request on stdin says."""
    request = json.loads(sys.stdin.read())
    settings = Settings(**request["settings"])
    configure_logging(settings)
    os.nice(NICENESS)
    try:
        summary = asyncio.run(_reindex(settings, request["trigger"]))
    except Exception as exc:
        log.exception("re-index (%s) failed", request["trigger"])
        print(json.dumps({"error": f"{type(exc).__name__}: {exc}"}), flush=True)
        sys.exit(1)
    print(json.dumps({"summary": dataclasses.asdict(summary)}), flush=True)


if __name__ == "__main__":
    main()
