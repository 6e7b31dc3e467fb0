"""The gate of every re-index (`knowledge.rehearsal_gate`, docs/rehearsals.md): before a run's
changes go live, the team's rehearsals run against the index live now and against the run's
candidate (`knowledge.ingest.ingestor.Gate`). A rehearsal that passed before and fails now holds
the candidate back (`block`: the index live before stays live, the run is recorded with the
reason, which the dashboard's index runs show) or is logged (`warn`, the default). Each run is
kept for the dashboard's rehearsals page with the candidate's replies (`core.rehearsals.records`).

Each side is rehearsed on a folder of its own that holds only that version of the local index
(a link to it), as `supporthub rehearse` would search it. Past `knowledge.brute_force_max_chunks`
search asks chroma, which the run has already written: the candidate cannot be tried apart
from it, so the gate says so in the log and lets the run go live.
"""

from __future__ import annotations

import logging
import tempfile
import textwrap
from collections.abc import Sequence
from pathlib import Path

from core.rehearsals.records import keep
from core.rehearsals.runner import RehearsalResult, run_rehearsals
from core.rehearsals.script import Rehearsal, RehearsalFileError, load_all
from core.settings import Settings
from core.store.rehearsal_runs import RunKind, RunVerdict
from knowledge.ingest.ingestor import Proposed

log = logging.getLogger(__name__)

REPLY_SHOWN = 160
"""The longest start of a failing reply the gate's reason quotes."""

NAMED = 5
"""The most documents a run's change names; the rest are counted."""


class RehearsalGate:
    def __init__(self, settings: Settings) -> None:
        self._settings = settings

    @classmethod
    def of(cls, settings: Settings) -> RehearsalGate | None:
        """The gate `settings` ask for; None when it is off or the team has no rehearsals yet."""
        folder = settings.knowledge.rehearsals
        if settings.knowledge.rehearsal_gate == "off" or not folder.is_dir() or not any(folder.glob("*.y*ml")):
            return None
        return cls(settings)

    async def __call__(self, proposed: Proposed) -> str | None:
        blocking = self._settings.knowledge.rehearsal_gate == "block"
        try:
            rehearsals = load_all(self._settings.knowledge.rehearsals)
        except RehearsalFileError as exc:
            log.error("re-index: the rehearsals cannot be read, so none ran: %s", exc)
            return f"held back: the rehearsals cannot be read: {exc}" if blocking else None
        if not (proposed.candidate / "vectors.npy").exists():
            log.warning(
                "re-index: rehearsals not run: past knowledge.brute_force_max_chunks the new index is searched "
                "through chroma, which this run has written already"
            )
            return None
        if proposed.live is None:
            return None  # the first index: no rehearsal passed before it
        before = {result.rehearsal.name: result.passed for result in await self._rehearsed(proposed.live, rehearsals)}
        after = await self._rehearsed(proposed.candidate, rehearsals)
        regressed = {
            result.rehearsal.name: _first_failure(result)
            for result in after
            if not result.passed and before.get(result.rehearsal.name)
        }
        failed = sum(1 for result in after if not result.passed)
        log.info(
            "re-index: rehearsals %d passed, %d failed since this change, %d failed before it too",
            len(after) - failed,
            len(regressed),
            failed - len(regressed),
        )
        verdict = RunVerdict.HELD_BACK if blocking and regressed else RunVerdict.FAILED if failed else RunVerdict.PASSED
        await keep(
            self._settings,
            after,
            kind=RunKind.GATE,
            verdict=verdict,
            change=change_in_words(proposed),
            index_run_id=proposed.run_id,
            passed_before=before,
        )
        if not regressed:
            return None
        reason = "; ".join(f"rehearsal {name!r} passed before and fails now: {why}" for name, why in regressed.items())
        if blocking:
            log.error("re-index held back, the index before it stays live: %s", reason)
            return (
                f"held back by the rehearsals: {reason}. The index before it stays live: fix the article (or "
                "the rehearsal, if the change was meant), then re-index; `supporthub rehearse` shows the live "
                "index's replies, /admin/rehearsals this run's"
            )
        log.warning("re-index goes live although %s (knowledge.rehearsal_gate = warn)", reason)
        return None

    async def _rehearsed(self, version: Path, rehearsals: Sequence[Rehearsal]) -> list[RehearsalResult]:
        """Every rehearsal run on `version` of the local index."""
        settings = self._settings
        with tempfile.TemporaryDirectory(prefix="supporthub-gate-") as folder:
            local = Path(folder) / "bm25" / settings.knowledge.collection
            local.mkdir(parents=True)
            (local / version.name).symlink_to(version, target_is_directory=True)
            (local / "CURRENT").write_text(version.name, encoding="utf-8")
            on_version = settings.model_copy(
                update={
                    "data_dir": Path(folder),
                    "database_url": settings.resolved_database_url,
                    "knowledge": settings.knowledge.model_copy(update={"chroma_url": ""}),
                }
            )
            return await run_rehearsals(on_version, rehearsals)


def change_in_words(proposed: Proposed) -> str:
    """The re-index a gate's run rehearsed, as the dashboard names it."""
    run = f"re-index #{proposed.run_id} ({proposed.trigger})"
    changes = [
        f"{verb} {', '.join(sources[:NAMED])}" + (f" and {len(sources) - NAMED} more" if len(sources) > NAMED else "")
        for verb, sources in (("changed", proposed.changed), ("removed", proposed.removed))
        if sources
    ]
    return f"{run}: {'; '.join(changes)}" if changes else run


def _first_failure(result: RehearsalResult) -> str | None:
    """The first failing turn: what the customer said, what did not hold, and the reply's start."""
    for number, turn in enumerate(result.turns, 1):
        if turn.failed:
            shown = textwrap.shorten(turn.outcome.reply or "(no reply)", REPLY_SHOWN, placeholder=" …")
            return f"turn {number} ({turn.said!r}): {turn.failed[0]} (the reply: {shown!r})"
    return None
