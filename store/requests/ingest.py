"""The parameters of ingest jobs: the media a user adds, as they are now."""
from __future__ import annotations

import os
from pathlib import Path

from store.errors import RequestError
from store.requests.media_kind import media_problem


def checked_ingest_params(path: Path, label: str) -> dict:
    """`ingest_params` of a path that looks like media: what a user adds (CLI and TUI)."""
    if problem := media_problem(Path(os.path.abspath(path.expanduser()))):
        raise RequestError(problem)
    return ingest_params(path, label)


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
