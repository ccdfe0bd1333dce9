"""The Analysis screen on a real store with sessions the real trainer made: runs, graphs,
resume with a lower learning rate, restore, compare and delete, all by keyboard; and a
failed run's error under the session."""
from __future__ import annotations

import threading
from pathlib import Path

import pytest
from textual.widgets import DataTable, Input, Select, Static, TabbedContent
from textual_plotext import PlotextPlot

from pipeline.worker import Worker, WorkerOptions
from screens.analysis import AnalysisScreen
from screens.dashboard import DashboardScreen
from screens.dialogs.choose import ChooseDialog
from screens.dialogs.confirm import ConfirmDialog
from screens.dialogs.resume import ResumeDialog
from screens.widgets.analysis_losses import LossGraph
from screens.widgets.analysis_previews import PreviewPanel
from store import jobs, sessions
from store.jobs import JobStatus
from store.project import Project
from store.files.session_restore import archives
from store.requests.catalogue import load
from store.sessions_baseline import resume_baseline
from store.views.training_figures import examples_per_second
from tests.pipeline.train.people import copy_pair
from tests.pipeline.train.tiny_sessions import make_session, run_train
from tests.tui.open_screens import open_train
from tui.app import SwapdeckApp
from tui.format import rate_figure

SIZE = (160, 60)


@pytest.fixture
def trained(project: Project, prebuilt, seeded_pair
            ) -> tuple[sessions.Session, sessions.Session]:
    """Two sessions: `first` at 30 iterations (snapshots at 10, 20, 30), `second` at 20.
    Trained once per test run; each test has a copy."""
    def build(built: Project, _media: Path) -> list[int]:
        copy_pair(seeded_pair, built)
        first = make_session(built, "first", snapshot_every=10)
        second = make_session(built, "second")
        for session, iterations in ((first, 30), (second, 20)):
            done = run_train(built, session.id, settings={"iterations": iterations})
            assert done.status == JobStatus.DONE, done.error
        return [first.id, second.id]

    first_id, second_id = prebuilt("analysis_trained", build)
    with project.connection() as conn:
        return sessions.get(conn, first_id), sessions.get(conn, second_id)


def text_of(screen: AnalysisScreen, widget_id: str) -> str:
    return str(screen.query_one(widget_id, Static).render())


async def open_analysis(app: SwapdeckApp, pilot, wait_for) -> AnalysisScreen:
    await wait_for(pilot, lambda: isinstance(app.screen, DashboardScreen), what="the dashboard")
    await pilot.press("n")
    screen = await wait_for(pilot, lambda: isinstance(app.screen, AnalysisScreen)
                            and app.screen, what="the Analysis screen")
    await wait_for(pilot, lambda: screen.detail is not None, what="the first session")
    return screen


def rows_of(screen: AnalysisScreen, table_id: str) -> list[list[str]]:
    table = screen.query_one(table_id, DataTable)
    return [[str(cell) for cell in table.get_row_at(i)] for i in range(table.row_count)]


async def test_sessions_runs_graphs_and_previews_by_keyboard(
        project: Project, trained, wait_for) -> None:
    first, second = trained
    app = SwapdeckApp(project, start_worker=False)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_analysis(app, pilot, wait_for)
        assert [row[0] for row in rows_of(screen, "#sessions")] == ["first", "second"]
        assert "first: tiny-test, A Ann → B Bob · iteration 30 of 30 · 1 run" in text_of(
            screen, "#summary")
        await pilot.press("down")
        await wait_for(pilot, lambda: screen.detail.session.name == "second",
                       what="the second session")
        await pilot.press("up")
        await wait_for(pilot, lambda: screen.detail.session.name == "first", what="first")

        await pilot.press("2")
        assert screen.query_one("#tabs", TabbedContent).active == "runs-tab"
        [run] = rows_of(screen, "#runs")
        assert run[3] == "4" and run[4] == "0→30" and run[8] == "reached 30 iterations"

        graph = screen.query_one(LossGraph)
        await pilot.press("1", "z")   # 30 iterations: nothing closer to zoom to
        assert graph.zoom is None
        await pilot.press("s", "l")
        state = text_of(screen, "#graph-state")
        assert "all iterations · smoothing raw · log scale" in state

        await pilot.press("c")
        await wait_for(pilot, lambda: isinstance(app.screen, ChooseDialog), what="compare")
        await pilot.press("down", "enter")
        await wait_for(pilot, lambda: "compared with second" in text_of(screen, "#graph-state"),
                       what="the compared curve")
        assert [curve.label for curve in graph.curves] == ["first", "second"]

        await pilot.press("4")
        kinds = [(row[1], row[2], row[6], row[7]) for row in rows_of(screen, "#checkpoints")]
        assert kinds[0] == ("save", "30", "ok", "live")
        assert ("snapshot", "10", "ok", "live") in kinds

        await pilot.press("5")
        await wait_for(pilot, lambda: "preview 3 of 3, iteration 30" in text_of(
            screen, "#preview-caption"), what="the newest preview")
        await pilot.press("left_square_bracket", "left_square_bracket")
        previews = screen.query_one(PreviewPanel)
        await wait_for(pilot, lambda: previews.shown_preview == (first.id, 10),
                       what="the oldest preview")
        assert "preview 1 of 3, iteration 10" in text_of(screen, "#preview-caption")


