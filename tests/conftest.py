"""Shared fixtures: real project folders, real media, and real worker processes."""
from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from store import workers
from store.project import Project, create_project

REPO = Path(__file__).resolve().parents[1]
TESTDATA = REPO.parent / "shared" / "testdata"


def pytest_configure(config: pytest.Config) -> None:
    """Under pytest-xdist each worker takes one core: torch (and the worker processes the
    tests start) then use one thread each, instead of every process fighting for all."""
    if os.environ.get("PYTEST_XDIST_WORKER"):
        os.environ["OMP_NUM_THREADS"] = "1"


def real_media(relative: str) -> Path:
    """A file from ../shared/testdata, or skip the test saying why."""
    path = TESTDATA / relative
    if not path.exists():
        pytest.skip(f"real test data not found: {path} (../shared/testdata is not beside this "
                    "checkout)")
    return path


@pytest.fixture
def project(tmp_path: Path) -> Project:
    return create_project(tmp_path / "project")


@pytest.fixture(scope="session")
def dead_pid() -> int:
    """The pid of a process that has exited (a temp file's writer that is gone)."""
    done = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)
    return int(done.stdout)


@pytest.fixture(scope="session")
def astronaut_png(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """scikit-image's public-domain astronaut, which every install has."""
    from PIL import Image
    from skimage.data import astronaut

    path = tmp_path_factory.mktemp("media") / "astronaut.png"
    Image.fromarray(astronaut()).save(path)
    return path


@pytest.fixture(scope="session")
def built(tmp_path_factory: pytest.TempPathFactory):
    """A project ready to convert (tests/convert_project.py), built once per test run."""
    from tests.convert_project import build

    return build(tmp_path_factory.mktemp("convert"))


@pytest.fixture
def ready(built, tmp_path: Path):
    """A copy of `built` for one test to change."""
    return built.copy_to(tmp_path)


def wait_until(condition: Callable[[], object], timeout: float = 30.0, interval: float = 0.05,
               what: str = "condition") -> object:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


class WorkerProcesses:
    """Starts real `python -m pipeline.worker` processes and always cleans them up."""

    def __init__(self, log_dir: Path) -> None:
        self.log_dir = log_dir
        self.started: list[tuple[subprocess.Popen, Path]] = []

    def start(self, project: Project, *args: str, inbox: bool = False) -> subprocess.Popen:
        """A worker whose stderr goes to a file (a pipe nobody reads could block it)."""
        log = self.log_dir / f"worker-{len(self.started)}.log"
        with log.open("w") as stderr:
            process = subprocess.Popen(
                [sys.executable, "-m", "pipeline.worker", str(project.root),
                 *([] if inbox else ["--no-inbox"]), *args],
                cwd=REPO, stdout=subprocess.DEVNULL, stderr=stderr,
                env={**os.environ, "PYTHONUNBUFFERED": "1"},
            )
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


@pytest.fixture
def worker_processes(tmp_path: Path) -> Iterator[WorkerProcesses]:
    processes = WorkerProcesses(tmp_path)
    yield processes
    processes.cleanup()


def live_worker_count(project: Project) -> int:
    with project.connection() as conn:
        return len(workers.live_workers(conn))


@pytest.fixture(scope="module")
def one_thread() -> Iterator[None]:
    """Torch on one thread for a module (`pytestmark = pytest.mark.usefixtures("one_thread")`):
    on a shared 2-core machine, threads fighting for cores slow every test down."""
    import torch  # only the modules that ask for it pay for torch
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
