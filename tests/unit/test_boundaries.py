"""The seams a newcomer sees in the imports: a channel adapter loads the ports and its own
SDK, never the database layer, the LLM client or the index (checked in a fresh interpreter,
since any test may already have imported them here), and no module imports another that
imports it back, not even for type checking."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from graphlib import CycleError, TopologicalSorter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

CHANNELS = ("channels.api", "channels.web", "channels.slack")
NEVER_LOADED_BY_A_CHANNEL = (
    "openai", "sqlalchemy", "chromadb", "torch",
    "core.hub", "core.db", "core.inbox", "core.storage", "core.turn_transactions", "core.outbox",
    "handoff.desk", "handoff.desk_store", "handoff.cases", "knowledge.base",
)


def loaded_after_importing(*modules: str) -> set[str]:
    script = f"import importlib, json, sys\nfor m in {list(modules)!r}: importlib.import_module(m)\nprint(json.dumps(sorted(sys.modules)))"
    result = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, check=True)
    return set(json.loads(result.stdout))


def test_importing_the_channels_loads_no_database_llm_or_index_code() -> None:
    loaded = loaded_after_importing(*CHANNELS)
    assert set(CHANNELS) <= loaded
    assert sorted(loaded & set(NEVER_LOADED_BY_A_CHANNEL)) == []


def import_graph() -> dict[str, set[str]]:
    """Every module of the app and the app modules it imports (type-checking imports too)."""
    paths = {".".join(p.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__"): p
             for package in ("core", "channels", "handoff", "knowledge")
             for p in (ROOT / package).rglob("*.py") if "migrations" not in p.parts}
    graph: dict[str, set[str]] = {}
    for name, path in paths.items():
        imported: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module:
                imported |= {node.module, *(f"{node.module}.{alias.name}" for alias in node.names)}
            elif isinstance(node, ast.Import):
                imported |= {alias.name for alias in node.names}
        graph[name] = (imported & paths.keys()) - {name}
    return graph


def test_no_module_imports_one_that_imports_it_back() -> None:
    graph = import_graph()
    assert {"core.channel", "core.hub", "core.outbox"} <= graph.keys()
    try:
        tuple(TopologicalSorter(graph).static_order())
    except CycleError as cycle:
        raise AssertionError(f"import circle: {' -> '.join(cycle.args[1])}") from None
