"""`GET /metrics` in Prometheus's format, and the event-loop lag it reports.

A scrape first refreshes the database-backed gauges (`core.ops.metrics_snapshot`) within
`SNAPSHOT_TIMEOUT_S`; when the database does not answer in time, the in-process metrics are
served all the same, with `supporthub_metrics_snapshot_ok` 0 — a scrape that fails outright
would hide the very numbers that explain an outage. prometheus_client's aiohttp handler writes
the answer (content negotiation, OpenMetrics, compression).

With `admin.token` set, a scrape needs `Authorization: Bearer <token>` — checked by the
dashboard's `AdminAccess`, so wrong guesses here count towards the same throttle as the
sign-in page's; without it the endpoint is open, and the README says to keep it behind the
reverse proxy.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator

from aiohttp import web
from prometheus_client.aiohttp import make_aiohttp_handler

from core.handoff.hours import Sla
from core.metrics import EVENT_LOOP_LAG_SECONDS, REGISTRY, SNAPSHOT_OK
from core.ops.access import AdminAccess
from core.ops.metrics_snapshot import publish, read_snapshot
from core.ops.runtime import Runtime
from core.settings import Settings

log = logging.getLogger(__name__)

SNAPSHOT_TIMEOUT_S = 2.0
"""Well inside Prometheus's default 10 s scrape timeout."""
LAG_INTERVAL_S = 0.5


def install_metrics(
    app: web.Application, settings: Settings, runtime: web.AppKey[Runtime], *, access: AdminAccess | None
) -> None:
    """Serve `/metrics` on `app` (to the admin token's holder when `access` is given), and
    sample its event loop's lag while it runs."""
    app.router.add_get("/metrics", _MetricsHandler(settings, runtime, access).handle)
    app.cleanup_ctx.append(_loop_lag_watched)


class _MetricsHandler:
    def __init__(self, settings: Settings, runtime: web.AppKey[Runtime], access: AdminAccess | None) -> None:
        self._access = access
        self._runtime = runtime
        self._channels = tuple(settings.channels)
        self._sla = Sla.of(settings.handoff)
        self._serve = make_aiohttp_handler(REGISTRY)
        self._snapshot_failing = False

    async def handle(self, request: web.Request) -> web.StreamResponse:
        if self._access is not None:
            await self._access.admit_bearer(request)
        SNAPSHOT_OK.set(await self._refresh(request.app.get(self._runtime)))
        return await self._serve(request)

    async def _refresh(self, runtime: Runtime | None) -> bool:
        """Read the database-backed gauges; False (logged once per failing spell) when they could not be."""
        if runtime is None:
            return False  # still starting
        try:
            async with asyncio.timeout(SNAPSHOT_TIMEOUT_S):
                snapshot = await read_snapshot(runtime.engine, runtime.knowledge, sla=self._sla)
        except Exception as exc:  # noqa: BLE001 — the in-process metrics are served regardless
            if not self._snapshot_failing:
                reason = "it took too long" if isinstance(exc, TimeoutError) else f"{type(exc).__name__}: {exc}"
                log.warning("metrics: the database-backed gauges could not be read (%s); serving the rest", reason)
            self._snapshot_failing = True
            return False
        if self._snapshot_failing:
            log.info("metrics: the database-backed gauges are read again")
            self._snapshot_failing = False
        publish(snapshot, channels=self._channels)
        return True


async def _loop_lag_watched(app: web.Application) -> AsyncIterator[None]:
    task = asyncio.create_task(watch_loop_lag(), name="event-loop-lag")
    try:
        yield
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def watch_loop_lag(interval_s: float = LAG_INTERVAL_S) -> None:
    """Sleep `interval_s` again and again and record how late each wake-up was: the time a
    ready callback waits for the loop (blocking code, CPU-heavy work on it)."""
    loop = asyncio.get_running_loop()
    while True:
        started = loop.time()
        await asyncio.sleep(interval_s)
        EVENT_LOOP_LAG_SECONDS.observe(max(0.0, loop.time() - started - interval_s))
