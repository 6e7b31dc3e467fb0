"""The readiness probe: is this process able to answer customers right now, and if not, why.

An orchestrator polls `/readyz` every few seconds; a probe that only answers 503 leaves the
operator guessing, and one that logs every failure floods the log. So each check names its
problem, and the log says why once each time the answer changes.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from core.ops.runtime import Runtime

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Readiness:
    database: str | None
    """Why the database is not usable; None when it is."""
    knowledge: str | None
    """Why the knowledge base is not usable; None when it is."""
    chunks: int

    @property
    def problems(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(p for p in (self.database, self.knowledge) if p))


async def check(runtime: Runtime | None) -> Readiness:
    if runtime is None:
        starting = "the hub is still starting"
        return Readiness(starting, starting, 0)
    knowledge = None if runtime.knowledge.ready() else "the knowledge base is not loaded"
    chunks = 0
    try:
        chunks = await runtime.knowledge.chunk_count()
    except Exception as exc:  # noqa: BLE001 — an unreachable Chroma server means "not ready"
        knowledge = knowledge or f"the vector index does not answer ({type(exc).__name__}: {exc})"
    return Readiness(await runtime.database_problem(), knowledge, chunks)


class ReadinessLog:
    """Logs a failing probe's reasons once per change of state, and the return to ready."""

    def __init__(self) -> None:
        self._last: tuple[str, ...] = ()

    def record(self, readiness: Readiness) -> None:
        problems = readiness.problems
        if problems == self._last:
            return
        if problems:
            log.warning("not ready: %s", "; ".join(problems))
        else:
            log.info("ready again")
        self._last = problems
