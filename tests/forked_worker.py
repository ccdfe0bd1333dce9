"""Real worker processes that start in a fraction of a second.

A fresh `python -m pipeline.worker` spends seconds of CPU importing torch, dlib, OpenCV and
scikit-learn before it does anything, and the tests start dozens of workers. Here each worker
is forked from a server process (multiprocessing's forkserver, one per test process) that
imported those modules once, and then runs the worker's own `main(argv)`: a process of its
own, with its own pid, signals, exit status and stderr, as a test that kills or races
workers needs. (`python -m pipeline.worker` in a fresh interpreter is still run for real by
tests/pipeline/test_worker.py, and the TUI's tests start their workers that way.)
"""
from __future__ import annotations

import importlib
import multiprocessing
import os
import signal
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
# imported once by the server: every job kind, what the extract job imports when it runs,
# torch._dynamo (the optimizers import it on their first step: seconds), the dlib
# predictor (tests/preloaded_models.py) and this module
PRELOAD = ["pipeline.worker", "pipeline.extract.extractor", "torch._dynamo",
           "tests.preloaded_models", __name__]
_CONTEXT = multiprocessing.get_context("forkserver")
_CONTEXT.set_forkserver_preload(PRELOAD)


def _worker_main(argv: list[str], log: str, imports: tuple[str, ...]) -> None:
    """In the forked process: stdout to /dev/null and stderr to `log`, as a worker started
    with `Popen(..., stdout=DEVNULL, stderr=log)` has them, then the worker's main."""
    sys.stdout.flush()
    sys.stderr.flush()
    with open(os.devnull, "wb") as devnull, open(log, "wb") as stderr:
        os.dup2(devnull.fileno(), 1)
        os.dup2(stderr.fileno(), 2)
    os.chdir(REPO)
    for name in imports:
        importlib.import_module(name)
    if os.environ.get("OMP_NUM_THREADS") == "1":   # a test process's one core (conftest.py)
        import cv2
        cv2.setNumThreads(1)
    from pipeline.worker import main
    sys.exit(main(argv))


class ForkedWorker:
    """A worker process with the parts of `subprocess.Popen` the tests use: `args`, `pid`,
    `returncode` (minus the signal's number when a signal ended it), `poll`, `wait`,
    `send_signal`, `terminate` and `kill`."""

    def __init__(self, argv: Sequence[str], log: Path, imports: Sequence[str] = ()) -> None:
        self.args = [sys.executable, "-m", "pipeline.worker", *argv]
        self._process = _CONTEXT.Process(target=_worker_main,
                                         args=(list(argv), str(log), tuple(imports)))
        self._process.start()
        self.pid: int = self._process.pid

    @property
    def returncode(self) -> int | None:
        return self._process.exitcode

    def poll(self) -> int | None:
        return self._process.exitcode

    def wait(self, timeout: float | None = None) -> int:
        self._process.join(timeout)
        if self._process.exitcode is None:
            raise subprocess.TimeoutExpired(self.args, timeout or 0)
        return self._process.exitcode

    def send_signal(self, sig: int) -> None:
        if self.poll() is None:
            os.kill(self.pid, sig)

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)
