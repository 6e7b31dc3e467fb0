"""The rehearsals' runs as the dashboard shows them (/admin/rehearsals, docs/rehearsals.md): each
run of the re-index gate or of `supporthub rehearse`, what it ran against, and each rehearsal's
turns as the customer would have seen them. A rehearsal's conversations themselves live and die
in their throwaway database (`core.rehearsals.runner`); only this record of the run is kept, the
newest `KEPT_RUNS`."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Boolean, ForeignKey, Integer, String, delete, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from core.store.db import Base, state_type, utcnow

KEPT_RUNS = 200
"""Older runs are deleted as a new one is recorded: a re-index a day keeps half a year."""


class RunKind(StrEnum):
    GATE = "gate"
    """Before a re-index's changes went live (`knowledge.rehearsal_gate`)."""
    COMMAND = "command"
    """`supporthub rehearse`, against the index live then."""


class RunVerdict(StrEnum):
    PASSED = "passed"
    FAILED = "failed"
    """Some failed; whatever the run was checking went ahead (the gate's `warn`, or failures
    that were there before the change)."""
    HELD_BACK = "held_back"
    """The gate kept the index live before: a rehearsal that passed before failed on the change."""


class RehearsalRun(Base):
    __tablename__ = "rehearsal_runs"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    started_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    kind: Mapped[RunKind] = mapped_column(state_type(RunKind))
    verdict: Mapped[RunVerdict] = mapped_column(state_type(RunVerdict))
    change: Mapped[str] = mapped_column(String(1000))
    """What the run rehearsed, in words: the re-index's trigger and the documents it changed, or
    `supporthub rehearse` on the live index."""
    index_run_id: Mapped[int | None] = mapped_column(Integer, index=True)
    """The gate's re-index (`index_runs.id`); None for a command's run."""
    passed: Mapped[int] = mapped_column(Integer)
    failed: Mapped[int] = mapped_column(Integer)


class RehearsalOutcome(Base):
    """One rehearsal in one run."""

    __tablename__ = "rehearsal_outcomes"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("rehearsal_runs.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(300))
    file: Mapped[str] = mapped_column(String(500))
    passed: Mapped[bool] = mapped_column(Boolean)
    passed_before: Mapped[bool | None] = mapped_column(Boolean)
    """On the index live before the gate's change; None for a command's run."""
    turns: Mapped[list[Any]] = mapped_column()
    """`TurnRecord.as_json` objects, in order."""


@dataclass(frozen=True, slots=True)
class Judged:
    """A criterion in plain words, as the configured LLM judged the reply: `met` None when no
    LLM judged it (none configured, or it failed), `why` then saying so."""

    criterion: str
    met: bool | None
    why: str


@dataclass(frozen=True, slots=True)
class TurnRecord:
    """A turn as the customer saw it, and what did not hold."""

    customer: str
    """What the customer wrote."""
    reply: str | None
    sources: tuple[str, ...]
    failed: tuple[str, ...]
    explained: tuple[str, ...]
    """How the offline path decided, on a failure (`supporthub ask --explain`)."""
    judged: tuple[Judged, ...]

    def as_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, item: dict[str, Any]) -> TurnRecord:
        return cls(
            customer=item["customer"],
            reply=item["reply"],
            sources=tuple(item["sources"]),
            failed=tuple(item["failed"]),
            explained=tuple(item["explained"]),
            judged=tuple(Judged(j["criterion"], j["met"], j["why"]) for j in item["judged"]),
        )


@dataclass(frozen=True, slots=True)
class OutcomeRecord:
    name: str
    file: str
    turns: tuple[TurnRecord, ...]
    passed_before: bool | None = None

    @property
    def passed(self) -> bool:
        return all(not turn.failed for turn in self.turns)


async def record(
    session: AsyncSession,
    outcomes: Sequence[OutcomeRecord],
    *,
    kind: RunKind,
    verdict: RunVerdict,
    change: str,
    index_run_id: int | None = None,
) -> int:
    """The run and its outcomes, in `session`'s transaction; the runs past `KEPT_RUNS` go."""
    passed = sum(1 for outcome in outcomes if outcome.passed)
    run = RehearsalRun(
        kind=kind,
        verdict=verdict,
        change=change[:1000],
        index_run_id=index_run_id,
        passed=passed,
        failed=len(outcomes) - passed,
    )
    session.add(run)
    await session.flush()
    session.add_all(
        RehearsalOutcome(
            run_id=run.id,
            name=outcome.name[:300],
            file=outcome.file[:500],
            passed=outcome.passed,
            passed_before=outcome.passed_before,
            turns=[turn.as_json() for turn in outcome.turns],
        )
        for outcome in outcomes
    )
    oldest_kept = select(RehearsalRun.id).order_by(RehearsalRun.id.desc()).offset(KEPT_RUNS - 1).limit(1)
    floor = (await session.execute(oldest_kept)).scalar()
    if floor is not None:
        await session.execute(delete(RehearsalOutcome).where(RehearsalOutcome.run_id < floor))
        await session.execute(delete(RehearsalRun).where(RehearsalRun.id < floor))
    return run.id
