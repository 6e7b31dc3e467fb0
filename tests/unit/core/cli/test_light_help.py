"""`supporthub --help` and every command's `--help` load no settings, database, model or index:
the command modules import the standard library and click at module level, and what a command
needs when it runs (issue 54: `--help` took 1.9 s of CPU, now under 0.1 s;
tests/bench/bench_cli_start.py measures it). Checked in a fresh interpreter, as the other
import seams are (`tests/unit/test_boundaries.py`): this one has loaded everything already."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[4]
HEAVY = (
    "torch",
    "sentence_transformers",
    "onnxruntime",
    "numpy",
    "openai",
    "chromadb",
    "sqlalchemy",
    "alembic",
    "aiohttp",
    "pydantic",
    "pydantic_settings",
    "apscheduler",
    "limits",
    "jsonschema",
    "babel",
    "lingua",
    "structlog",
    "core.settings",
    "core.channel",
    "core.registry",
    "core.languages",
    "core.store.db",
    "core.ops",
    "core.answering",
    "core.pipeline",
    "knowledge.base",
    "knowledge.settings",
    "core.handoff.desk_store",
)
"""What `--help` must not load (a package is loaded with any module of it; `core.store`'s own
`roles` is light, its schema `core.store.db` is not)."""
EVERY_HELP = """
import json, sys
import click
from click.testing import CliRunner
from core.cli.main import main

def commands(group, path):
    yield path
    if isinstance(group, click.Group):
        for name, command in group.commands.items():
            yield from commands(command, [*path, name])

shown = {}
for path in commands(main, []):
    result = CliRunner().invoke(main, [*path, "--help"], catch_exceptions=False)
    shown[" ".join(path)] = result.exit_code
print(json.dumps({"shown": shown, "loaded": sorted(sys.modules)}))
"""


def test_no_help_loads_the_settings_the_database_or_the_model() -> None:
    result = subprocess.run(
        [sys.executable, "-c", EVERY_HELP], cwd=ROOT, capture_output=True, text=True, check=True, timeout=60
    )
    helped = json.loads(result.stdout)
    shown, loaded = helped["shown"], set(helped["loaded"])
    assert {"", "doctor", "serve", "ask", "staff", "staff invite", "languages check", "sandbox"} <= shown.keys()
    assert {path: code for path, code in shown.items() if code != 0} == {}
    assert sorted(loaded & set(HEAVY)) == []
