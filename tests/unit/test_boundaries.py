"""The seams a newcomer sees in the imports, checked twice: by reading every import statement
(those inside functions and `if TYPE_CHECKING:` too), and by importing in a fresh interpreter
(any test may already have imported everything here).

- A channel adapter loads the ports and its own SDK, never the database layer, the LLM client
  or the index.
- knowledge is a library the core uses: it imports nothing of core or channels.
- core names no channel in an import: it finds them through their entry points.
- No module imports another that imports it back.
- Nothing imports upward: each module sits on one floor of the house (the map in
  `core/__init__.py`) and imports only from its own floor or the floors below it.
"""

from __future__ import annotations

import ast
import json
import re
import subprocess
import sys
from graphlib import CycleError, TopologicalSorter
from importlib.metadata import entry_points
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
APP_PACKAGES = ("core", "channels", "knowledge")

CHANNELS = tuple(sorted(entry.module for entry in entry_points(group="supporthub.channels")))
"""Every installed channel's package, as its entry point names it: a plug-in channel is held to the seams too."""
NEVER_LOADED_BY_A_CHANNEL = (
    "openai",
    "sqlalchemy",
    "chromadb",
    "torch",
    "core.pipeline.hub",
    "core.store.db",
    "core.store.inbox",
    "core.pipeline.storage",
    "core.pipeline.turn_transactions",
    "core.pipeline.outbox",
    "core.handoff.desk",
    "core.handoff.desk_store",
    "core.handoff.cases",
    "knowledge.base",
)


FLOORS: tuple[tuple[str, ...], ...] = (
    ("knowledge",),
    ("core",),  # the contract: the modules directly in core/
    ("core.answering",),
    ("core.store",),
    ("core.handoff",),
    ("core.pipeline",),
    ("core.ops",),
    ("core.cli", "core.admin", "core.sandbox", "core.rehearsals", "channels"),
)
"""The floors, bottom first; a module is on the floor of the longest package prefix it has."""
CONTRACT = {
    "core",
    "core.messages",
    "core.channel",
    "core.streaming",
    "core.turn_context",
    "core.settings",
    "core.action_settings",
    "core.desk_port",
    "core.registry",
    "core.channel_plugins",
    "core.metrics",
    "core.log_context",
    "core.clean_text",
    "core.quoting",
    "core.file_sizes",
    "core.languages",
    "core.placeholders",
    "core.bidi",
    "core.request_bodies",
    "core.rate_limits",
    "core.memory_windows",
    "core.markdown_tree",
    "core.markdown_html",
    "core.invariants",
}
"""What is left directly in core/: the ports and the small vocabulary every wing speaks."""


def floor_of(module: str) -> int:
    floors = [
        (len(prefix), floor)
        for floor, prefixes in enumerate(FLOORS)
        for prefix in prefixes
        if module == prefix or module.startswith(f"{prefix}.")
    ]
    return max(floors)[1]


def module_paths() -> dict[str, Path]:
    return {
        ".".join(p.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__"): p
        for package in APP_PACKAGES
        for p in (ROOT / package).rglob("*.py")
        if "migrations" not in p.parts
    }


def imported_names(path: Path) -> set[str]:
    """Every module an import statement in `path` names (and `module.name` for `from` imports)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names |= {node.module, *(f"{node.module}.{alias.name}" for alias in node.names)}
        elif isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
    return names


def import_graph() -> dict[str, set[str]]:
    """Every module of the app and the app modules it imports."""
    paths = module_paths()
    return {name: (imported_names(path) & paths.keys()) - {name} for name, path in paths.items()}


def loaded_after_importing(*modules: str) -> set[str]:
    script = f"import importlib, json, sys\nfor m in {list(modules)!r}: importlib.import_module(m)\nprint(json.dumps(sorted(sys.modules)))"
    result = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, check=True)
    return set(json.loads(result.stdout))


def test_importing_the_channels_loads_no_database_llm_or_index_code() -> None:
    loaded = loaded_after_importing(*CHANNELS)
    assert {"channels.web", "channels.email", "channels.whatsapp"} <= set(CHANNELS) <= loaded
    assert sorted(loaded & set(NEVER_LOADED_BY_A_CHANNEL)) == []


def test_knowledge_names_nothing_of_the_app_in_an_import() -> None:
    graph = import_graph()
    outside = {
        name: sorted(d for d in deps if not d.startswith("knowledge"))
        for name, deps in graph.items()
        if name.startswith("knowledge")
    }
    assert len(outside) > 5 and {name: deps for name, deps in outside.items() if deps} == {}


def test_importing_all_of_knowledge_loads_nothing_of_the_app() -> None:
    knowledge = sorted(name for name in module_paths() if name.startswith("knowledge"))
    loaded = loaded_after_importing(*knowledge)
    assert set(knowledge) <= loaded
    assert sorted(m for m in loaded if m.split(".")[0] in ("core", "channels")) == []


def test_core_names_no_channel_in_an_import() -> None:
    graph = import_graph()
    core = {
        name: sorted(d for d in deps if d.split(".")[0] == "channels")
        for name, deps in graph.items()
        if name.startswith("core")
    }
    assert len(core) > 50 and {name: deps for name, deps in core.items() if deps} == {}


def test_the_file_signature_check_is_a_leaf() -> None:
    """Attachments use it without loading the ingestor: it imports the standard library only."""
    names = imported_names(ROOT / "knowledge" / "file_signatures.py")
    assert all(name.split(".")[0] in sys.stdlib_module_names for name in names), names


def test_no_module_imports_one_that_imports_it_back() -> None:
    graph = import_graph()
    assert {"core.channel", "core.pipeline.hub", "core.pipeline.outbox"} <= graph.keys()
    try:
        tuple(TopologicalSorter(graph).static_order())
    except CycleError as cycle:
        raise AssertionError(f"import circle: {' -> '.join(cycle.args[1])}") from None


def test_nothing_imports_from_a_floor_above_its_own() -> None:
    graph = import_graph()
    upward = sorted(
        f"{name} -> {dep}" for name, deps in graph.items() for dep in deps if floor_of(dep) > floor_of(name)
    )
    assert {"core.pipeline.hub", "core.store.db", "core.store.case_tables", "core.cli.main"} <= graph.keys()
    assert upward == []


def test_core_itself_holds_only_the_contract() -> None:
    """Every other module of core/ lives in a wing (store, answering, handoff, pipeline, ops, cli, admin, sandbox,
    rehearsals)."""
    top = {name for name in module_paths() if name.startswith("core") and name.count(".") <= 1}
    wings = {
        "core.store",
        "core.answering",
        "core.handoff",
        "core.pipeline",
        "core.ops",
        "core.cli",
        "core.admin",
        "core.sandbox",
        "core.rehearsals",
    }
    assert top - wings == CONTRACT


def test_every_package_is_named_in_the_map_of_the_package_around_it() -> None:
    """The maps a newcomer reads (`core/__init__.py`, `channels/__init__.py`, `knowledge/__init__.py`
    and each package's own docstring) name every package inside them: a new folder joins a map."""
    unnamed = []
    for init in sorted(p for package in APP_PACKAGES for p in (ROOT / package).rglob("__init__.py")):
        folder = init.parent
        if "migrations" in folder.parts or folder.parent == ROOT:
            continue
        parent_map = ast.get_docstring(ast.parse((folder.parent / "__init__.py").read_text(encoding="utf-8"))) or ""
        if not re.search(rf"(?<![\w/]){re.escape(folder.name)}\b", parent_map):
            unnamed.append(str(folder.relative_to(ROOT)))
    assert unnamed == []
