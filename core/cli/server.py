"""The one aiohttp application: every channel's routes, health checks, and the runtime
opened and closed in `cleanup_ctx`."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import suppress

from aiohttp import web
from aiohttp.typedefs import Middleware

from core.admin.app import install_admin
from core.admin.views.knowledge_api import KnowledgeApi
from core.log_context import request_ids
from core.ops.access import AdminAccess
from core.ops.client_address import forwarded_client
from core.ops.glibc_malloc import trim_freed_memory
from core.ops.leadership import Leadership
from core.ops.metrics_endpoint import install_metrics
from core.ops.readiness import ReadinessLog, check
from core.ops.request_guards import body_deadline, client_aborts, quiet_malformed_requests, storage_unavailable
from core.ops.runtime import Runtime, desk_port, open_runtime
from core.ops.scheduler import LeaderJobs
from core.pipeline.hub_gate import HubGate
from core.registry import load_channels
from core.settings import Settings
from core.store.db import libpq_url

log = logging.getLogger(__name__)

RUNTIME = web.AppKey("runtime", Runtime)
READINESS_LOG = web.AppKey("readiness_log", ReadinessLog)
LEADERSHIP = web.AppKey("leadership", Leadership)
FORM_BYTES = 64 * 1024
"""The most any handler reads with `request.read()`, `post()` or `json()`: only the
dashboard's forms (sign-in, sign-out, re-index, retry) read that way, and they are a few
hundred bytes. Every other route with a body reads it itself, bounded by its own limit
(`core.request_bodies.read_at_most`), after the caller is authenticated and counted: the
webhooks, and the API (32 KB for a vote, its messages as much as their text and files allow)."""


def create_app(settings: Settings) -> web.Application:
    quiet_malformed_requests()
    guards: list[Middleware] = [
        request_ids,
        forwarded_client(settings.server.trusted_proxies),
        client_aborts,
        body_deadline(settings.server.body_timeout_s),
        storage_unavailable,
    ]
    app = web.Application(client_max_size=FORM_BYTES, middlewares=guards)
    app[READINESS_LOG] = ReadinessLog()
    gate = HubGate()
    channels = load_channels(settings, gate.port)
    for channel in channels.values():
        app.add_routes(channel.routes())
    app.add_routes([web.get("/healthz", healthz), web.get("/readyz", readyz)])
    access = (
        AdminAccess(settings.admin.token, redis_url=settings.redis_url, runtime=RUNTIME)
        if settings.admin.token
        else None
    )
    install_metrics(app, settings, RUNTIME, access=access)

    async def runtime_ctx(app: web.Application) -> AsyncIterator[None]:
        async with open_runtime(settings, channels, gate=gate) as runtime:
            jobs = LeaderJobs(settings, runtime)
            leadership = Leadership(
                libpq_url(settings.resolved_database_url), start_leading=jobs.start, stop_leading=jobs.stop
            )
            await leadership.start()
            app[RUNTIME] = runtime
            app[LEADERSHIP] = leadership
            trimming = asyncio.create_task(trim_freed_memory(lambda: runtime.hub.pulse.beats), name="trim-memory")
            try:
                log.info(
                    "supporthub ready: channels %s, %d knowledge chunks",
                    ", ".join(channels),
                    await runtime.knowledge.chunk_count(),
                )
                yield
            finally:
                trimming.cancel()
                with suppress(asyncio.CancelledError):
                    await trimming
                await leadership.stop()

    app.cleanup_ctx.append(runtime_ctx)
    desk = desk_port(channels)
    app.add_routes(KnowledgeApi(RUNTIME, access).routes())
    install_admin(
        app,
        settings,
        RUNTIME,
        channels=list(channels),
        access=access,
        case_url=desk.case_url if desk is not None else None,
    )
    return app


async def healthz(request: web.Request) -> web.Response:
    return web.json_response({"status": "alive"})


async def readyz(request: web.Request) -> web.Response:
    """200 when the database answers and the knowledge base is loaded, else 503 (the log says
    why, once each time the answer changes)."""
    readiness = await check(request.app.get(RUNTIME))
    request.app[READINESS_LOG].record(readiness)
    body = {
        "database": "ok" if readiness.database is None else "unavailable",
        "knowledge": "ok" if readiness.knowledge is None else "unavailable",
        "chunks": readiness.chunks,
        "leader": leadership.leading if (leadership := request.app.get(LEADERSHIP)) is not None else False,
    }
    return web.json_response(body, status=503 if readiness.problems else 200)
