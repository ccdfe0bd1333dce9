"""The Dashboard in an SSH terminal: the sources come first at 80x24 and 100x30, and in a
short terminal the jobs and the events take turns (j and e) instead of squeezing each other."""
from __future__ import annotations

from pathlib import Path

import pytest
from textual.widgets import DataTable

from screens.dashboard import DashboardScreen
from store import jobs
from store.project import Project
from tests.tui.ready_source import seed_ready_video
from tui.app import SwapdeckApp

SOURCES = 4


def visible_rows(table: DataTable) -> int:
    """Data rows inside the table's visible region (its header row aside)."""
    return min(table.row_count, table.scrollable_content_region.height - table.header_height)


@pytest.fixture
def four_sources(project: Project, tmp_path: Path) -> Project:
    for n in range(SOURCES):
        seed_ready_video(project, tmp_path / f"take_{n}_of_a_long_interview_name.mp4")
    with project.connection() as conn:
        for n in range(12):
            jobs.enqueue(conn, "histogram", {})
    return project


@pytest.mark.parametrize("size", [(80, 24), (100, 30), (120, 40)])
async def test_every_source_row_shows(four_sources: Project, wait_for, size) -> None:
    app = SwapdeckApp(four_sources, start_worker=False)
    async with app.run_test(size=size) as pilot:
        table = app.screen.query_one("#sources-table", DataTable)
        await wait_for(pilot, lambda: table.row_count == SOURCES, what="the sources")
        await pilot.pause()
        assert visible_rows(table) == SOURCES, f"{visible_rows(table)} source rows at {size}"
        jobs_table = app.screen.query_one("#jobs-table", DataTable)
        assert visible_rows(jobs_table) >= 3, "the jobs keep a few rows too"


async def test_in_a_short_terminal_jobs_and_events_take_turns(four_sources: Project,
                                                               wait_for) -> None:
    app = SwapdeckApp(four_sources, start_worker=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, DashboardScreen), what="dashboard")
        screen = app.screen
        jobs_box, events_box = screen.query_one("#jobs-box"), screen.query_one("#events-box")
        assert jobs_box.region.height > 0 and events_box.region.height == 0
        assert "e: events" in str(jobs_box.border_subtitle)
        await pilot.press("e")
        await pilot.pause()
        assert events_box.region.height > 0 and jobs_box.region.height == 0
        assert screen.query_one("#events").has_focus
        await pilot.press("j")
        await pilot.pause()
        assert jobs_box.region.height > 0 and events_box.region.height == 0
        assert screen.query_one("#jobs-table").has_focus
    tall = SwapdeckApp(four_sources, start_worker=False)
    async with tall.run_test(size=(120, 40)) as pilot:   # a tall one shows both
        await wait_for(pilot, lambda: isinstance(tall.screen, DashboardScreen), what="dashboard")
        await pilot.pause()
        assert tall.screen.query_one("#events-box").region.height > 0
        assert tall.screen.query_one("#jobs-box").region.height > 0
