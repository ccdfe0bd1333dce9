"""The dashboard against real projects: empty state, adding media through a real worker, cancel."""
from __future__ import annotations

from pathlib import Path

from rich.text import Text
from textual.command import CommandList, CommandPalette
from textual.widgets import DataTable

from screens.dialogs.add_media import AddMediaDialog
from store import jobs
from store.jobs import JobStatus
from store.project import Project
from tests.paths import real_media
from tui.app import SwapdeckApp
from screens.widgets.jobs_panel import JobsPanel
from screens.widgets.sources_panel import SourcesPanel
from screens.widgets.worker_panel import WorkerPanel

SIZE = (140, 45)
INGEST_TIMEOUT_S = 60.0


def column(table: DataTable, key: str) -> list[str]:
    return [cell.plain if isinstance(cell, Text) else str(cell) for cell in table.get_column(key)]


def sources_table(app: SwapdeckApp) -> DataTable:
    return app.screen.query_one(SourcesPanel).table


def jobs_table(app: SwapdeckApp) -> DataTable:
    return app.screen.query_one(JobsPanel).table


async def test_empty_project_says_how_to_add_media(project: Project, wait_for) -> None:
    app = SwapdeckApp(project, start_worker=False)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.snapshot, what="the first snapshot")
        empty = app.screen.query_one("SourcesPanel .empty")
        assert empty.display and not sources_table(app).display
        assert "No sources yet: press a to add a video" in str(empty.render())
        assert "No jobs yet" in str(app.screen.query_one("JobsPanel .empty").render())
        worker_text = str(app.screen.query_one(WorkerPanel).render())
        assert "never started" in worker_text and "press w to start one" in worker_text


async def add_by_keyboard_and_wait(app: SwapdeckApp, pilot, wait_for, media: Path) -> None:
    await wait_for(pilot, lambda: app.snapshot, what="the first snapshot")
    await pilot.press("a")
    await wait_for(pilot, lambda: isinstance(app.screen, AddMediaDialog), what="the dialog")
    await pilot.press(*str(media), "enter")
    await wait_for(pilot, lambda: column(jobs_table(app), "status") == ["done"],
                   timeout=INGEST_TIMEOUT_S, what="the ingest job to be done")
    assert column(jobs_table(app), "path") == [media.name]  # the name: a cut cell keeps it


async def test_add_image_by_keyboard_and_watch_it_ingest(
        worker_project: Project, astronaut_png: Path, wait_for) -> None:
    app = SwapdeckApp(worker_project, start_worker=True)
    async with app.run_test(size=SIZE) as pilot:
        await add_by_keyboard_and_wait(app, pilot, wait_for, astronaut_png)
        await wait_for(pilot, lambda: column(sources_table(app), "facts") == ["512x512"],
                       what="the source's facts")
        assert column(sources_table(app), "name") == ["astronaut.png"]
        assert column(sources_table(app), "disk") == ["ok"]
        assert "alive" in str(app.screen.query_one(WorkerPanel).render())


async def test_add_video_by_keyboard_and_watch_it_ingest(worker_project: Project, wait_for) -> None:
    video = real_media("videos/dpe_s.mp4")
    app = SwapdeckApp(worker_project, start_worker=True)
    async with app.run_test(size=SIZE) as pilot:
        await add_by_keyboard_and_wait(app, pilot, wait_for, video)
        await wait_for(pilot, lambda: "228 frames" in "".join(column(sources_table(app), "facts")),
                       what="the video's facts")


async def test_c_cancels_the_selected_queued_job(project: Project, wait_for) -> None:
    with project.connection() as conn:
        job_id = jobs.enqueue(conn, "ingest", {"path": "/nowhere/clip.mp4"})
    app = SwapdeckApp(project, start_worker=False)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: jobs_table(app).row_count == 1, what="the queued job")
        await pilot.press("j")
        assert app.screen.query_one(JobsPanel).selected_job.id == job_id
        await pilot.press("c")
        await app.workers.wait_for_complete()
        with project.connection() as conn:
            assert jobs.get(conn, job_id).status == JobStatus.CANCELLED
        await wait_for(pilot, lambda: column(jobs_table(app), "status") == ["cancelled"],
                       what="the table to show the cancel")


