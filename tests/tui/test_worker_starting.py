"""A worker the app launched is "starting" on the dashboard from the moment the notice says
it was started, until its first heartbeat; never "never started" beside that notice."""
from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator

import pytest

from screens.widgets.worker_panel import WorkerPanel
from store.project import Project
from tui import launcher
from tui.app import SwapdeckApp

SIZE = (140, 45)


@pytest.fixture
def slow_worker(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[subprocess.Popen]]:
    """The launcher starts a process that takes its time to sign in, as a worker importing
    its libraries on a busy machine does (this one never signs in)."""
    started: list[subprocess.Popen] = []

    def start(_project: Project, *_extra: str) -> int:
        started.append(subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"]))
        return started[-1].pid

    monkeypatch.setattr(launcher, "start_detached_worker", start)
    yield started
    for process in started:
        process.kill()
        process.wait()


async def test_a_launched_worker_is_starting_until_its_first_heartbeat(
        project: Project, slow_worker: list[subprocess.Popen], wait_for) -> None:
    app = SwapdeckApp(project, start_worker=True)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        [process] = await wait_for(pilot, lambda: slow_worker, what="the launch")
        await wait_for(pilot, lambda: any(
            f"started a background worker (pid {process.pid})" in str(toast.render())
            for toast in app.screen.query("Toast")), what="the notice")
        panel = app.screen.query_one(WorkerPanel)
        await wait_for(pilot, lambda: f"starting (pid {process.pid}, launched" in str(
            panel.render()), what="the panel saying so")
        text = str(panel.render())
        assert "no heartbeat yet" in text
        assert "never started" not in text and "press w to start one" not in text
