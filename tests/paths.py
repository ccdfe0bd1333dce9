"""Where the tests find things: this checkout, ../shared/testdata and real media in it."""
from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
TESTDATA = REPO.parent / "shared" / "testdata"


def real_media(relative: str) -> Path:
    """A file from ../shared/testdata, or skip the test saying why."""
    path = TESTDATA / relative
    if not path.exists():
        pytest.skip(f"real test data not found: {path} (../shared/testdata is not beside this "
                    "checkout)")
    return path
