"""`supporthub ingest | reindex | search | eval`: the knowledge commands, registered on the main group.

Each command opens the database (creating tables when missing) and the knowledge base with
the app's settings, does one thing, and closes them. knowledge itself never reads the app's
settings: this module wires it.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import click

from core.cli.support import uses_settings

if TYPE_CHECKING:
    from core.answering.answer_eval import EvalReport
    from core.answering.calibration import Calibration
    from core.settings import Settings
    from knowledge.base import KnowledgeBase
    from knowledge.evaluation import EvalQuestion
    from knowledge.hits import Hit
    from knowledge.ingest.ingestor import IngestSummary

T = TypeVar("T")


def _with_kb(settings: Settings, action: Callable[[KnowledgeBase], Awaitable[T]]) -> T:
    from core.ops.runtime import open_knowledge

    async def main() -> T:
        async with open_knowledge(settings) as kb:
            return await action(kb)

    return asyncio.run(main())


def _echo_summary(summary: IngestSummary) -> None:
    click.echo(summary.line)
    for skipped in summary.skipped_files:
        click.echo(f"skipped {skipped.source}: {skipped.reason}", err=True)
    if summary.kept_ingested:
        names = ", ".join(summary.kept_ingested[:5]) + (", …" if len(summary.kept_ingested) > 5 else "")
        click.echo(
            f"kept {len(summary.kept_ingested)} document(s) ingested by hand, outside knowledge.paths "
            f"and knowledge.sources: {names}; `supporthub reindex --prune` removes them",
            err=True,
        )


@click.command("ingest")
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@click.option("--no-progress", is_flag=True, help="No progress bar.")
@uses_settings
def ingest_command(settings: Settings, paths: tuple[Path, ...], no_progress: bool) -> None:
    """Add or update the files and folders PATHS in the knowledge base. Those outside
    knowledge.paths and the folder sources stay until `supporthub reindex --prune`."""
    summary = _with_kb(
        settings,
        lambda kb: kb.ingest(
            list(paths), trigger="cli:ingest", managed=settings.knowledge.folders(), progress=not no_progress
        ),
    )
    _echo_summary(summary)


@click.command("reindex")
@click.option("--no-progress", is_flag=True, help="No progress bar.")
@click.option("--prune", is_flag=True, help="Also remove the documents added by hand with `supporthub ingest`.")
@click.option(
    "--force",
    is_flag=True,
    help="Go ahead even when more than knowledge.max_removed_share of the documents would be removed.",
)
@uses_settings
def reindex_command(settings: Settings, no_progress: bool, prune: bool, force: bool) -> None:
    """Bring the index in line with knowledge.paths and knowledge.sources: add and update their
    documents, remove those whose file is gone. Documents added with `supporthub ingest` are
    kept (--prune removes them); documents written in the dashboard or pushed through the API
    are kept."""
    from core.rehearsals.gate import RehearsalGate
    from knowledge.ingest.ingestor import HeldBack, TooManyRemoved

    try:
        summary = _with_kb(
            settings,
            lambda kb: kb.reindex(
                settings.knowledge.folders(),
                sites=settings.knowledge.sites(),
                trigger="cli:reindex",
                prune_ingested=prune,
                force=force,
                progress=not no_progress,
                gate=RehearsalGate.of(settings),
            ),
        )
    except (FileNotFoundError, TooManyRemoved, HeldBack) as exc:
        raise click.ClickException(str(exc)) from None
    _echo_summary(summary)


@click.command("search")
@click.argument("query")
@click.option("--k", "k", default=5, show_default=True, type=click.IntRange(1, 50), help="How many hits.")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list.")
@uses_settings
def search_command(settings: Settings, query: str, k: int, as_json: bool) -> None:
    """Search the knowledge base for QUERY."""
    from knowledge.hits import hit_json

    async def search(kb: KnowledgeBase) -> list[Hit]:
        return await asyncio.to_thread(kb.search_sync, query, k)

    hits = _with_kb(settings, search)
    if as_json:
        click.echo(json.dumps([hit_json(hit) for hit in hits], ensure_ascii=False, indent=2))
        return
    if not hits:
        click.echo("no results")
    for rank, hit in enumerate(hits, 1):
        click.echo(f"{rank}. {hit.title} › {hit.section}  (score {hit.score:.3f}, relevance {hit.relevance:.3f})")
        click.echo(f"   {hit.source}")
        click.echo("   " + hit.text.replace("\n", "\n   "))
        click.echo()


@dataclass(frozen=True, slots=True)
class _EvalFile:
    path: Path
    questions: list[EvalQuestion]


def _eval_file(ctx: click.Context, param: click.Parameter, path: Path) -> _EvalFile:
    from knowledge.evaluation import EvalFileError, load_questions

    try:
        return _EvalFile(path, load_questions(path))
    except EvalFileError as exc:
        raise click.BadParameter(f"{path}: {exc}", ctx=ctx, param=param) from None
    except OSError as exc:
        raise click.BadParameter(f"{path}: {exc.strerror or exc}", ctx=ctx, param=param) from None


@click.command("eval")
@click.argument(
    "eval_file", metavar="FILE.jsonl", callback=_eval_file, type=click.Path(exists=True, dir_okay=False, path_type=Path)
)
@click.option(
    "--k",
    "k",
    default=5,
    show_default=True,
    type=click.IntRange(1, 50),
    help="Documents scored per search (hit@k, MRR@k).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the figures as one JSON object.")
@click.option(
    "--calibrate",
    is_flag=True,
    help="Learn the answer bar from the lines not marked held_out, keep it for every process, then report.",
)
@uses_settings
def eval_command(settings: Settings, eval_file: _EvalFile, k: int, as_json: bool, calibrate: bool) -> None:
    """Measure search and answers on FILE.jsonl: one {"question": ..., "expected_source": ...}
    per line; expected_source null means the bot should decline."""
    from core.answering.answer_eval import evaluate, format_report, report_json, searched
    from core.answering.calibration import TooFewLines, fit
    from core.ops.runtime import open_database
    from core.store.calibrations import load, save
    from knowledge.evaluation import unknown_sources

    questions = eval_file.questions
    collection = settings.knowledge.collection

    async def run(kb: KnowledgeBase) -> tuple[EvalReport, Calibration | None]:
        unknown = await asyncio.to_thread(unknown_sources, kb, questions)
        if unknown:
            first = unknown[0]
            more = f" (and {len(unknown) - 1} more)" if len(unknown) > 1 else ""
            raise click.UsageError(
                f"line {first.line}: expected_source {first.expected_source!r} matches no indexed document{more}; "
                "check the name, or ingest the file first"
            )
        lines = await asyncio.to_thread(searched, kb, settings.answer, questions)
        learned: Calibration | None
        async with open_database(settings) as (_, sessionmaker):
            if calibrate:
                fitting = [line for line in lines if not line.question.held_out]
                try:
                    learned = await asyncio.to_thread(fit, fitting, settings.answer, source=eval_file.path.name)
                except TooFewLines as exc:
                    raise click.UsageError(str(exc)) from None
                await save(sessionmaker, collection, learned)
            else:
                learned = await load(sessionmaker, collection)
        report = await asyncio.to_thread(evaluate, kb, settings.answer, lines, k, learned=learned)
        return report, learned if calibrate else None

    report, learned = _with_kb(settings, run)
    if as_json:
        click.echo(json.dumps(report_json(report), indent=2))
        return
    if learned is not None:
        click.echo(f"calibrated: answer bar {learned.bar:.2f}, {learned.why}; kept for every process\n")
    click.echo(format_report(report))


COMMANDS = (ingest_command, reindex_command, search_command, eval_command)
