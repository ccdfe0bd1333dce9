"""The layer rules of DESIGN.md, checked in fresh interpreters and by import-linter."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO


def modules_loaded_by(statement: str) -> set[str]:
    code = f"import json, sys\n{statement}\nprint(json.dumps(sorted(sys.modules)))"
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True,
                            text=True, check=True)
    return {name.split(".")[0] for name in json.loads(result.stdout)}


@pytest.mark.parametrize("statement, forbidden", [
    ("import store.project, store.jobs, store.sources, store.snapshot, store.workers, "
     "store.events, store.settings", {"textual", "torch", "cv2", "pipeline", "tui", "screens"}),
    ("import pipeline.worker", {"textual", "tui", "screens"}),
    ("import tui.app, tui.cli", {"torch", "pipeline", "cv2", "av", "PIL", "dlib", "face_alignment",
                                 "textual_image", "sklearn", "skimage"}),
])
def test_layers_load_only_what_they_may(statement: str, forbidden: set[str]) -> None:
    assert modules_loaded_by(statement) & forbidden == set()


def test_import_linter_contracts_hold() -> None:
    lint_imports = Path(sys.executable).with_name("lint-imports")
    if not lint_imports.exists():
        pytest.skip("import-linter is not installed (pip install -e '.[test]')")
    result = subprocess.run([lint_imports], cwd=REPO, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
