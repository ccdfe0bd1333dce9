"""Folders built once per test run and shared by its pytest-xdist processes.

Each xdist process has a temp folder of its own under the run's folder; an expensive fixture
(a project extracted and trained for real) is built in the run's folder by whichever process
asks first, while the other waits on a file lock, and both then read it (tests copy it before
they change anything). Without xdist the run's folder is the session's own temp folder.
"""
from __future__ import annotations

import fcntl
import os
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

DONE = ".built"


def run_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The temp folder this run's processes share: under xdist, the parent of this process's
    `popen-gwN` folder; without it, the session's temp folder (never the folder shared by
    every run of every user, which the parent would be then)."""
    base = tmp_path_factory.getbasetemp()
    return base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base


def built_once(tmp_path_factory: pytest.TempPathFactory, name: str,
               build: Callable[[Path], object]) -> Path:
    """`run folder/name`, made by `build(folder)` unless this run made it already. A build
    that failed half-way is thrown away and tried again by the next process that asks."""
    shared = run_folder(tmp_path_factory)
    folder = shared / name
    with (shared / f"{name}.lock").open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)   # released when the file closes
        if not (folder / DONE).exists():
            shutil.rmtree(folder, ignore_errors=True)
            folder.mkdir()
            build(folder)
            (folder / DONE).touch()
    return folder
