"""The rehearsals page's report on SQLite and PostgreSQL: since which change a rehearsal fails,
the last run it passed in, the failing first, and only the newest runs kept."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.admin.queries.rehearsals import report
from core.store import rehearsal_runs
from core.store.rehearsal_runs import (
    OutcomeRecord,
    RehearsalOutcome,
    RehearsalRun,
    RunKind,
    RunVerdict,
    TurnRecord,
    record,
)

PASSING = (TurnRecord("How do I reset my password?", "Click **Forgot password?**.", ("reset.md",), (), (), ()),)
FAILING = (
    TurnRecord(
        "How do I reset my password?",
        "Our office is open from nine to five.",
        ("reset.md",),
        ("does not say 'Forgot password'",),
        ("ranked: reset.md › Our office 0.61",),
        (),
    ),
)


async def run(
    sessionmaker: async_sessionmaker[AsyncSession],
    change: str,
    *outcomes: OutcomeRecord,
    kind: RunKind = RunKind.COMMAND,
    verdict: RunVerdict = RunVerdict.FAILED,
) -> int:
    async with sessionmaker.begin() as session:
        return await record(session, outcomes, kind=kind, verdict=verdict, change=change)


def reset(turns: tuple[TurnRecord, ...], *, passed_before: bool | None = None) -> OutcomeRecord:
    return OutcomeRecord("Reset a password", "password-reset.yaml", turns, passed_before=passed_before)


def hours(turns: tuple[TurnRecord, ...]) -> OutcomeRecord:
    return OutcomeRecord("Opening hours", "hours.yaml", turns)


async def test_a_failing_rehearsal_says_the_run_it_began_failing_in_and_the_last_it_passed_in(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    passed = await run(sessionmaker, "supporthub rehearse config/rehearsals", reset(PASSING), hours(PASSING))
    began = await run(sessionmaker, "re-index #7 (schedule:nightly): changed reset.md", reset(FAILING), hours(PASSING))
    await run(sessionmaker, "supporthub rehearse config/rehearsals", hours(PASSING))  # it was not among them
    last = await run(sessionmaker, "supporthub rehearse config/rehearsals", hours(PASSING), reset(FAILING))

    async with sessionmaker() as session:
        shown = await report(session)
    assert shown is not None and shown.run.id == last
    failing, fine = shown.rehearsals  # the failing first
    assert (failing.name, failing.passed, fine.name, fine.passed) == ("Reset a password", False, "Opening hours", True)
    assert failing.failing_since is not None and failing.failing_since.id == began
    assert failing.failing_since.change == "re-index #7 (schedule:nightly): changed reset.md"
    assert failing.last_passed is not None and failing.last_passed.id == passed
    assert failing.turns == list(FAILING)
    assert [earlier.id for earlier in shown.earlier] == [last - 1, began, passed]

    async with sessionmaker() as session:
        then = await report(session, began)
    assert then is not None and then.earlier[0].id == passed
    assert then.rehearsals[0].failing_since is not None and then.rehearsals[0].failing_since.id == began


async def test_a_gate_run_it_passed_before_fails_since_that_change(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    await run(sessionmaker, "supporthub rehearse config/rehearsals", reset(FAILING))
    held = await run(
        sessionmaker,
        "re-index #9 (admin:dashboard): changed reset.md",
        reset(FAILING, passed_before=True),
        kind=RunKind.GATE,
        verdict=RunVerdict.HELD_BACK,
    )
    async with sessionmaker() as session:
        shown = await report(session)
    assert shown is not None and shown.run.verdict is RunVerdict.HELD_BACK and shown.run.kind is RunKind.GATE
    [failing] = shown.rehearsals
    assert failing.passed_before and failing.failing_since is not None and failing.failing_since.id == held
    assert failing.last_passed is None  # the index before the change is where it passed, not a run


async def test_no_run_yet_or_no_such_run_reports_nothing(sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    async with sessionmaker() as session:
        assert await report(session) is None
    await run(sessionmaker, "supporthub rehearse", hours(PASSING), verdict=RunVerdict.PASSED)
    async with sessionmaker() as session:
        assert await report(session, 999) is None


async def test_only_the_newest_runs_are_kept_with_their_rehearsals(
    sessionmaker: async_sessionmaker[AsyncSession], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(rehearsal_runs, "KEPT_RUNS", 3)
    ids = [await run(sessionmaker, f"run {n}", hours(PASSING), reset(FAILING)) for n in range(5)]
    async with sessionmaker() as session:
        kept = (await session.scalars(select(RehearsalRun.id).order_by(RehearsalRun.id))).all()
        outcomes = await session.scalar(select(func.count()).select_from(RehearsalOutcome))
    assert kept == ids[2:] and outcomes == 6
