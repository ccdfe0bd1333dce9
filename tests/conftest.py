"""Shared fixtures: real project folders, real media, and real worker processes."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from store.project import Project, create_project
from tests.pipeline.train.people import pair, seeded_pair  # noqa: F401  (fixtures for every test)
from tests.run_cache import built_once
from tests.worker_processes import WorkerProcesses


def pytest_configure(config: pytest.Config) -> None:
    """Under pytest-xdist each worker takes one core: torch and OpenCV (and torch in the
    worker processes the tests start) then use one thread each, instead of every process
    fighting for all."""
    if os.environ.get("PYTEST_XDIST_WORKER"):
        os.environ["OMP_NUM_THREADS"] = "1"
        import cv2
        cv2.setNumThreads(1)


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Modules with the fewest tests first, each module's tests kept together and in order.
    Here the few-test modules are the slow ones (a test that starts workers, trains or drives
    the TUI is written once, not parametrized over hundreds of quick cases), so the two
    xdist processes start on them and end on quick tests, finishing at about the same time."""
    counts = Counter(item.path for item in items)
    first: dict[Path, int] = {}
    for index, item in enumerate(items):
        first.setdefault(item.path, index)
    items.sort(key=lambda item: (counts[item.path], first[item.path]))


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
    """A project ready to convert (tests/convert_project.py), built once per test run and
    shared by its xdist processes: read it, or change a copy (`ready`)."""
    from tests.convert_project import build, load

    return load(built_once(tmp_path_factory, "convert", build))


@pytest.fixture
def prebuilt(project: Project, tmp_path_factory: pytest.TempPathFactory
             ) -> Callable[[str, Callable[[Project, Path], object]], object]:
    """`prebuilt(name, build)`: the test's `project` becomes a copy of the project that
    `build(project, folder)` filled once per test run (shared by the xdist processes;
    `folder`, beside that project, is for media it needs), and what `build` returned (JSON
    data: ids) comes back. For a project extracted or trained for real that many tests read."""
    def copy_of(name: str, build: Callable[[Project, Path], object]) -> object:
        def make(folder: Path) -> None:
            made = build(create_project(folder / "project"), folder)
            (folder / "made.json").write_text(json.dumps(made))

        folder = built_once(tmp_path_factory, name, make)
        shutil.copytree(folder / "project", project.root, dirs_exist_ok=True)
        return json.loads((folder / "made.json").read_text())

    return copy_of


@pytest.fixture
def ready(built, tmp_path: Path):
    """A copy of `built` for one test to change."""
    return built.copy_to(tmp_path)


@pytest.fixture
def worker_processes(tmp_path: Path) -> Iterator[WorkerProcesses]:
    processes = WorkerProcesses(tmp_path)
    yield processes
    processes.cleanup()


@pytest.fixture(scope="module")
def one_thread() -> Iterator[None]:
    """Torch on one thread for a module (`pytestmark = pytest.mark.usefixtures("one_thread")`):
    on a shared 2-core machine, threads fighting for cores slow every test down."""
    import torch  # only the modules that ask for it pay for torch
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
