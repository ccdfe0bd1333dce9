"""The add-media dialog: refuses what is not there, completes paths, escape closes it."""
from __future__ import annotations

from pathlib import Path

from textual.widgets import Static

from screens.dashboard import DashboardScreen
from screens.dialogs.add_media import AddMediaDialog, parse_paths
from store import jobs
from store.project import Project
from tests.media import write_video
from tui.app import SwapdeckApp
from screens.widgets.path_input import PathInput

SIZE = (140, 45)


async def open_dialog(app: SwapdeckApp, pilot, wait_for) -> AddMediaDialog:
    await wait_for(pilot, lambda: isinstance(app.screen, DashboardScreen), what="the dashboard")
    await pilot.press("a")
    return await wait_for(pilot, lambda: isinstance(app.screen, AddMediaDialog) and app.screen,
                          what="the dialog")


async def test_a_missing_path_shows_an_error_and_keeps_the_dialog(
        project: Project, tmp_path: Path, wait_for, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    app = SwapdeckApp(project, start_worker=False)
    async with app.run_test(size=SIZE) as pilot:
        dialog = await open_dialog(app, pilot, wait_for)
        await pilot.press(*"not-here.mp4", "enter")
        error = str(dialog.query_one("#error", Static).render())
        assert "no such file or folder: not-here.mp4" in error
        assert app.screen is dialog
        assert dialog.query_one(PathInput).has_class("-invalid")
        await pilot.press("escape")
        assert isinstance(app.screen, DashboardScreen)
    with project.connection() as conn:
        assert jobs.list_jobs(conn) == []


async def test_a_file_that_is_not_media_is_refused_before_anything_is_queued(
        project: Project, tmp_path: Path, wait_for, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "notes.mp4").write_text("a shopping list, not a video")
    app = SwapdeckApp(project, start_worker=False)
    async with app.run_test(size=SIZE) as pilot:
        dialog = await open_dialog(app, pilot, wait_for)
        await pilot.press(*"notes.mp4", "enter")
        error = str(dialog.query_one("#error", Static).render())
        assert "not a video or image: notes.mp4" in error
        assert app.screen is dialog and dialog.query_one(PathInput).has_class("-invalid")
        await pilot.press("escape")
        await app.workers.wait_for_complete()
    with project.connection() as conn:
        assert jobs.list_jobs(conn) == []


async def test_an_empty_path_is_refused(project: Project, wait_for) -> None:
    app = SwapdeckApp(project, start_worker=False)
    async with app.run_test(size=SIZE) as pilot:
        dialog = await open_dialog(app, pilot, wait_for)
        await pilot.press("enter")
        assert "type the path" in str(dialog.query_one("#error", Static).render())
        assert app.screen is dialog


async def test_tab_takes_the_path_completion(project: Project, tmp_path: Path, wait_for,
                                            monkeypatch) -> None:
    (tmp_path / "clips").mkdir()
    (tmp_path / "clips" / "interview_take1.mp4").write_bytes(b"not really a video")
    monkeypatch.chdir(tmp_path)  # a short relative path fits the input without scrolling
    app = SwapdeckApp(project, start_worker=False)
    async with app.run_test(size=SIZE) as pilot:
        dialog = await open_dialog(app, pilot, wait_for)
        path_input = dialog.query_one(PathInput)
        await pilot.press(*"clips/inter")
        await wait_for(pilot, lambda: "clips/interview_take1.mp4" in path_input.render_line(0).text,
                       what="the completion to show")
        await pilot.press("tab")
        assert path_input.value == "clips/interview_take1.mp4"
        assert path_input.has_focus
        await pilot.press("tab")  # nothing left to complete: on to the label
        assert dialog.query_one("#label").has_focus


async def test_escape_adds_nothing(project: Project, wait_for) -> None:
    app = SwapdeckApp(project, start_worker=False)
    async with app.run_test(size=SIZE) as pilot:
        await open_dialog(app, pilot, wait_for)
        await pilot.press(*"/tmp", "escape")
        assert isinstance(app.screen, DashboardScreen)
        await app.workers.wait_for_complete()
    with project.connection() as conn:
        assert jobs.list_jobs(conn) == []


def test_parse_paths_splits_on_spaced_semicolons_and_expands_home(
        tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    write_video(tmp_path / "a.mp4", 1)
    paths, errors = parse_paths("~/a.mp4 ; ~/b.mp4")
    assert paths == [tmp_path / "a.mp4", tmp_path / "b.mp4"]
    assert errors == [f"no such file or folder: {tmp_path / 'b.mp4'}"]
