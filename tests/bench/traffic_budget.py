"""The traffic bench's budget: what a message may cost, as recorded in `traffic_budget.json`.

Each figure is taken against the floor measured in the same run (the model batch-encoding the
same questions), so a budget recorded on one machine holds on a slower or busier one:

- `share_of_floor`: answered/s at 50 clients over the floor's questions/s (higher is better);
- `alone_p50_in_floor_questions`: one client's p50 over the floor's CPU time a question, i.e.
  how many batched questions' encodes one lone message's wait is worth (lower is better).

A run fails when a figure is more than `ALLOWED_DROP` worse than the recorded one. A change
that costs more says so in its closing note and records the new figures
(`python -m tests.bench.bench_traffic --record`); nothing else writes the file.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

BUDGET_FILE = Path(__file__).with_name("traffic_budget.json")
ALLOWED_DROP = 0.10
CORES = 2
"""The floor's questions/s are spread over this many cores; the bench's machine has two."""
HIGHER_IS_BETTER = {"share_of_floor": True, "alone_p50_in_floor_questions": False}


def figures_of(measured: Mapping[str, Any]) -> dict[str, dict[str, float]]:
    """The budgeted figures of one `bench_traffic.run`, per database it ran on."""
    encode = float(measured["encode_rate"])
    floor_s_per_question = CORES / encode
    out: dict[str, dict[str, float]] = {}
    for database in ("SQLite", "PostgreSQL"):
        if database in measured:
            ran = measured[database]
            out[database] = {
                "share_of_floor": ran["loaded"]["rate"] / encode,
                "alone_p50_in_floor_questions": ran["alone"]["p50_ms"] / 1000 / floor_s_per_question,
            }
    return out


def over_budget(now: Mapping[str, Mapping[str, float]], budget: Mapping[str, Any]) -> list[str]:
    """Each figure of `now` more than `ALLOWED_DROP` worse than `budget`'s, said in a line."""
    lines = []
    for database, figures in now.items():
        recorded = budget.get(database, {})
        for name, value in figures.items():
            if name not in recorded:
                continue
            limit = recorded[name] * (1 - ALLOWED_DROP if HIGHER_IS_BETTER[name] else 1 + ALLOWED_DROP)
            worse = value < limit if HIGHER_IS_BETTER[name] else value > limit
            if worse:
                lines.append(f"{database} {name}: {value:.3g}, recorded {recorded[name]:.3g} (limit {limit:.3g})")
    return lines


def load() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(BUDGET_FILE.read_text(encoding="utf-8"))
    return loaded


def record(now: Mapping[str, Mapping[str, float]], *, note: str) -> None:
    BUDGET_FILE.write_text(
        json.dumps(
            {"recorded": note, **{db: {k: round(v, 4) for k, v in f.items()} for db, f in now.items()}}, indent=2
        )
        + "\n",
        encoding="utf-8",
    )
