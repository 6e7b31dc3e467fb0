"""What every `supporthub` command shares: `--config`, loaded settings, logging."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from core.data_dir import UnusableDirectory, check_writable
from core.logs import configure_logging
from core.registry import UnknownChannelError
from core.settings import SettingsError, load_settings


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
