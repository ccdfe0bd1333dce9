"""The layer rules of DESIGN.md, checked in fresh interpreters and by import-linter."""
from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import grimp
import pytest

from tests.paths import REPO


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


PACKAGES = ("store", "pipeline", "tui", "screens", "tests")


def defined_names(module_file: Path) -> set[str]:
    """The names a module defines or imports at its top level."""
    names: set[str] = set()
    for node in ast.parse(module_file.read_text(encoding="utf-8")).body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names.update(name.id for target in targets for name in ast.walk(target)
                         if isinstance(name, ast.Name))
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names.update((alias.asname or alias.name).split(".")[0] for alias in node.names)
    return names


def unresolved_imports(script: Path, root: Path) -> list[str]:
    """`from package.module import name` lines of `script` naming a module or a name that
    the tree under `root` does not have (found without running anything)."""
    missing = []
    for node in ast.walk(ast.parse(script.read_text(encoding="utf-8"))):
        if not (isinstance(node, ast.ImportFrom) and node.level == 0 and node.module
                and node.module.split(".")[0] in PACKAGES):
            continue
        base = root.joinpath(*node.module.split("."))
        module_file = base / "__init__.py" if base.is_dir() else base.with_suffix(".py")
        if not module_file.is_file():
            missing.append(f"{script.name}:{node.lineno}: no module {node.module}")
            continue
        defined = defined_names(module_file)
        missing += [f"{script.name}:{node.lineno}: {node.module} has no {alias.name}"
                    for alias in node.names
                    if alias.name not in defined and not (base / f"{alias.name}.py").is_file()
                    and not (base / alias.name).is_dir()]
    return missing


@pytest.mark.parametrize("script", sorted((REPO / "benchmarks").glob("*.py"))
                         + sorted((REPO / "tools").glob("*.py")), ids=lambda p: p.name)
def test_benchmarks_and_tools_import_what_exists(script: Path) -> None:
    """Scripts no test imports still find what they import after code moves."""
    assert unresolved_imports(script, REPO) == []


def test_a_moved_module_is_found_missing(tmp_path: Path) -> None:
    (tmp_path / "store").mkdir()
    (tmp_path / "store" / "__init__.py").write_text("")
    (tmp_path / "store" / "jobs.py").write_text("def enqueue(): ...\nLIMIT = 3\n")
    script = tmp_path / "bench.py"
    script.write_text("from store import jobs, convert_jobs\nfrom store.jobs import LIMIT, gone\n"
                      "from store.old import x\n")
    assert unresolved_imports(script, tmp_path) == [
        "bench.py:1: store has no convert_jobs", "bench.py:2: store.jobs has no gone",
        "bench.py:3: no module store.old"]
