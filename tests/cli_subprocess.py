"""The `swapdeck` command run as a user runs it: `python -m tui` in a real subprocess."""
from __future__ import annotations

import os
import subprocess
import sys

from tests.paths import REPO


def swapdeck(*args: str, check: bool = True, timeout: float = 120) -> subprocess.CompletedProcess:
    result = subprocess.run([sys.executable, "-m", "tui", *map(str, args)], cwd=REPO,
                            capture_output=True, text=True, timeout=timeout,
                            env={**os.environ, "PYTHONUNBUFFERED": "1"})
    if check:
        assert result.returncode == 0, result.stderr
    return result