async def test_resume_with_a_lower_learning_rate_is_watched_and_stopped(
        project: Project, trained, wait_for) -> None:
    first, _ = trained
    app = SwapdeckApp(project, start_worker=False)
    worker = threading.Thread(target=Worker(project, WorkerOptions(
        exit_when_idle=True, watch_inbox=False)).run)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_analysis(app, pilot, wait_for)
        await pilot.press("r")
        dialog = await wait_for(pilot, lambda: isinstance(app.screen, ResumeDialog)
                                and app.screen, what="the resume dialog")
        assert "model: tiny-test" in str(dialog.query_one("#frozen", Static).render())
        assert app.focused is dialog.query_one("#resume-iterations", Input)
        await pilot.press("ctrl+r")   # the target is reached: refused, the dialog stays
        assert "raise it above 30" in str(dialog.query_one("#resume-problems",
                                                           Static).render())
        await pilot.press("end", "backspace", "backspace", *"100000", "tab", "tab")
        assert app.focused is dialog.query_one("#resume-learning_rate", Input)
        await pilot.press("end", *["backspace"] * 10, *"1e-5", "ctrl+r")
        await wait_for(pilot, lambda: isinstance(app.screen, AnalysisScreen), what="closed")

        def queued() -> list[jobs.Job]:
            with project.connection() as conn:
                return jobs.list_jobs(conn, statuses=[jobs.JobStatus.QUEUED])
        [job] = await wait_for(pilot, queued, what="the train job")
        assert job.params == {"session_id": first.id,
                              "settings": {"iterations": 100_000, "learning_rate": 1e-5}}
        await wait_for(pilot, lambda: screen.detail.row.job is not None, what="queued shown")
        assert screen.check_action("resume", ()) is None   # greyed while it waits or trains
        worker.start()
        try:
            await wait_for(pilot, lambda: "training now" in text_of(screen, "#summary")
                           and screen.detail.session.iteration > 40, timeout=60,
                           what="the session training on")
            newest = rows_of(screen, "#runs")[0]
            assert newest[1] == "running" and newest[4].startswith("30→")  # no restart
            await pilot.press("ctrl+t")
            await wait_for(pilot, lambda: screen.detail.row.job is None, timeout=60,
                           what="the stop")
            assert rows_of(screen, "#runs")[0][8] == "stopped"
        finally:
            with project.connection() as conn:
                jobs.request_cancel(conn, job.id)
            worker.join(timeout=60)
    with project.connection() as conn:
        run = sessions.runs(conn, first.id)[-1]
        assert run.settings["learning_rate"] == 1e-5
        assert run.start_iteration == 30 and run.end_iteration > 40
        assert [c.iteration for c in sessions.checkpoints(conn, first.id, "save")] == [
            run.end_iteration]   # it saved before it stopped


async def test_restore_a_snapshot_then_resume_continues_from_it(
        project: Project, trained, wait_for) -> None:
    first, _ = trained
    app = SwapdeckApp(project, start_worker=False)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_analysis(app, pilot, wait_for)
        await pilot.press("4")
        table = screen.query_one("#checkpoints", DataTable)
        table.focus()
        target = next(i for i, row in enumerate(rows_of(screen, "#checkpoints"))
                      if row[1] == "snapshot" and row[2] == "10")
        table.move_cursor(row=target)
        await pilot.press("o")
        dialog = await wait_for(pilot, lambda: isinstance(app.screen, ChooseDialog)
                                and app.screen, what="the checkpoint list")
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmDialog), what="confirm")
        await pilot.press("n")   # no: nothing changes
        await wait_for(pilot, lambda: app.screen is screen, what="back")
        with project.connection() as conn:
            assert sessions.get(conn, first.id).iteration == 30
        await pilot.press("o")
        await wait_for(pilot, lambda: isinstance(app.screen, ChooseDialog), what="the list")
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmDialog), what="confirm")
        await pilot.press("y")
        await wait_for(pilot, lambda: "archive #1" in text_of(screen, "#summary"),
                       what="the restore")
        assert dialog is not None
        assert "iteration 10 of 30" in text_of(screen, "#summary")
        where = {(row[1], row[2]): row[7] for row in rows_of(screen, "#checkpoints")}
        assert where[("snapshot", "10")] == "live" and where[("save", "30")] == "archive #1"
    with project.connection() as conn:
        [archive] = archives(conn, first.id)
        assert (archive.iteration, archive.restored_to) == (30, 10)
    job = run_train(project, first.id, settings={"iterations": 25})
    assert job.status == JobStatus.DONE and job.result["iterations_run"] == 15


