"""knowledge is a library the core uses: nothing under knowledge/ imports core, handoff or
channels, checked twice — by reading every import statement (also those inside functions
and `if TYPE_CHECKING:`), and by importing every module in a fresh interpreter."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

import knowledge

APP_PACKAGES = ("core", "handoff", "channels")
KNOWLEDGE_DIR = Path(knowledge.__file__).parent
MODULES = sorted(f"knowledge.{path.stem}" for path in KNOWLEDGE_DIR.glob("*.py") if path.stem != "__init__")


def imported_names(path: Path) -> list[str]:
    """Every module an `import` or `from … import` in `path` names."""
    names: list[str] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module is not None and node.level == 0:
            names.append(node.module)
    return names


def of_the_app(module: str) -> bool:
    return module.split(".")[0] in APP_PACKAGES


@pytest.mark.parametrize("path", sorted(KNOWLEDGE_DIR.glob("*.py")), ids=lambda path: path.name)
def test_no_import_statement_names_the_app(path: Path) -> None:
    assert [name for name in imported_names(path) if of_the_app(name)] == []


def test_importing_all_of_knowledge_loads_nothing_of_the_app() -> None:
    script = (
        "import importlib, json, sys\n"
        f"for name in {MODULES!r}:\n"
        "    importlib.import_module(name)\n"
        f"print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in {APP_PACKAGES!r})))\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300,
                            cwd=KNOWLEDGE_DIR.parent, check=False)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == []


def test_file_signatures_is_a_leaf() -> None:
    """Attachments use it without loading the ingestor: it imports the standard library only."""
    names = imported_names(KNOWLEDGE_DIR / "file_signatures.py")
    assert all(name.split(".")[0] in sys.stdlib_module_names for name in names), names
