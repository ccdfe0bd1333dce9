"""Pictures of every screen at 80x24, 120x40 and 200x60, so that a layout change shows in
review as an SVG (tests/tui/__snapshots__/test_snapshots/).

Each screen is opened from the dashboard by its key, as a user does, on a copy of the project
that tests/tui/snapshot_project.py builds once per test run, and pictured once it shows its
data. What could differ between runs is pinned here:
- the clock: the store's, the TUI's and the screens' modules read a clock stopped at NOW (ages,
  "x ago", heartbeats, speeds), and times are shown in UTC;
- the project's path: the project is opened as `demo`, relative to the test's folder (the
  header and the Convert screen's default output show it);
- pictures: drawn as half blocks (`thumbnails="halfcell"`), in cells of 10x20 pixels whatever
  terminal runs the tests;
- no worker runs (`start_worker=False`); the Convert screen's preview job is done by the test,
  which writes what a worker would;
- no text field blinks its cursor, and no notification is up (one fails the test, saying
  what went wrong).

To draw the pictures again after a deliberate change:
    .venv/bin/python -m pytest -p no:randomly -n0 tests/tui/test_snapshots.py --snapshot-update
"""
from __future__ import annotations

import os
import shutil
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from rich.cells import cell_len
from rich.text import Text
from textual.pilot import Pilot
from textual.screen import Screen
from textual.widgets import DataTable, Input, OptionList, Select, Static, TextArea
from textual_image._terminal import CellSize, get_cell_size

from screens.analysis import AnalysisScreen
from screens.convert import ConvertScreen
from screens.dashboard import DashboardScreen
from screens.train import TrainScreen
from screens.widgets.analysis_losses import LossGraph
from screens.widgets.event_log import EventLog
from screens.widgets.picture import Picture
from screens.widgets.worker_panel import WorkerPanel
from store import convert_previews, jobs
from store.jobs import JobStatus
from store.project import Project
from tests.run_cache import built_once
from tests.tui.faces_review import open_faces
from tests.tui.open_screens import from_dashboard, open_extract
from tests.tui.snapshot_project import (NAME, NOW, built_demo, convert_preview_pictures,
                                        frozen_clock, load_demo)
from tui.app import SwapdeckApp

SIZES = {"80x24": (80, 24), "120x40": (120, 40), "200x60": (200, 60)}
SCREENS = ("dashboard", "extract", "faces", "train", "analysis", "convert")
CELL = CellSize(10, 20)   # a cell's pixels, as textual-image assumes with no terminal to ask
WAIT_S = 30.0             # generous: two shared cores, and xdist beside


class Demo:
    """The app on a copy of the demo project, what the project holds, and every
    notification the app showed."""

    def __init__(self, app: SwapdeckApp, made: dict[str, Any]) -> None:
        self.app = app
        self.made = made
        self.notes: list[str] = []
        notify = app.notify

        def noted(message: str, *args: Any, **kwargs: Any) -> Any:
            self.notes.append(str(message))
            return notify(message, *args, **kwargs)

        app.notify = noted   # type: ignore[method-assign]

    @property
    def project(self) -> Project:
        return self.app.project


@pytest.fixture
def in_utc() -> Iterator[None]:
    """Times shown in UTC (the event log, the runs' and sessions' clocks)."""
    before = os.environ.get("TZ")
    os.environ["TZ"] = "UTC"
    time.tzset()
    yield
    if before is None:
        del os.environ["TZ"]
    else:
        os.environ["TZ"] = before
    time.tzset()


@pytest.fixture
def demo(tmp_path: Path, tmp_path_factory: pytest.TempPathFactory,
         monkeypatch: pytest.MonkeyPatch, in_utc: None) -> Iterator[Demo]:
    """The app on a copy of the demo project (built once per run), opened as `demo` from
    the test's folder, with the clock stopped at NOW and the cell size fixed."""
    folder = built_once(tmp_path_factory, "snapshot_demo", built_demo)
    shutil.copytree(folder / NAME, tmp_path / NAME)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(get_cell_size, "_result", CELL, raising=False)
    with frozen_clock(NOW):
        app = SwapdeckApp(Project(Path(NAME)), start_worker=False, thumbnails="halfcell")
        app.sub_title = NAME
        yield Demo(app, load_demo(folder))


async def wait_until(pilot: Pilot, condition: Callable[[], object], what: str) -> Any:
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        if value := condition():
            return value
        await pilot.pause(0.05)
    raise AssertionError(f"timed out after {WAIT_S}s waiting for {what}")


def text_of(widget: Static) -> str:
    return str(widget.render())


# --- opening each screen as a user does, until it shows its data -------------------------------

