"""`supporthub sandbox`: the hub with every channel on, each against a local stand-in of its
platform (`core.sandbox`), and a page at /sandbox to try them as customers and as staff."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import socket
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from core.cli.support import listen, uses_settings

if TYPE_CHECKING:
    from core.sandbox.session import Sandbox
    from core.settings import Settings

log = logging.getLogger(__name__)

SANDBOX_DATABASE = "sandbox.db"


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Loopback interface to listen on.")
@click.option("--port", type=int, default=None, help="Port to listen on (default: server.port).")
@uses_settings
def sandbox(settings: Settings, host: str, port: int | None) -> None:
    """Try every channel without accounts: each installed channel's platform (Telegram, SMS,
    email, WhatsApp, the Slack staff desk, a plug-in's own) against a local stand-in, driven
    from a page at /sandbox. Loopback only; its own database."""
    from core.cli.exposure import is_loopback

    if not is_loopback(host):
        click.echo(
            f"supporthub: the sandbox listens on loopback only (127.0.0.1, ::1 or localhost), not {host!r}: "
            "its stand-ins accept any message as a platform's",
            err=True,
        )
        sys.exit(2)
    if settings.knowledge.chroma_url:
        click.echo(
            "supporthub: the sandbox searches the embedded index in data_dir; unset knowledge.chroma_url "
            "(SUPPORTHUB_KNOWLEDGE__CHROMA_URL) so it cannot write to a shared Chroma server",
            err=True,
        )
        sys.exit(2)
    port = port or settings.server.port
    listening = listen(host, port)
    with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C is how it stops
        asyncio.run(_run(settings, listening, host, port))


async def _run(settings: Settings, listening: socket.socket, host: str, port: int) -> None:
    from aiohttp import web

    from core.cli.server import create_app
    from core.log_context import AccessLogger
    from core.sandbox.page import install_sandbox
    from core.sandbox.session import Sandbox

    hub_url = f"http://{host}:{port}" if ":" not in host else f"http://[{host}]:{port}"
    stand_ins = Sandbox()
    await stand_ins.start()
    runner: web.AppRunner | None = None
    database = (settings.data_dir / SANDBOX_DATABASE).resolve()
    for leftover in (database, *(database.with_name(database.name + suffix) for suffix in ("-wal", "-shm"))):
        leftover.unlink(missing_ok=True)  # each run starts empty: no case left waiting from the last one
    try:
        sandboxed = sandbox_settings(settings, stand_ins, hub_url=hub_url, database=database)
        app = create_app(sandboxed)
        install_sandbox(app, stand_ins)
        runner = web.AppRunner(app, access_log_class=AccessLogger)
        await runner.setup()
        await web.SockSite(runner, listening).start()
        log.warning(
            "SANDBOX: %s are local stand-ins on 127.0.0.1 — nothing reaches a real platform; database %s. "
            "Not for production.",
            ", ".join(pane.title for pane in stand_ins.panes.values()),
            database,
        )
        click.echo(f"supporthub sandbox: open {hub_url}/sandbox (the widget is at {hub_url}/); Ctrl-C stops it")
        stopped = asyncio.Event()
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stopped.set)
        await stopped.wait()
    finally:
        if runner is not None:
            await runner.cleanup()
        await stand_ins.stop()


def sandbox_settings(settings: Settings, stand_ins: Sandbox, *, hub_url: str, database: Path) -> Settings:
    """`settings` with every channel on and pointed at its stand-in, a database of the sandbox's
    own (the SQLite file `database`, never `database_url`), no LLM, no Redis and no scheduled jobs.
    Built without reading the environment again: a SUPPORTHUB_DATABASE_URL or a real bot token
    there must not reach it."""
    from core.settings import settings_class

    values = settings.model_dump()
    values |= {
        **stand_ins.sections(hub_url=hub_url, operator=settings),
        "channels": stand_ins.channels,
        "database_url": f"sqlite+aiosqlite:///{database}",
        "redis_url": "",
        "schedule": [],
        "llm": {},  # answers offline: a configured model's provider is a platform too
    }
    return settings_class().model_validate(values)
