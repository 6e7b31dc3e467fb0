"""`supporthub cases`: the open cases, oldest first, with their age and owner."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import click

from core.cli.support import age, in_transaction, uses_settings

if TYPE_CHECKING:
    from core.settings import Settings


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print the cases as JSON.")
@uses_settings
def cases(settings: Settings, as_json: bool) -> None:
    """List open cases (waiting for a person, or with one) with their age and owner."""
    from core.handoff.desk_store import open_cases

    found = in_transaction(settings, open_cases)
    now = datetime.now(UTC)
    if as_json:
        click.echo(
            json.dumps(
                [
                    {
                        "id": c.id,
                        "state": c.state,
                        "channel": c.channel,
                        "owner": c.owner,
                        "reason": c.reason,
                        "opened_at": c.opened_at.isoformat(),
                        "age_minutes": int((now - c.opened_at).total_seconds() // 60),
                    }
                    for c in found
                ],
                indent=2,
            )
        )
        return
    if not found:
        click.echo("no open cases")
        return
    click.echo(f"{'case':32}  {'state':8}  {'age':12}  {'owner':12}  {'channel':8}  reason")
    for c in found:
        click.echo(
            f"{c.id:32}  {c.state:8}  {age(c.opened_at, now):12}  {(c.owner or '-'):12}  {c.channel:8}  {c.reason}"
        )


COMMANDS = [cases]
