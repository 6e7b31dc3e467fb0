"""What the dashboard's rehearsals page shows (`core.store.rehearsal_runs`): one run — the last, by
default — with each rehearsal's turns as the customer saw them, and for each that failed, since
which change: the first run of its unbroken run of failures, and the last run it passed in.

Three queries, whatever the history: the run, its rehearsals, and the pass or fail of the failing
ones in the runs before it (at most `KEPT_RUNS` of them).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core.store.rehearsal_runs import RehearsalOutcome, RehearsalRun, RunKind, RunVerdict, TurnRecord

EARLIER_SHOWN = 20


@dataclass(frozen=True, slots=True)
class RunRow:
    id: int
    started_at: datetime
    kind: RunKind
    verdict: RunVerdict
    change: str
    index_run_id: int | None
    passed: int
    failed: int

    @classmethod
    def of(cls, run: RehearsalRun) -> RunRow:
        return cls(run.id, run.started_at, run.kind, run.verdict, run.change, run.index_run_id, run.passed, run.failed)


@dataclass(frozen=True, slots=True)
class RehearsalShown:
    name: str
    file: str
    passed: bool
    passed_before: bool | None
    """On the index live before the gate's change; None for a command's run."""
    turns: list[TurnRecord]
    failing_since: RunRow | None = None
    """A failing rehearsal: the first run of its failures up to this one (this run itself when
    it passed before this change)."""
    last_passed: RunRow | None = None
    """A failing rehearsal: the last run before `failing_since` it passed in, if one is kept."""


@dataclass(frozen=True, slots=True)
class RunReport:
    run: RunRow
    rehearsals: list[RehearsalShown]
    """The failing first, then in the order they ran."""
    earlier: list[RunRow]
    """The runs before it, newest first."""


async def runs(session: AsyncSession, *, limit: int = EARLIER_SHOWN, before: int | None = None) -> list[RunRow]:
    """The newest runs (before run `before`, when given), newest first."""
    query = select(RehearsalRun).order_by(RehearsalRun.id.desc()).limit(limit)
    if before is not None:
        query = query.where(RehearsalRun.id < before)
    return [RunRow.of(run) for run in await session.scalars(query)]


async def report(session: AsyncSession, run_id: int | None = None) -> RunReport | None:
    """Run `run_id` (None: the last) as the page shows it; None when there is no such run."""
    query = select(RehearsalRun)
    query = query.where(RehearsalRun.id == run_id) if run_id is not None else query.order_by(RehearsalRun.id.desc())
    run = (await session.scalars(query.limit(1))).first()
    if run is None:
        return None
    outcomes = (
        await session.scalars(
            select(RehearsalOutcome).where(RehearsalOutcome.run_id == run.id).order_by(RehearsalOutcome.id)
        )
    ).all()
    earlier = await runs(session, limit=EARLIER_SHOWN, before=run.id)
    histories = await _histories(session, run.id, [o.name for o in outcomes if not o.passed and not o.passed_before])
    shown = [_shown(outcome, RunRow.of(run), histories.get(outcome.name, [])) for outcome in outcomes]
    shown.sort(key=lambda rehearsal: rehearsal.passed)  # stable: the failing first, each group in order
    return RunReport(RunRow.of(run), shown, earlier)


async def _histories(
    session: AsyncSession, run_id: int, names: Sequence[str]
) -> dict[str, list[tuple[RunRow, bool, bool | None]]]:
    """For each of `names`, its outcomes in the runs before `run_id`, newest first."""
    if not names:
        return {}
    rows = await session.execute(
        select(RehearsalRun, RehearsalOutcome.name, RehearsalOutcome.passed, RehearsalOutcome.passed_before)
        .join(RehearsalOutcome, RehearsalOutcome.run_id == RehearsalRun.id)
        .where(RehearsalRun.id < run_id, RehearsalOutcome.name.in_(names))
        .order_by(RehearsalRun.id.desc())
    )
    histories: dict[str, list[tuple[RunRow, bool, bool | None]]] = {}
    for earlier, name, passed, passed_before in rows:
        histories.setdefault(name, []).append((RunRow.of(earlier), passed, passed_before))
    return histories


def _shown(
    outcome: RehearsalOutcome, run: RunRow, history: Sequence[tuple[RunRow, bool, bool | None]]
) -> RehearsalShown:
    turns = [TurnRecord.from_json(turn) for turn in outcome.turns]
    if outcome.passed:
        return RehearsalShown(outcome.name, outcome.file, True, outcome.passed_before, turns)
    since, last_passed = run, None
    if not outcome.passed_before:
        for earlier, passed, passed_before in history:
            if passed:
                last_passed = earlier
                break
            since = earlier
            if passed_before:  # it passed on the index before that run's change
                break
    return RehearsalShown(outcome.name, outcome.file, False, outcome.passed_before, turns, since, last_passed)
