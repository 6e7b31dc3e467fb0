"""A run's results kept for the dashboard's rehearsals page (`core.store.rehearsal_runs`): the gate
keeps each run it makes, `supporthub rehearse` each of its runs of the turns as written. Keeping
is a courtesy to the page: a database that refuses it is logged, and the run's verdict stands."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence

from sqlalchemy.exc import SQLAlchemyError

from core.ops.runtime import open_database
from core.rehearsals.runner import RehearsalResult
from core.settings import Settings
from core.store.rehearsal_runs import OutcomeRecord, RunKind, RunVerdict, TurnRecord, record

log = logging.getLogger(__name__)


def outcome_record(result: RehearsalResult, *, passed_before: bool | None = None) -> OutcomeRecord:
    return OutcomeRecord(
        name=result.rehearsal.name,
        file=result.rehearsal.path.name,
        passed_before=passed_before,
        turns=tuple(
            TurnRecord(
                customer=turn.said,
                reply=turn.outcome.reply,
                sources=turn.outcome.sources,
                failed=turn.failed,
                explained=turn.explained,
                judged=turn.judged,
            )
            for turn in result.turns
        ),
    )


async def keep(
    settings: Settings,
    results: Sequence[RehearsalResult],
    *,
    kind: RunKind,
    verdict: RunVerdict,
    change: str,
    index_run_id: int | None = None,
    passed_before: Mapping[str, bool] | None = None,
) -> int | None:
    """Record the run in the hub's database; its id, or None when it could not be recorded."""
    before = passed_before or {}
    outcomes = [outcome_record(result, passed_before=before.get(result.rehearsal.name)) for result in results]
    try:
        async with open_database(settings) as (_, sessionmaker), sessionmaker.begin() as session:
            return await record(session, outcomes, kind=kind, verdict=verdict, change=change, index_run_id=index_run_id)
    except (SQLAlchemyError, OSError) as exc:
        log.error("rehearsals: the run could not be recorded for the dashboard: %s: %s", type(exc).__name__, exc)
        return None
