"""`supporthub rehearse` on 50 rehearsals of three turns each, offline, as a support team's CI
runs it: the installed command in a process of its own (the model and the index loaded by it),
timed from start to exit, next to issue 59's ceiling of 30 s.

The rehearsals are the sample's own questions (config/eval/sample-questions.jsonl), three to a
rehearsal, each expecting its labelled source; whether they pass is reported beside the time
(the answers are the bench_judgement's business), so a fast run that answered nothing shows.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SUPPORTHUB = str(Path(sys.executable).parent / "supporthub")
QUESTIONS = ROOT / "config" / "eval" / "sample-questions.jsonl"
REHEARSALS, TURNS = 50, 3
CEILING_S = 30.0
"""The longest 50 rehearsals of three turns may take, offline (issue 59)."""


def _written(folder: Path) -> None:
    asked = [json.loads(line) for line in QUESTIONS.read_text(encoding="utf-8").splitlines() if line.strip()]
    for number in range(REHEARSALS):
        turns = [asked[(number * TURNS + i) % len(asked)] for i in range(TURNS)]
        lines = [f"name: rehearsal {number:02d}", "turns:"]
        for turn in turns:
            lines += [
                f"  - customer: {json.dumps(turn['question'])}",
                "    expect:",
                f"      cites: {turn['expected_source']}",
            ]
        (folder / f"r{number:02d}.yaml").write_text("\n".join(lines) + "\n", encoding="utf-8")


def run() -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix="bench-rehearsals-") as scratch:
        folder, data = Path(scratch) / "rehearsals", Path(scratch) / "data"
        folder.mkdir()
        _written(folder)
        env = {**os.environ, "SUPPORTHUB_DATA_DIR": str(data), "SUPPORTHUB_LOG__LEVEL": "ERROR"}
        subprocess.run(
            [SUPPORTHUB, "ingest", str(ROOT / "config" / "knowledge")], env=env, check=True, capture_output=True
        )
        started = time.perf_counter()
        ran = subprocess.run(
            [SUPPORTHUB, "rehearse", str(folder)], env=env, capture_output=True, text=True, check=False
        )
        seconds = time.perf_counter() - started
    if ran.returncode not in (0, 1):
        raise RuntimeError(f"supporthub rehearse failed ({ran.returncode}): {ran.stderr[-2000:]}")
    passed = re.search(r"(\d+) of (\d+) passed", ran.stdout)
    if passed is None:
        raise RuntimeError(f"no summary in the output: {ran.stdout[-2000:]}")
    return {"seconds": seconds, "passed": int(passed[1]), "rehearsals": int(passed[2])}


def report(figures: dict[str, float]) -> str:
    turns = figures["rehearsals"] * TURNS
    return (
        f"{int(figures['rehearsals'])} rehearsals of {TURNS} turns: {figures['seconds']:.1f} s "
        f"({figures['seconds'] / turns * 1000:.0f} ms a turn, model and index load included); "
        f"ceiling {CEILING_S:.0f} s; {int(figures['passed'])} passed"
    )


if __name__ == "__main__":
    print(report(run()))
