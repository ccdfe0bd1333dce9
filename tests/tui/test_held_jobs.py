"""The dashboard's held jobs (queued on another machine) and failed jobs, on real projects:
listed with what they read and write, released or cancelled by key; a failure's reason whole."""
from __future__ import annotations

from textual.widgets import OptionList, Static

from store import jobs
from store.jobs import JobStatus
from store.origin import origin
from store.project import Project
from tui.app import SwapdeckApp
from screens.widgets.held_panel import HeldPanel
from screens.widgets.jobs_panel import JobsPanel

ELSEWHERE = "gpu-box/0123abcd:/home/me/p"
SMALL = (80, 24)


def footer_keys(app: SwapdeckApp) -> set[str | None]:
    return {a.binding.id for a in app.screen.active_bindings.values() if a.binding.show}


def held_texts(app: SwapdeckApp) -> list[str]:
    options = app.screen.query_one("#held-list", OptionList)
    return [str(options.get_option_at_index(i).prompt) for i in range(options.option_count)]


async def test_held_jobs_are_listed_then_released_and_cancelled_by_key(
        project: Project, wait_for) -> None:
    with project.connection() as conn:
        export = jobs.enqueue(conn, "export", {"folder": "/home/x/faces"})
        ingest = jobs.enqueue(conn, "ingest", {"path": "/data/clip.mp4", "label": ""})
        conn.execute("UPDATE jobs SET origin = ?", (ELSEWHERE,))
    app = SwapdeckApp(project, start_worker=False)
    async with app.run_test(size=SMALL) as pilot:
        await wait_for(pilot, lambda: app.screen.query_one(HeldPanel).entries,
                       what="the held jobs")
        assert app.screen.query_one("#held-box").display
        assert held_texts(app) == [
            f"job {export} export, queued on another machine (gpu-box), in /home/me/p\n"
            "  reads face crops (in the store)\n"
            "  writes PNG files in /home/x/faces (outside the project; files of the same name "
            "are replaced)",
            f"job {ingest} ingest, queued on another machine (gpu-box), in /home/me/p\n"
            "  reads /data/clip.mp4 (outside the project)\n"
            "  writes a new source and its frames (in the store)"]
        assert {"dashboard.release_held", "dashboard.cancel_held"} <= footer_keys(app)
        box = app.screen.query_one("#held-box")
        assert box.border_title.startswith("2 held jobs: queued elsewhere")
        assert box.border_subtitle == "r release  d cancel  R release all"
        assert f"Release held job {ingest}: ingest" in [
            command.title for command in app.screen.palette_commands()]

        await pilot.press("r")  # the first is selected
        await app.workers.wait_for_complete()
        with project.connection() as conn:
            assert jobs.get(conn, export).origin == origin(conn)
        await wait_for(pilot, lambda: len(held_texts(app)) == 1, what="the release to show")
        assert app.screen.query_one(HeldPanel).selected.job.id == ingest

        await pilot.press("d")
        await app.workers.wait_for_complete()
        with project.connection() as conn:
            assert jobs.get(conn, ingest).status == JobStatus.CANCELLED
        await wait_for(pilot, lambda: not app.screen.query_one("#held-box").display,
                       what="the held panel to go")
        assert not {"dashboard.release_held", "dashboard.cancel_held"} & footer_keys(app)


async def test_held_keys_do_nothing_without_held_jobs(project: Project, wait_for) -> None:
    with project.connection() as conn:
        job_id = jobs.enqueue(conn, "histogram", {})
    app = SwapdeckApp(project, start_worker=False)
    async with app.run_test(size=SMALL) as pilot:
        await wait_for(pilot, lambda: app.snapshot, what="the first snapshot")
        assert not app.screen.query_one("#held-box").display
        await pilot.press("d", "R")
        await app.workers.wait_for_complete()
        with project.connection() as conn:
            assert jobs.get(conn, job_id).status == JobStatus.QUEUED


async def test_a_stalled_failure_is_shown_whole_at_80x24_and_retried_by_key(
        project: Project, wait_for) -> None:
    with project.connection() as conn:
        job_id = jobs.enqueue(conn, "histogram", {})
        jobs.finish(conn, job_id, JobStatus.FAILED, error=jobs.stalled_error(job_id, 3))
    app = SwapdeckApp(project, start_worker=False)
    async with app.run_test(size=SMALL) as pilot:
        detail = app.screen.query_one("JobsPanel .detail", Static)
        await wait_for(pilot, lambda: detail.display, what="the failure's detail")
        text = str(detail.render())
        assert text.startswith(f"job {job_id} failed: the worker died 3 times in a row")
        assert f"`swapdeck jobs retry PROJECT {job_id}` queues it again (press y" in text
        assert detail.region.width <= 80 and detail.region.height >= 3  # wrapped, not cut
        await pilot.press("j", "y")
        await app.workers.wait_for_complete()
        with project.connection() as conn:
            again = jobs.get(conn, job_id + 1)
        assert (again.kind, again.status) == ("histogram", JobStatus.QUEUED)
        await wait_for(pilot, lambda: app.screen.query_one(JobsPanel).table.row_count == 2,
                       what="the new job")
