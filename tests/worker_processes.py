"""Real worker processes started by the tests (and always cleaned up), and how many are live."""
from __future__ import annotations

import subprocess
from pathlib import Path

from store import workers
from store.project import Project
from tests.forked_worker import ForkedWorker


class WorkerProcesses:
    """Starts real worker processes (`pipeline.worker.main`, each forked from a server that
    imported the worker's modules once: tests/forked_worker.py) and always cleans them up."""

    def __init__(self, log_dir: Path) -> None:
        self.log_dir = log_dir
        self.started: list[tuple[ForkedWorker, Path]] = []

    def start(self, project: Project, *args: str, inbox: bool = False) -> ForkedWorker:
        """A worker whose stderr goes to a file (a pipe nobody reads could block it)."""
        log = self.log_dir / f"worker-{len(self.started)}.log"
        process = ForkedWorker([str(project.root), *([] if inbox else ["--no-inbox"]), *args],
                               log)
        self.started.append((process, log))
        return process

    def run(self, project: Project, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
        """Run a worker until the queue is drained; its stderr comes back as text."""
        process = self.start(project, "--exit-when-idle", *args)
        process.wait(timeout=timeout)
        stderr = self.started[-1][1].read_text()
        return subprocess.CompletedProcess(process.args, process.returncode, "", stderr)

    def cleanup(self) -> None:
        for process, _ in self.started:
            if process.poll() is None:
                process.kill()
            process.wait()


def live_worker_count(project: Project) -> int:
    with project.connection() as conn:
        return len(workers.live_workers(conn))
