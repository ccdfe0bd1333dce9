"""The Convert screen on a real project (a trained session and an extracted video): the form
with every option's help, frames stepped by keyboard into preview jobs that the real worker
renders, a bad setting refused, and a conversion queued with the changed settings only; and
on an empty project, what is missing said instead of a preview."""
from __future__ import annotations

import asyncio
from pathlib import Path

from textual.widgets import Checkbox, Input, ProgressBar, Select, Static

from screens.convert import ConvertScreen
from screens.dashboard import DashboardScreen
from screens.dialogs.confirm import ConfirmDialog
from screens.widgets.convert_preview import NO_SESSION
from store import jobs, sessions, sources
from store.requests.catalogue import load
from store.requests.convert import convert_params, preview_params
from store.jobs import Job, JobStatus
from store.project import Project
from tests.convert_project import ConvertProject, run_worker
from tests.tui.open_screens import from_dashboard, open_convert
from tui.app import SwapdeckApp

SIZE = (160, 50)
RENDER_TIMEOUT_S = 60


def text_of(screen: ConvertScreen, selector: str) -> str:
    return str(screen.query_one(selector, Static).render())


def jobs_of(project: Project, kind: str) -> list[Job]:
    with project.connection() as conn:
        return [job for job in jobs.list_jobs(conn) if job.kind == kind]


async def first_preview(project: Project, pilot, wait_for) -> Job:
    [job] = await wait_for(pilot, lambda: jobs_of(project, "convert_preview"),
                           what="the preview queued on opening")
    return job


async def test_the_form_shows_every_option_and_frame_keys_queue_rendered_previews(
        ready: ConvertProject, wait_for) -> None:
    project = ready.project
    app = SwapdeckApp(project, start_worker=False)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_convert(app, ready, pilot, wait_for)
        for group in load().convert.groups:
            for known in group.options:
                assert known.help in text_of(screen, f"#opt-{known.name}-field .help")
        opening = await first_preview(project, pilot, wait_for)
        assert opening.params["frame"] == 0
        await wait_for(pilot, lambda: "no worker is running: press w" in text_of(
            screen, "#preview-caption"), what="the missing worker")

        await pilot.press("right", "right", "shift+right")
        queued = await wait_for(pilot, lambda: [j for j in jobs_of(project, "convert_preview")
                                                if j.params["frame"] == 12],
                                what="the preview of frame 12")
        newest, *earlier = jobs_of(project, "convert_preview")
        assert newest.id == queued[0].id and newest.status == JobStatus.QUEUED
        # (the keys come faster than the pause before a preview: mostly one job for all)
        assert opening.id in {j.id for j in earlier}
        assert {j.status for j in earlier} == {JobStatus.CANCELLED}   # while they waited
        with project.connection() as conn:
            assert queued[0].params == preview_params(
                conn, sessions.get(conn, ready.session_id),
                sources.get(conn, ready.source_id), {}, 12)
        await wait_for(pilot, lambda: "rendering frame 12… (job" in text_of(
            screen, "#preview-caption"), what="the caption of the queued preview")

        await asyncio.to_thread(run_worker, project)
        await wait_for(pilot, lambda: "frame 12: 1 face swapped" in text_of(
            screen, "#preview-caption"), timeout=RENDER_TIMEOUT_S, what="the rendered preview")
        assert screen.pictures_of == queued[0].id
        before, after = (screen.query_one(f"#{side}").image for side in ("before", "after"))
        assert before.size == after.size == (512, 512) and before.tobytes() != after.tobytes()

        await pilot.press("end")
        await wait_for(pilot, lambda: [j for j in jobs_of(project, "convert_preview")
                                       if j.params["frame"] == 23], what="the last frame")
        assert screen.query_one("#frame", Input).value == "23"

        [last] = [j for j in jobs_of(project, "convert_preview") if j.params["frame"] == 23]
        await pilot.press("escape")   # nobody will look at the waiting preview now
        await wait_for(pilot, lambda: isinstance(app.screen, DashboardScreen),
                       what="the dashboard again")
        await wait_for(pilot, lambda: [j for j in jobs_of(project, "convert_preview")
                                       if j.id == last.id
                                       and j.status == JobStatus.CANCELLED],
                       what="the waiting preview cancelled")


async def test_a_bad_setting_is_refused_and_ctrl_s_sends_only_the_changes(
        ready: ConvertProject, wait_for) -> None:
    project = ready.project
    app = SwapdeckApp(project, start_worker=False)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_convert(app, ready, pilot, wait_for)
        await first_preview(project, pilot, wait_for)
        screen.query_one("#opt-crf", Input).value = "lots"
        await pilot.pause()
        assert text_of(screen, "#problems") == "crf takes a whole number, not 'lots'"
        screen.query_one("#opt-crf", Input).value = "99"
        await pilot.pause()
        assert text_of(screen, "#problems") == "crf is from 0 to 51, not 99"
        await pilot.press("ctrl+s")
        await pilot.pause(0.5)
        assert jobs_of(project, "convert") == []
        assert len(jobs_of(project, "convert_preview")) == 1   # nothing queued

        screen.query_one("#opt-crf", Input).value = "20"
        screen.query_one("#opt-colour", Select).value = "rct"
        screen.query_one("#opt-audio", Checkbox).value = False
        screen.query_one("#opt-mask", Input).value = "none"
        await pilot.pause()
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmDialog),
                       what="the question before converting")
        await pilot.press("y")
        [job] = await wait_for(pilot, lambda: jobs_of(project, "convert"),
                               what="the convert job")
        changed = {"crf": 20, "colour": "rct", "audio": False, "mask": "none"}
        with project.connection() as conn:
            expected = convert_params(conn, project.outputs,
                                      sessions.get(conn, ready.session_id),
                                      sources.get(conn, ready.source_id), changed)
        assert job.params == expected and job.params["settings"] == changed
        await wait_for(pilot, lambda: f"queued (job {job.id}): waiting for the worker"
                       in text_of(screen, "#convert-status"), what="the queued conversion")
        # the settings changed since the opening preview: a new one shows them
        await wait_for(pilot, lambda: jobs_of(project, "convert_preview")[0].params[
            "settings"] == changed, what="a preview of the new settings")

        await asyncio.to_thread(run_worker, project)
        await wait_for(pilot, lambda: f"done (job {job.id}): wrote {expected['output']}: 24 "
                       "frames" in text_of(screen, "#convert-status"),
                       timeout=RENDER_TIMEOUT_S, what="the conversion's result")
        bar = screen.query_one("#convert-progress", ProgressBar)
        assert bar.display and bar.percentage == 1
        assert Path(expected["output"]).is_file()
        assert text_of(screen, "#finished").startswith(f"{expected['output']}  24 frames")


async def test_an_empty_project_says_what_is_missing_and_queues_nothing(
        project: Project, wait_for) -> None:
    app = SwapdeckApp(project, start_worker=False)
    async with app.run_test(size=SIZE) as pilot:
        screen = await from_dashboard(app, pilot, wait_for, "v", ConvertScreen)
        await wait_for(pilot, lambda: text_of(screen, "#preview-caption") == NO_SESSION,
                       what="the missing session")
        assert screen.session_id is None and screen.source_id is None
        assert text_of(screen, "#finished") == "no conversions with this session yet"
        await pilot.press("ctrl+s", "p")
        await pilot.pause(0.5)
        assert jobs_of(project, "convert") == jobs_of(project, "convert_preview") == []
        assert not screen.query_one("#convert-progress", ProgressBar).display
