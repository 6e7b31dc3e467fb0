"""How long `supporthub` takes where it loads nothing: `supporthub --help` and `supporthub
doctor --help`, the installed command each time in a process of its own, as a user runs it.
The figure is the CPU the child used (user + system, `resource.getrusage(RUSAGE_CHILDREN)`
before and after it), the median of ROUNDS, next to the ceiling of issue 54.

Before the commands imported what they need inside themselves, `--help` loaded the agent,
openai, the knowledge base, SQLAlchemy and the settings: 1.9 s of CPU for each of the two on
the 2-core machine this was written on; after, 0.08 s (the interpreter alone takes 0.01 s,
click 0.05 s). `tests/unit/core/cli/test_light_help.py` keeps the heavy modules out.
"""

from __future__ import annotations

import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

SUPPORTHUB = str(Path(sys.executable).parent / "supporthub")
COMMANDS = (("--help",), ("doctor", "--help"))
ROUNDS = 7
CEILING_CPU_S = 0.5
"""The most CPU a `--help` may take (issue 54)."""


def _measure(args: tuple[str, ...]) -> tuple[float, float]:
    """CPU seconds and wall seconds of one `supporthub ARGS…`."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    subprocess.run([SUPPORTHUB, *args], check=True, capture_output=True, timeout=120)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime), wall


def run() -> dict[str, dict[str, float]]:
    figures = {}
    for args in COMMANDS:
        runs = [_measure(args) for _ in range(ROUNDS)]
        cpu = [seconds for seconds, _ in runs]
        figures[" ".join(args)] = {
            "cpu_s": statistics.median(cpu),
            "worst_cpu_s": max(cpu),
            "wall_s": statistics.median(wall for _, wall in runs),
        }
    return figures


def report(figures: dict[str, dict[str, float]]) -> str:
    rows = [
        (
            f"supporthub {command}",
            f"{each['cpu_s']:.2f} s CPU",
            f"median of {ROUNDS} (worst {each['worst_cpu_s']:.2f} s, wall {each['wall_s']:.2f} s); "
            f"ceiling {CEILING_CPU_S:.2f} s CPU",
        )
        for command, each in figures.items()
    ]
    width = max(len(row[0]) for row in rows)
    return "\n".join(f"{name:<{width}}  {value:>12}  {note}" for name, value, note in rows)


if __name__ == "__main__":
    print(report(run()))
