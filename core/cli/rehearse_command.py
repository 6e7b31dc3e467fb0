"""`supporthub rehearse`: run the team's rehearsals (docs/rehearsals.md) and say what failed.

Exit status 0 when every rehearsal passed, 1 when one failed, 2 when a file cannot be read: a
company can run it in its own CI after changing the help centre or the settings.
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from core.cli.support import uses_settings

if TYPE_CHECKING:
    from core.rehearsals.runner import RehearsalResult
    from core.settings import Settings

DEFAULT_FOLDER = Path("config/rehearsals")


@click.command()
@click.argument("where", type=click.Path(path_type=Path), default=DEFAULT_FOLDER)
@click.option(
    "--variants",
    is_flag=True,
    help="Also try each customer turn with a typo, a preamble and shorter (and, with an LLM, in its paraphrases).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the results as one JSON object.")
@uses_settings
def rehearse(settings: Settings, where: Path, variants: bool, as_json: bool) -> None:
    """Run the rehearsals in WHERE (a file, or a folder of *.yaml; default config/rehearsals)
    through the hub's answering path, on a throwaway copy of its state: nothing reaches a
    customer, the staff, the audit trail or the dashboard's figures. The run (its turns as
    written) is kept for the dashboard's rehearsals page."""
    from core.rehearsals.records import keep
    from core.rehearsals.runner import run_rehearsals
    from core.rehearsals.script import RehearsalFileError, load_all
    from core.store.rehearsal_runs import RunKind, RunVerdict

    try:
        rehearsals = load_all(where)
    except RehearsalFileError as exc:
        click.echo(f"supporthub: {exc}", err=True)
        sys.exit(2)

    def shown(result: RehearsalResult) -> None:
        if not as_json:
            for line in _lines(result):
                click.echo(line)

    async def rehearsed() -> list[RehearsalResult]:
        results = await run_rehearsals(settings, rehearsals, variants=variants, progress=shown)
        as_written = [r for r in results if r.wording is None]
        verdict = RunVerdict.PASSED if all(r.passed for r in as_written) else RunVerdict.FAILED
        await keep(settings, as_written, kind=RunKind.COMMAND, verdict=verdict, change=f"supporthub rehearse {where}")
        return results

    results = asyncio.run(rehearsed())
    failed = [r for r in results if not r.passed]
    if as_json:
        click.echo(json.dumps({"passed": not failed, "rehearsals": [_json(r) for r in results]}, indent=2))
    else:
        click.echo(f"\n{len(results) - len(failed)} of {len(results)} passed")
        judged = [j for r in results for j in r.judgements]
        if judged:
            met = sum(j.met is True for j in judged)
            unmet = sum(j.met is False for j in judged)
            click.echo(
                f"criteria in plain words, judged apart: {met} met, {unmet} not met, "
                f"{len(judged) - met - unmet} not judged"
            )
    sys.exit(1 if failed else 0)


def _lines(result: RehearsalResult) -> list[str]:
    name = result.rehearsal.name + (f" — {result.wording}" if result.wording else "")
    lines = [f"PASS  {name}"] if result.passed else [f"FAIL  {name}  ({result.rehearsal.path})"]
    for number, turn in enumerate(result.turns, 1):
        if turn.failed:
            lines.append(f"  turn {number}: customer: {turn.said}")
            said = ["(none)"] if turn.outcome.reply is None else turn.outcome.reply.splitlines()
            lines += [(f"           {line}" if i else f"    reply: {line}").rstrip() for i, line in enumerate(said)]
            lines += [f"    ✗ {failure}" for failure in turn.failed]
            lines += [f"    {line}" for line in turn.explained]
        for judgement in turn.judged:
            mark = {True: "met", False: "NOT MET", None: "?"}[judgement.met]
            lines.append(f"  judged, turn {number} [{mark}] {judgement.criterion}: {judgement.why}")
    return lines


def _json(result: RehearsalResult) -> dict[str, Any]:
    from core.rehearsals.records import outcome_record

    return {
        "name": result.rehearsal.name,
        "file": str(result.rehearsal.path),
        "wording": result.wording,
        "passed": result.passed,
        "turns": [turn.as_json() for turn in outcome_record(result).turns],
    }
