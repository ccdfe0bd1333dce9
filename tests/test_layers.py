"""The layer rules of DESIGN.md, checked in fresh interpreters and by import-linter."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import grimp
import pytest

from tests.conftest import REPO


def modules_loaded_by(statement: str) -> set[str]:
    code = f"import json, sys\n{statement}\nprint(json.dumps(sorted(sys.modules)))"
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True,
                            text=True, check=True)
    return {name.split(".")[0] for name in json.loads(result.stdout)}


@pytest.mark.parametrize("statement, forbidden", [
    ("import store.project, store.jobs, store.sources, store.views.snapshot, store.workers, "
     "store.events, store.settings", {"textual", "torch", "cv2", "pipeline", "tui", "screens"}),
    ("import pipeline.worker", {"textual", "tui", "screens"}),
    ("import tui.app, tui.cli.main", {"torch", "pipeline", "cv2", "av", "PIL", "dlib",
                                      "face_alignment", "textual_image", "sklearn", "skimage"}),
])
def test_layers_load_only_what_they_may(statement: str, forbidden: set[str]) -> None:
    assert modules_loaded_by(statement) & forbidden == set()


def test_import_linter_contracts_hold() -> None:
    lint_imports = Path(sys.executable).with_name("lint-imports")
    if not lint_imports.exists():
        pytest.skip("import-linter is not installed (pip install -e '.[test]')")
    result = subprocess.run([lint_imports], cwd=REPO, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def import_cycles(graph: grimp.ImportGraph) -> list[list[str]]:
    """The groups of modules that import each other, directly or through others (Tarjan)."""
    order: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(module: str) -> None:
        order[module] = low[module] = len(order)
        stack.append(module)
        for imported in graph.find_modules_directly_imported_by(module):
            if imported not in order:
                visit(imported)
                low[module] = min(low[module], low[imported])
            elif imported in stack:
                low[module] = min(low[module], order[imported])
        if low[module] == order[module]:
            group = stack[stack.index(module):]
            del stack[stack.index(module):]
            if len(group) > 1:
                found.append(sorted(group))

    for module in sorted(graph.modules):
        if module not in order:
            visit(module)
    return found


def test_no_module_imports_itself_through_others() -> None:
    graph = grimp.build_graph("store", "pipeline", "tui", "screens")
    assert import_cycles(graph) == []


def test_the_cycle_finder_finds_a_cycle() -> None:
    graph = grimp.ImportGraph()
    for module in ("a", "a.one", "a.two", "a.three"):
        graph.add_module(module)
    graph.add_import(importer="a.one", imported="a.two")
    graph.add_import(importer="a.two", imported="a.one")
    graph.add_import(importer="a.three", imported="a.one")
    assert import_cycles(graph) == [["a.one", "a.two"]]