async def test_command_palette_cancels_a_job_by_name(project: Project, wait_for) -> None:
    with project.connection() as conn:
        job_id = jobs.enqueue(conn, "ingest", {"path": "/nowhere/clip.mp4"})
    app = SwapdeckApp(project, start_worker=False)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: jobs_table(app).row_count == 1, what="the queued job")
        await pilot.press("ctrl+p", *f"cancel job {job_id}")
        await wait_for(pilot, lambda: isinstance(app.screen, CommandPalette)
                       and app.screen.query_one(CommandList).option_count == 1,
                       what="the palette to offer one match")
        await pilot.press("enter")
        await wait_for(pilot, lambda: column(jobs_table(app), "status") == ["cancelled"],
                       what="the palette's cancel")
        with project.connection() as conn:
            assert jobs.get(conn, job_id).status == JobStatus.CANCELLED


async def test_w_starts_a_worker_when_none_runs(worker_project: Project, wait_for) -> None:
    app = SwapdeckApp(worker_project, start_worker=False)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.snapshot, what="the first snapshot")
        assert not app.snapshot.worker_alive
        await pilot.press("w")
        await wait_for(pilot, lambda: app.snapshot.worker_alive, timeout=30,
                       what="the worker to sign in")
        assert "alive" in str(app.screen.query_one(WorkerPanel).render())


async def test_a_name_with_a_newline_and_markup_stays_one_plain_row(
        project: Project, tmp_path: Path, astronaut_png: Path, wait_for) -> None:
    from pipeline.worker import Worker, WorkerOptions
    from store.requests.ingest import ingest_params
    from tui.printable import printable

    tricky = tmp_path / "new\nline [bold]\u202e.png"
    tricky.write_bytes(astronaut_png.read_bytes())
    with project.connection() as conn:
        jobs.enqueue(conn, "ingest", ingest_params(tricky, ""))
    Worker(project, WorkerOptions(exit_when_idle=True, watch_inbox=False)).run()
    app = SwapdeckApp(project, start_worker=False)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: sources_table(app).row_count == 1, what="the source row")
        assert column(sources_table(app), "name") == [printable(tricky.name)]
        assert column(sources_table(app), "name") == ["new\\nline [bold]\\u202e.png"]
        assert column(jobs_table(app), "path") == [printable(tricky.name)]


async def test_a_faceswap_faceset_is_imported_from_the_add_dialog(project: Project, tmp_path,
                                                                  wait_for) -> None:
    import cv2

    from tests.pipeline.extract_jobs import run_worker
    from tests.pipeline.interop.foreign_files import faceswap_face_png
    from tests.pipeline.train.people import astronaut_landmarks, picture

    face = tmp_path / "astronaut_0.png"
    face.write_bytes(faceswap_face_png(cv2.cvtColor(picture(), cv2.COLOR_RGB2BGR),
                                       astronaut_landmarks(), "astronaut.png"))
    app = SwapdeckApp(project, start_worker=False)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.snapshot, what="the first snapshot")
        await pilot.press("a")
        await wait_for(pilot, lambda: isinstance(app.screen, AddMediaDialog), what="the dialog")
        await pilot.press(*str(tmp_path / "nowhere.png"))
        await pilot.click("#import")
        assert "no such file or folder" in str(app.screen.query_one("#error").render())
        app.screen.query_one("#path").value = str(face)
        app.screen.query_one("#label").value = "Eileen"
        await pilot.pause(0.5)          # a button ignores a second press while it flashes
        await pilot.click("#import")
        await wait_for(pilot, lambda: column(jobs_table(app), "kind") == ["import"],
                       what="the import job")
    run_worker(project)
    with project.connection() as conn:
        [(status,)] = conn.execute("SELECT status FROM jobs").fetchall()
        assert status == JobStatus.DONE
        assert [tuple(r) for r in conn.execute("SELECT i.name FROM faces f JOIN identities i"
                                               " ON i.id = f.identity_id")] == [("Eileen",)]
