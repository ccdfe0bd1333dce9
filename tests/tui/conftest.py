"""Fixtures for TUI tests: no user config leaks in, and real workers are always stopped."""
from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from textual.pilot import Pilot

from store import workers
from store.project import Project
from tui import launcher

WORKER_EXIT_TIMEOUT_S = 30.0


@pytest.fixture(autouse=True)
def no_user_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Read the config from an empty folder, never from the person running the tests."""
    monkeypatch.delenv("SWAPDECK_CONFIG", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg-config"))


@pytest.fixture
def worker_project(project: Project, monkeypatch: pytest.MonkeyPatch) -> Iterator[Project]:
    """The project, whose workers (started by the app) are asked to stop and waited for; one
    the app started too late to see the request (still starting up) is ended by its pid."""
    started: list[int] = []
    start = launcher.start_detached_worker

    def recorded_start(*args: object, **kwargs: object) -> int:
        started.append(start(*args, **kwargs))
        return started[-1]

    monkeypatch.setattr(launcher, "start_detached_worker", recorded_start)
    yield project
    with project.connection() as conn:
        workers.request_stop(conn)
        deadline = time.monotonic() + WORKER_EXIT_TIMEOUT_S
        while (live := workers.live_workers(conn)) and time.monotonic() < deadline:
            time.sleep(0.1)
    for worker in live:  # did not stop in time: end the processes the test started
        os.kill(worker.pid, signal.SIGTERM)
    for pid in started:
        _end_child(pid)
    assert not live, f"workers did not stop within {WORKER_EXIT_TIMEOUT_S}s: {live}"


def _end_child(pid: int) -> None:
    """Reap a worker this process started: SIGTERM if it still runs, SIGKILL if that is not
    enough within the timeout."""
    try:
        if os.waitpid(pid, os.WNOHANG) != (0, 0):
            return
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + WORKER_EXIT_TIMEOUT_S
        while os.waitpid(pid, os.WNOHANG) == (0, 0):
            if time.monotonic() > deadline:
                os.kill(pid, signal.SIGKILL)
            time.sleep(0.1)
    except ChildProcessError:   # already reaped (by subprocess's own clean-up)
        pass


async def _wait_for(pilot: Pilot, condition: Callable[[], object], timeout: float = 10.0,
                    what: str = "condition") -> object:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := condition():
            return value
        await pilot.pause(0.1)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


@pytest.fixture
def wait_for() -> Callable:
    """`await wait_for(pilot, condition, timeout, what)`: run the app until the condition holds."""
    return _wait_for