async def test_delete_asks_first_and_takes_the_files(project: Project, trained,
                                                    wait_for) -> None:
    first, second = trained
    folder = project.models / str(first.id)
    assert folder.is_dir()
    app = SwapdeckApp(project, start_worker=False)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_analysis(app, pilot, wait_for)
        await pilot.press("d")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmDialog), what="confirm")
        await pilot.press("escape")
        await pilot.pause(0.3)
        assert folder.is_dir()
        await pilot.press("d")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmDialog), what="confirm")
        await pilot.press("y")
        await wait_for(pilot, lambda: len(rows_of(screen, "#sessions")) == 1, what="deletion")
        await wait_for(pilot, lambda: screen.detail.session.name == "second",
                       what="the next session")
    assert not folder.exists()
    with project.connection() as conn:
        assert [s.name for s in sessions.list_sessions(conn)] == ["second"]
        assert sessions.losses(conn, first.id) == []


async def test_damaged_model_files_are_said_plainly_and_resume_is_refused(
        project: Project, trained, wait_for) -> None:
    first, _ = trained
    with project.connection() as conn:
        save = sessions.checkpoints(conn, first.id, "save")[0]
    path = project.models / str(first.id) / save.path
    path.write_bytes(path.read_bytes()[:500])
    app = SwapdeckApp(project, start_worker=False)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_analysis(app, pilot, wait_for)
        summary = text_of(screen, "#summary")
        assert "the file of the save at 30 is damaged" in summary
        assert "restore the snapshot at 30" in summary or "restore the backup at" in summary
        assert rows_of(screen, "#sessions")[0][7] == "model files missing or damaged"
        assert screen.check_action("resume", ()) is None
        await pilot.press("r")
        await pilot.pause(0.2)
        assert app.screen is screen   # no dialog
        await pilot.press("o")
        await wait_for(pilot, lambda: isinstance(app.screen, ChooseDialog), what="the list")
        options = app.screen.options
        assert all("save at 30" not in label for _, label in options)  # damaged: not offered


async def test_a_session_with_many_losses_is_drawn_downsampled(
        project: Project, trained, wait_for) -> None:
    first, _ = trained
    with project.connection() as conn:
        [run] = sessions.runs(conn, first.id)
        rows = [(i, 1.0 / i, 2.0 / i) for i in range(31, 200_001)]
        sessions.record_progress(conn, first.id, run.id, 200_000, rows)
    app = SwapdeckApp(project, start_worker=False)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_analysis(app, pilot, wait_for)
        state = text_of(screen, "#graph-state")
        assert "all iterations, each point the mean of 200 iterations" in state
        graph = screen.query_one(LossGraph)
        assert len(graph.curves[0].series) == 1000
        await pilot.press("z")
        await wait_for(pilot, lambda: "the newest 50,000 iterations, each point the mean of "
                       "50 iterations" in text_of(screen, "#graph-state"), what="the zoom")
        await pilot.press(*"zzzzzzz")   # down to 200,000 / 4**6 = 48: the closest is 50
        await wait_for(pilot, lambda: "the newest 50 iterations ·" in text_of(
            screen, "#graph-state"), what="the closest zoom")
        assert graph.zoom_level == 6
        await pilot.press(*"ZZZZZ")
        await wait_for(pilot, lambda: "the newest 50,000 iterations" in text_of(
            screen, "#graph-state"), what="zoomed out")
        await pilot.press("Z")
        await wait_for(pilot, lambda: "all iterations" in text_of(screen, "#graph-state"),
                       what="zoomed out")