async def dashboard(pilot: Pilot, demo: Demo) -> None:
    app = pilot.app
    screen = await wait_until(pilot, lambda: isinstance(app.screen, DashboardScreen)
                              and app.screen, "the dashboard")
    log = screen.query_one(EventLog)
    await wait_until(pilot, lambda: "last heartbeat" in text_of(screen.query_one(WorkerPanel))
                     and screen.query_one("#sources-table", DataTable).row_count == 3
                     and screen.query_one("#jobs-table", DataTable).row_count == 12
                     and log.lines and "stopped" in log.lines[-1].text, "the project's state")


async def extract(pilot: Pilot, demo: Demo) -> None:
    await open_extract(pilot.app, pilot, _wait, rows=3)


async def faces(pilot: Pilot, demo: Demo) -> None:
    app = pilot.app
    await open_faces(app, pilot, _wait)
    await wait_until(pilot, lambda: app.screen.query_one("#groups", OptionList).option_count
                     == 6 and "sort:" in text_of(app.screen.query_one("#faces-status",
                                                                        Static)),
                     "the people and clusters")


async def train(pilot: Pilot, demo: Demo) -> None:
    """The first session chosen in the picker (enter, down, enter)."""
    app = pilot.app
    screen = await from_dashboard(app, pilot, _wait, "t", TrainScreen)
    picker = screen.query_one("#session", Select)   # "new session" and the two sessions:
    await wait_until(pilot, lambda: screen.query_one("#side-a", Select).value == "Ann"
                     and len(picker._options) == 3,   # Select lists them nowhere public
                     "the people and the sessions")
    await pilot.press("enter")
    await wait_until(pilot, lambda: picker.expanded, "the session picker open")
    await pilot.press("down", "enter")
    session_id = demo.made["session_id"]
    await wait_until(pilot, lambda: screen.view is not None
                     and screen.view.session.id == session_id
                     and screen.view.preview_iteration == 600
                     and screen.query_one("#preview", Picture).image is not None
                     and "swap metrics" in text_of(screen.query_one("#metrics", Static)),
                     "the session's state")


async def analysis(pilot: Pilot, demo: Demo) -> None:
    app = pilot.app
    screen = await from_dashboard(app, pilot, _wait, "n", AnalysisScreen)
    graph = screen.query_one(LossGraph)
    await wait_until(pilot, lambda: screen.detail is not None
                     and screen.detail.session.id == demo.made["session_id"]
                     and screen.query_one("#sessions", DataTable).row_count == 2
                     and graph.curves and len(graph.curves[0].series) > 0,
                     "the first session's detail and losses")


def tables_measured(screen: Screen) -> bool:
    """Whether every table has measured the rows it was given, which it does at its next
    refresh (a busy machine can take the picture before): each column as wide as its
    widest cell."""
    return all(column.content_width >= max(cell_len(Text.from_markup(cell).plain)
                                           if isinstance(cell, str) else cell_len(str(cell))
                                           for cell in table.get_column(key))
               for table in screen.query(DataTable) if table.row_count
               for key, column in table.columns.items())


async def convert(pilot: Pilot, demo: Demo) -> None:
    """The session and the source chosen by the screen, and its preview of frame 0 done as
    a worker would do it."""
    app = pilot.app
    screen = await from_dashboard(app, pilot, _wait, "v", ConvertScreen)
    await wait_until(pilot, lambda: screen.session_id == demo.made["session_id"]
                     and screen.source_id == demo.made["source_id"]
                     and screen.preview.job is not None, "the preview job")
    job = screen.preview.job
    before, after = convert_preview_pictures()
    message = "frame 0: 1 face swapped"
    with demo.project.connection() as conn:
        convert_previews.save(conn, job.id, 0, 1, before, after)
        jobs.finish(conn, job.id, JobStatus.DONE, message=message,
                    result={"message": message, "frame": 0, "swapped": 1})
    await wait_until(pilot, lambda: screen.pictures_of == job.id, "the preview's pictures")


async def _wait(pilot: Pilot, condition: Callable[[], object], timeout: float = WAIT_S,
                what: str = "condition") -> object:
    """tests/tui's `wait_for`, with this module's patience."""
    return await wait_until(pilot, condition, what)


OPEN: dict[str, Callable[[Pilot, Demo], Awaitable[None]]] = {
    "dashboard": dashboard, "extract": extract, "faces": faces, "train": train,
    "analysis": analysis, "convert": convert}


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("screen", SCREENS)
def test_screen(screen: str, size: str, demo: Demo, snap_compare) -> None:
    async def run_before(pilot: Pilot) -> None:
        await OPEN[screen](pilot, demo)
        await wait_until(pilot, lambda: tables_measured(pilot.app.screen), "tables measured")
        for field in pilot.app.screen.query("Input, TextArea"):
            if isinstance(field, (Input, TextArea)):
                field.cursor_blink = False
        await pilot.pause()
        assert not demo.notes, f"the app said: {demo.notes}"

    assert snap_compare(demo.app, terminal_size=SIZES[size], run_before=run_before)
