"""What every `supporthub` command shares: `--config`, loaded settings, logging, one
transaction on the database, and ages in tables.

Like every module the `supporthub` group imports, this one imports the standard library and
click only at module level: `supporthub --help` loads no settings, database or model
(`tests/unit/core/cli/test_light_help.py`). What a command needs, it imports when it runs.
"""

from __future__ import annotations

import asyncio
import functools
import socket
import sys
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from core.settings import Settings

T = TypeVar("T")

PORT_HINT = (
    "Choose another with --port, SUPPORTHUB_SERVER__PORT or [server] port in supporthub.toml "
    "(PORT=9000 make run); the interface with --host or SUPPORTHUB_SERVER__HOST."
)


def listen(host: str, port: int) -> socket.socket:
    """The server's socket, bound before anything is loaded: a port in use is one line and exit
    status 2 at once, not "ready" and then aiohttp's traceback once the model is loaded."""
    try:
        return socket.create_server((host, port), family=socket.AF_INET6 if ":" in host else socket.AF_INET)
    except OSError as exc:
        click.echo(f"supporthub: cannot listen on {host}:{port}: {exc.strerror or exc}. {PORT_HINT}", err=True)
        sys.exit(2)


def uses_settings(command: Callable[..., Any]) -> Callable[..., Any]:
    """Give a command `--config` and a loaded `settings` argument; a bad setting exits 2."""

    @click.option(
        "--config",
        "config_path",
        type=click.Path(path_type=Path, dir_okay=False),
        default=None,
        help="TOML settings file (default: config/supporthub.toml when present).",
    )
    @functools.wraps(command)
    def wrapper(config_path: Path | None, **kwargs: Any) -> Any:
        from core.cli.data_dir import UnusableDirectory, check_writable
        from core.ops.logs import configure_logging
        from core.registry import UnknownChannelError
        from core.settings import SettingsError, load_settings

        try:
            settings = load_settings(config_path)
        except SettingsError as exc:
            click.echo(f"supporthub: invalid setting {exc}", err=True)
            sys.exit(2)
        configure_logging(settings)
        try:
            check_writable(settings)
        except UnusableDirectory as exc:
            click.echo(f"supporthub: {exc}", err=True)
            sys.exit(2)
        try:
            return command(settings, **kwargs)
        except UnknownChannelError as exc:
            click.echo(f"supporthub: invalid setting {exc}", err=True)
            sys.exit(2)

    return wrapper


def in_transaction(settings: Settings, work: Callable[[Session], T]) -> T:
    """Run `work` in one transaction on the database, opened as `serve` opens it; a database
    that cannot take the transaction ends the command with its reason, not a traceback."""
    from core.channel import StorageUnavailable
    from core.ops.runtime import open_database
    from core.store.transactions import transactions_for

    async def run() -> T:
        async with open_database(settings) as (engine, sessionmaker):
            transactions = transactions_for(engine, sessionmaker)
            try:
                return await transactions.run(work)
            finally:
                await transactions.close()

    try:
        return asyncio.run(run())
    except StorageUnavailable as exc:
        raise click.ClickException(str(exc)) from None


def age(since: datetime, now: datetime) -> str:
    """How long from `since` to `now`, for a table: "7 min", "3 h 05 min", "4 days"."""
    minutes = int((now - since).total_seconds() // 60)
    if minutes < 60:
        return f"{minutes} min"
    if minutes < 48 * 60:
        return f"{minutes // 60} h {minutes % 60:02d} min"
    return f"{minutes // (24 * 60)} days"