async def test_a_resume_the_worker_refused_shows_its_error_until_a_newer_one(
        project: Project, trained, wait_for) -> None:
    first, _ = trained
    refused = run_train(project, first.id, settings={"no_such_setting": 1})
    assert refused.status == JobStatus.FAILED and "no_such_setting" in refused.error
    app = SwapdeckApp(project, start_worker=False)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_analysis(app, pilot, wait_for)
        assert screen.detail.session.name == "first"
        assert (f"last run failed: {refused.error} (job {refused.id})"
                in text_of(screen, "#summary"))
        await pilot.press("down")
        await wait_for(pilot, lambda: screen.detail.session.name == "second", what="second")
        assert "last run failed" not in text_of(screen, "#summary")   # not its job
        await pilot.press("up")
        await wait_for(pilot, lambda: "last run failed" in text_of(screen, "#summary"),
                       what="first again")
        with project.connection() as conn:
            queued = jobs.enqueue(conn, "train", {"session_id": first.id})
        await wait_for(pilot, lambda: f"queued (job {queued})" in text_of(screen, "#summary"),
                       what="the newer job")
        assert "last run failed" not in text_of(screen, "#summary")


async def test_the_runs_table_and_the_train_panel_show_one_examples_rate(
        project: Project, trained, wait_for) -> None:
    """Both come from store.views.training_figures, rounded alike, with the same unit."""
    first, _ = trained
    with project.connection() as conn:
        [run] = sessions.runs(conn, first.id)
    expected = rate_figure(examples_per_second(run, run.ended_at))
    app = SwapdeckApp(project, start_worker=False)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_analysis(app, pilot, wait_for)
        await pilot.press("2")
        assert screen.query_one("#runs", DataTable).ordered_columns[5].label.plain == (
            "examples/s")
        assert rows_of(screen, "#runs")[0][5] == expected
        await pilot.press("escape")
        train = await open_train(app, pilot, wait_for)
        picker = train.query_one("#session", Select)
        await wait_for(pilot, lambda: len(picker._options) == 3, what="the sessions")
        picker.value = first.id
        await wait_for(pilot, lambda: "not training" in text_of(train, "#status"),
                       what="the session's state")
        assert (f"not training; last run ended: reached 30 iterations ({expected} "
                "examples/s)") in text_of(train, "#status")


async def test_swap_metrics_measured_without_a_face_say_so(
        project: Project, trained, wait_for) -> None:
    """A save whose A→B outputs held no face the detector found is a row with faces 0:
    measured, not "none yet"."""
    first, _ = trained
    with project.connection() as conn:
        for iteration in (20, 30):
            sessions.record_metrics(conn, first.id, sessions.SwapMetrics(
                iteration, 0, None, None, None, None))
    app = SwapdeckApp(project, start_worker=False)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_analysis(app, pilot, wait_for)
        await pilot.press("3")
        note = text_of(screen, "#metrics-note")
        assert note.startswith("swap metrics: measured at iteration 30: no face found in the "
                               "A→B outputs of Ann's held-out faces")
        assert "none at the 2 saves so far" in note
        drawn = screen.query_one("#identity-plot", PlotextPlot).plt.build()
        assert "none yet" not in drawn and "no swap metrics" not in drawn
        await pilot.press("down")   # `second`: never measured
        await wait_for(pilot, lambda: "swap metrics: none yet" in text_of(
            screen, "#metrics-note"), what="the second session's note")


async def test_a_blank_resume_field_shows_what_the_resume_trains_with(
        project: Project, trained, wait_for) -> None:
    """`first` trained at batch 4: a blank batch size resumes at 4, and says so, as
    `swapdeck resume` does (one baseline: store.sessions_baseline)."""
    first, _ = trained
    baseline = resume_baseline(first)
    assert baseline["batch_size"] == 4 != load().train.option("batch_size").default
    app = SwapdeckApp(project, start_worker=False)
    async with app.run_test(size=SIZE) as pilot:
        await open_analysis(app, pilot, wait_for)
        await pilot.press("r")
        dialog = await wait_for(pilot, lambda: isinstance(app.screen, ResumeDialog)
                                and app.screen, what="the resume dialog")
        batch = dialog.query_one("#resume-batch_size", Input)
        assert batch.value == "4" and batch.placeholder == "4"
        batch.value = ""
        dialog.query_one("#resume-iterations", Input).value = "40"
        await pilot.pause()
        assert "resume with iterations=40" in text_of(dialog, "#resume-problems")
        await pilot.press("ctrl+r")

        def queued() -> list[jobs.Job]:
            with project.connection() as conn:
                return jobs.list_jobs(conn, statuses=[jobs.JobStatus.QUEUED])
        [job] = await wait_for(pilot, queued, what="the train job")
    assert job.params == {"session_id": first.id, "settings": {"iterations": 40}}
    with project.connection() as conn:
        assert resume_baseline(sessions.get(conn, first.id))["batch_size"] == 4
