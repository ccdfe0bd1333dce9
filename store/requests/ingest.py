"""The parameters of ingest jobs: the media a user adds, as they are now."""
from __future__ import annotations

import os
from pathlib import Path

from store.errors import RequestError


def ingest_params(path: Path, label: str) -> dict:
    """The parameters of an ingest job, with the size and mtime the file has now.

    The job refuses a file that differs when it runs (it changed after it was added).
    """
    path = Path(os.path.abspath(path.expanduser()))
    if not path.exists():
        raise RequestError(f"no such file or folder: {path}")
    params: dict = {"path": str(path), "label": label}
    if path.is_file():
        stat = path.stat()
        params.update(size=stat.st_size, mtime_ns=stat.st_mtime_ns)
    return params
