"""The one aiohttp application: every channel's routes, health checks, and the runtime
opened and closed in `cleanup_ctx`."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

from aiohttp import web

from core.registry import load_channels
from core.runtime import Runtime, open_runtime
from core.scheduler import build_scheduler
from core.settings import Settings

log = logging.getLogger(__name__)

RUNTIME = web.AppKey("runtime", Runtime)
def max_body_bytes(settings: Settings) -> int:
    """Room for the largest message the settings allow: every file in base64 (4 bytes per 3)
    beside the longest text, escaped, plus slack for the JSON around them."""
    files = settings.attachments.max_files * ((settings.attachments.max_bytes + 2) // 3 * 4 + 1024)
    return 64 * 1024 + 6 * settings.api.max_text_length + files


def create_app(settings: Settings) -> web.Application:
    app = web.Application(client_max_size=max_body_bytes(settings))
    channels = load_channels(settings)
    for channel in channels.values():
        app.add_routes(channel.routes())
    app.add_routes([web.get("/healthz", healthz), web.get("/readyz", readyz)])

    async def runtime_ctx(app: web.Application) -> AsyncIterator[None]:
        async with open_runtime(settings, channels) as runtime:
            scheduler = build_scheduler(settings, runtime)
            scheduler.start()
            app[RUNTIME] = runtime
            log.info("supporthub ready: channels %s, %d knowledge chunks",
                     ", ".join(channels), await runtime.knowledge.chunk_count())
            try:
                yield
            finally:
                scheduler.shutdown(wait=False)

    app.cleanup_ctx.append(runtime_ctx)
    return app


async def healthz(request: web.Request) -> web.Response:
    return web.json_response({"status": "alive"})


async def readyz(request: web.Request) -> web.Response:
    runtime = request.app.get(RUNTIME)
    database = runtime is not None and await runtime.database_ready()
    knowledge = runtime is not None and runtime.knowledge.ready()
    body = {
        "database": "ok" if database else "unavailable",
        "knowledge": "ok" if knowledge else "unavailable",
        "chunks": await runtime.knowledge.chunk_count() if runtime is not None else 0,
    }
    return web.json_response(body, status=200 if database and knowledge else 503)
