"""Start a detached worker for a project when none is alive (TUI and CLI both use this).

The worker is its own process (`python -m pipeline.worker`), in its own session so that
closing the terminal or the SSH link does not stop it. Its stderr goes to PROJECT/worker.log.
"""
from __future__ import annotations

import sqlite3
import subprocess
import sys

from store import workers
from store.views.worker_launch import record_launch
from store.project import Project


# `-P` keeps the working folder off sys.path, so a folder named like one of our packages
# (store/, pipeline/) where the user happens to stand cannot shadow it.
SAFE_PATH_FLAG = ["-P"] if sys.version_info >= (3, 11) else []


def python_module_command(module: str, *args: str) -> list[str]:
    return [sys.executable, *SAFE_PATH_FLAG, "-m", module, *args]


def worker_command(project: Project, *extra: str) -> list[str]:
    return python_module_command("pipeline.worker", str(project.root), *extra)


def start_detached_worker(project: Project, *extra: str) -> int:
    """Spawn a worker that outlives this process; returns its pid."""
    with project.open_worker_log() as log:
        process = subprocess.Popen(
            worker_command(project, *extra),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            close_fds=True,
            cwd=project.root,
        )
    return process.pid


def ensure_worker(project: Project, conn: sqlite3.Connection) -> int | None:
    """Start a worker unless one is alive; returns the new pid, or None if one was running."""
    if workers.live_workers(conn):
        return None
    pid = start_detached_worker(project)
    try:
        record_launch(conn, pid)   # every panel says "starting" until it signs in
    except sqlite3.Error:          # it started all the same: the panels catch up at its sign-in
        pass
    return pid
