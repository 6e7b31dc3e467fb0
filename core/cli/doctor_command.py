"""`supporthub doctor`, the command: its options, and the report printed from the checks'
outcomes (`core.cli.doctor`, imported when the command runs: `--help` loads no check)."""

from __future__ import annotations

import asyncio
import sys
from typing import TYPE_CHECKING

import click

from core.cli.support import uses_settings

if TYPE_CHECKING:
    from core.cli.doctor import Outcome
    from core.settings import Settings

DEFAULT_TIMEOUT_S = 10.0


@click.command()
@click.option(
    "--timeout",
    "timeout_s",
    type=click.FloatRange(min=0, min_open=True),
    default=DEFAULT_TIMEOUT_S,
    show_default=True,
    help="Seconds each check may take (loading the model gets at least 60).",
)
@uses_settings
def doctor(settings: Settings, timeout_s: float) -> None:
    """Check the database, the index, the model, every channel and the LLM, live.

    Prints where it looks, then OK, WARN or FAIL with the reason for each; exits 1 when anything
    failed. Writes nothing.
    """
    from core.cli.doctor import all_checks, run_checks, where_it_looks
    from core.ops.logs import settings_secrets

    click.echo(where_it_looks(settings))

    async def main() -> list[Outcome]:
        checks = all_checks(settings, timeout_s)
        width = max(len(check.name) for check in checks) + 3
        outcomes = []
        async for outcome in run_checks(checks, settings_secrets(settings)):
            click.echo(f"{outcome.status:<6}{outcome.name:<{width}}{outcome.detail}")
            outcomes.append(outcome)
        return outcomes

    outcomes = asyncio.run(main())
    failed = [outcome.name for outcome in outcomes if outcome.status == "FAIL"]
    skipped = sum(outcome.status == "SKIP" for outcome in outcomes)
    warned = sum(outcome.status == "WARN" for outcome in outcomes)
    checked = len(outcomes) - skipped
    notes = [f"{skipped} skipped"] * bool(skipped) + [f"{warned} warning{'s' * (warned > 1)}"] * bool(warned)
    note = f" ({', '.join(notes)})" if notes else ""
    if failed:
        click.echo(f"{len(failed)} of {checked} checks failed: {', '.join(failed)}{note}")
        sys.exit(1)
    click.echo(f"all {checked} checks passed{note}")
