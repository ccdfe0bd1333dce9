"""The TUI process stays light: no torch, no pipeline, no image or video libraries."""
from __future__ import annotations

import json
import subprocess
import sys

from tests.conftest import REPO

FORBIDDEN = {"torch", "pipeline", "cv2", "av", "PIL", "dlib", "face_alignment",
             "textual_image", "sklearn", "skimage"}


def test_importing_the_tui_loads_nothing_heavy() -> None:
    code = ("import json, sys\nimport tui.app, tui.cli\n"
            "print(json.dumps(sorted({m.split('.')[0] for m in sys.modules})))")
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True,
                            text=True, check=True)
    assert set(json.loads(result.stdout)) & FORBIDDEN == set()
