"""The Convert screen on a real project (tests/convert_project.py) asks before it converts a
whole video (frames, time, output; y queues, n and escape do not) and before it replaces an
output; it lists each source with the chosen person's faces, picks the one with the most,
and refuses a source without any, saying so."""
from __future__ import annotations

from pathlib import Path

from textual.widgets import Button, Input, OptionList, Select

from screens.convert import ConvertScreen
from screens.dialogs.confirm import ConfirmDialog
from store import conversions, jobs, sessions, sources
from store.jobs import Job
from store.project import Project
from store.views.convert import Wanted, read_view
from tests.convert_project import ConvertProject
from tests.pipeline.train.people import seed_person
from tests.tui.open_screens import from_dashboard, open_convert
from tui.app import SwapdeckApp

SIZE = (160, 50)


def convert_jobs(project: Project) -> list[Job]:
    with project.connection() as conn:
        return [job for job in jobs.list_jobs(conn) if job.kind == "convert"]


async def asked(app: SwapdeckApp, pilot, wait_for, *keys: str) -> ConfirmDialog:
    await pilot.press(*keys)
    return await wait_for(pilot, lambda: isinstance(app.screen, ConfirmDialog) and app.screen,
                          what="the question before converting")


def finished_conversion(ready: ConvertProject, frames: int, seconds: float) -> None:
    """A conversion record as a finished job leaves it, `frames` written in `seconds`."""
    with ready.project.connection() as conn:
        session = sessions.get(conn, ready.session_id)
        record = conversions.start(
            conn, job_id=None, session_id=session.id, session_name=session.name,
            source_id=ready.source_id, source_path=str(ready.video), source_sha256="0" * 64,
            checkpoint_iteration=20, model_sha256="0" * 64, settings_used={},
            output="/elsewhere/earlier.mp4", mark="m")
        conversions.finish(conn, record, frames, frames)
        conn.execute("UPDATE conversions SET started_at = finished_at - ? WHERE id = ?",
                     (seconds, record))


async def test_converting_asks_first_saying_frames_time_and_output(
        ready: ConvertProject, wait_for) -> None:
    project = ready.project
    app = SwapdeckApp(project, start_worker=False)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_convert(app, ready, pilot, wait_for)
        dialog = await asked(app, pilot, wait_for, "ctrl+s")
        assert "all 24 frames of two.mp4; 8 faces of astro found in it" in dialog.body
        assert "No time estimate yet" in dialog.body
        assert f"Writes {project.outputs / 'two_swap.mp4'}." in dialog.body
        await pilot.press("n")
        await wait_for(pilot, lambda: app.screen is screen, what="the screen again")
        screen.query_one("#convert-button", Button).focus()
        await asked(app, pilot, wait_for, "enter")    # the button asks too
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.screen is screen, what="the screen again")
        await pilot.pause(0.3)
        assert convert_jobs(project) == []

        finished_conversion(ready, 120, 60.0)         # 2 frames a second
        screen.query_one("#opt-frames", Input).value = "0-9"
        screen.query_one("#opt-keep_unchanged").value = False
        await pilot.pause()
        dialog = await asked(app, pilot, wait_for, "ctrl+s")
        assert "in 10 of the 24 frames of two.mp4 (frames 0-9)" in dialog.body
        assert "Takes about 5 s at 2.0 frames/s" in dialog.body
        await pilot.press("y")
        [job] = await wait_for(pilot, lambda: convert_jobs(project), what="the convert job")
        assert job.params["settings"] == {"frames": "0-9", "keep_unchanged": False}
        assert job.params["output"] == str(project.outputs / "two_swap.mp4")
        assert not job.params["overwrite"]


async def test_an_output_that_exists_is_replaced_only_once_confirmed(
        ready: ConvertProject, tmp_path: Path, wait_for) -> None:
    project = ready.project
    taken = tmp_path / "taken.mp4"
    taken.write_bytes(b"an earlier output")
    app = SwapdeckApp(project, start_worker=False)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_convert(app, ready, pilot, wait_for)
        screen.query_one("#output", Input).value = str(taken)
        await pilot.pause()
        dialog = await asked(app, pilot, wait_for, "ctrl+s")
        assert dialog.title_text == "Replace taken.mp4?"
        assert f"{taken} exists and is replaced" in dialog.body
        await pilot.press("n")
        await wait_for(pilot, lambda: app.screen is screen, what="the screen again")
        await pilot.pause(0.3)
        assert convert_jobs(project) == [] and taken.read_bytes() == b"an earlier output"
        await asked(app, pilot, wait_for, "ctrl+s")
        await pilot.press("y")
        [job] = await wait_for(pilot, lambda: convert_jobs(project), what="the convert job")
        assert job.params["output"] == str(taken) and job.params["overwrite"]


def offered(screen: ConvertScreen) -> list[str]:
    """The sources the source picker offers, as shown."""
    options = screen.query_one("#source", Select).query_one(OptionList).options
    return [str(option.prompt) for option in options if str(option.prompt) != "(none)"]


async def test_sources_show_the_persons_faces_and_one_without_is_refused(
        ready: ConvertProject, wait_for) -> None:
    project = ready.project
    seed_person(project, "astro", 12, seed=5)       # a second video, with more of astro
    with project.connection() as conn:
        by_name = {s.name: s.id for s in sources.list_sources(conn)}
    more, bee = by_name["astro.mp4"], by_name["bee.mp4"]
    app = SwapdeckApp(project, start_worker=False)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        screen = await from_dashboard(app, pilot, wait_for, "v", ConvertScreen)
        await wait_for(pilot, lambda: screen.source_id == more, what="the most faces picked")
        assert offered(screen) == [
            f"{ready.source_id}: two.mp4 (24 frames, 8 faces of astro)",
            f"{bee}: bee.mp4 (12 frames, 0 faces of astro)",
            f"{more}: astro.mp4 (12 frames, 12 faces of astro)"]

        screen.query_one("#opt-direction", Select).value = "b-to-a"   # swaps bee now
        await wait_for(pilot, lambda: screen.source_id == bee, what="bee's source picked")
        assert offered(screen)[0] == f"{ready.source_id}: two.mp4 (24 frames, 0 faces of bee)"

        screen.query_one("#source", Select).value = ready.source_id     # by hand
        # a read of the store that lands before the pick's own message keeps the pick
        with project.connection() as conn:
            late = read_view(conn, Wanted(ready.session_id, bee, None, None, None, "B"))
        screen.form.show(late, None)
        await wait_for(pilot, lambda: screen.source_id == ready.source_id, what="two.mp4")
        await pilot.pause(0.3)
        assert screen.source_id == ready.source_id      # a source picked by hand stays
        await pilot.press("ctrl+s")
        toast = await wait_for(pilot, lambda: [t for t in app.screen.query("Toast")
                                               if "no face of bee" in str(t.render())],
                               what="the refusal")
        assert (f"not converted: two.mp4 (source {ready.source_id}) has no face of bee: "
                "convert a source where bee appears" in " ".join(str(toast[0].render()).split()))
        assert app.screen is screen and convert_jobs(project) == []
