"""The Extract screen against real projects: settings by keyboard become the CLI's jobs."""
from __future__ import annotations

from pathlib import Path

from textual.widgets import DataTable, Input, Static

from screens.dashboard import DashboardScreen
from screens.extract import ExtractScreen
from screens.widgets.extract_form import read_form
from screens.widgets.extract_sources import SourcePicker
from screens.help import HelpScreen
from store import jobs
from store.requests.extract import MASKS, ExtractSettings
from store.project import Project
from tests.tui.open_screens import column, open_extract
from tests.tui.ready_source import seed_ready_video
from tui.app import SwapdeckApp
from store.requests.ingest import ingest_params

SIZE = (140, 45)
EXTRACT_TIMEOUT_S = 30.0


def extract_jobs_in(project: Project) -> list[jobs.Job]:
    with project.connection() as conn:
        return [job for job in jobs.list_jobs(conn) if job.kind == "extract"]


def problems_text(screen: ExtractScreen) -> str:
    return str(screen.query_one("#problems", Static).render())


async def test_settings_typed_by_keyboard_become_an_extract_job(
        project: Project, tmp_path: Path, wait_for) -> None:
    source_id = seed_ready_video(project, tmp_path / "clip.mp4")
    app = SwapdeckApp(project, start_worker=False)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_extract(app, pilot, wait_for)
        picker = screen.query_one(SourcePicker)
        assert app.focused is picker
        assert column(picker, "state") == ["no"]
        await pilot.press("space")
        assert column(picker, "pick") == ["[x]"]
        assert "1 source picked" in problems_text(screen)
        await pilot.press("tab")
        assert app.focused.id == "every-n"
        await pilot.press(*"5", "tab", "tab", "tab")  # every-n, detector, aligner
        assert app.focused.id == "size"
        await pilot.press(*"768", "tab")
        assert app.focused.id == "min-size"
        await pilot.press("r")  # typed into min-size: restricted to numbers
        assert extract_jobs_in(project) == []
        await pilot.press("ctrl+r")
        await app.workers.wait_for_complete()
        [job] = extract_jobs_in(project)
        assert job.params["source_id"] == source_id and job.params["force"] is False
        assert ExtractSettings.from_json(job.params["settings"]) == ExtractSettings(
            every_n=5, size=768)
        table = screen.query_one("#jobs-table", DataTable)
        await wait_for(pilot, lambda: column(table, "status") == ["queued"],
                       what="the job in the jobs table")
        assert column(table, "source") == [f"{source_id} clip.mp4"]
        await wait_for(pilot, lambda: column(picker, "state") == ["queued"],
                       what="the source to show its queued job")


async def test_r_queues_from_the_sources_table_with_every_option(
        project: Project, tmp_path: Path, wait_for) -> None:
    first = seed_ready_video(project, tmp_path / "a.mp4")
    second = seed_ready_video(project, tmp_path / "b.mp4")
    photo = tmp_path / "me.jpg"
    photo.write_bytes(b"a photo")
    app = SwapdeckApp(project, start_worker=False)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_extract(app, pilot, wait_for, rows=2)
        screen.query_one("#filter", Input).value = f"{photo} ; {photo}"
        screen.query_one("#threshold", Input).value = "0.5"
        screen.query_one("#mask-extended").value = False
        screen.query_one("#force").value = True
        await pilot.pause()
        screen.query_one(SourcePicker).focus()
        await pilot.press("a", "r")
        await app.workers.wait_for_complete()
        queued = extract_jobs_in(project)
        assert sorted(job.params["source_id"] for job in queued) == [first, second]
        for job in queued:
            assert job.params["force"] is True
            assert ExtractSettings.from_json(job.params["settings"]) == ExtractSettings(
                filter=(str(photo), str(photo)), threshold=0.5, masks=("components",))


async def test_an_invalid_size_is_shown_and_nothing_is_queued(
        project: Project, tmp_path: Path, wait_for) -> None:
    seed_ready_video(project, tmp_path / "clip.mp4")
    app = SwapdeckApp(project, start_worker=False)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_extract(app, pilot, wait_for)
        await pilot.press("space")
        screen.query_one("#size", Input).focus()
        await pilot.press(*"100")
        assert "size is from 256 to 1024, not 100" in problems_text(screen)
        assert screen.query_one("#size", Input).has_class("-invalid")
        await pilot.press("ctrl+r")
        await app.workers.wait_for_complete()
        await pilot.press("shift+tab", "shift+tab", "shift+tab", "shift+tab", "r")
        await app.workers.wait_for_complete()
        assert extract_jobs_in(project) == []
        screen.query_one("#size", Input).value = "1024"
        await pilot.pause()
        assert "size is" not in problems_text(screen)
        assert not screen.query_one("#size", Input).has_class("-invalid")


async def test_a_missing_filter_photo_is_refused(project: Project, tmp_path: Path,
                                                 wait_for, monkeypatch) -> None:
    seed_ready_video(project, tmp_path / "clip.mp4")
    monkeypatch.chdir(tmp_path)  # a short relative path to type
    (tmp_path / "me.jpg").write_bytes(b"a photo")
    missing = "nobody.jpg"
    app = SwapdeckApp(project, start_worker=False)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_extract(app, pilot, wait_for)
        await pilot.press("space")
        screen.query_one("#nfilter", Input).focus()
        await pilot.press(*f"me.jpg ; {missing}")
        assert f"--nfilter: no such reference photo: {missing}" in problems_text(screen)
        assert screen.query_one("#nfilter", Input).has_class("-invalid")
        await pilot.press("ctrl+r")
        await app.workers.wait_for_complete()
        assert extract_jobs_in(project) == []


async def test_nothing_picked_queues_nothing(project: Project, tmp_path: Path,
                                             wait_for) -> None:
    seed_ready_video(project, tmp_path / "clip.mp4")
    app = SwapdeckApp(project, start_worker=False)
    async with app.run_test(size=SIZE) as pilot:
        await open_extract(app, pilot, wait_for)
        await pilot.press("r")
        await app.workers.wait_for_complete()
        assert extract_jobs_in(project) == []


async def test_escape_goes_back_to_the_dashboard(project: Project, wait_for) -> None:
    app = SwapdeckApp(project, start_worker=False)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_extract(app, pilot, wait_for, rows=0)
        assert "No ready sources yet" in str(screen.query_one("#sources-box .empty").render())
        await pilot.press("escape")
        assert isinstance(app.screen, DashboardScreen)


def test_read_form_matches_the_cli_defaults() -> None:
    values = {"every-n": "1", "detector": "auto", "aligner": "auto", "size": "512",
              "min-size": "2", "detect-size": "640", "threshold": "0.6"}
    assert read_form(values, MASKS, [], []).settings == ExtractSettings()
    bad = read_form({**values, "every-n": "", "threshold": "2"}, MASKS, [], [])
    assert bad.settings is None and bad.bad_fields == {"every-n", "threshold"}
    assert bad.problems == ("every_n takes a whole number, not ''",
                            "threshold is from 0.01 to 1.99, not 2")
    bad = read_form({**values, "threshold": "2", "min-size": "100"}, MASKS, [], [])
    assert bad.bad_fields == {"threshold", "min-size"}


async def test_a_real_extraction_runs_to_done_on_the_screen(
        worker_project: Project, astronaut_png: Path, wait_for) -> None:
    with worker_project.connection() as conn:
        jobs.enqueue(conn, "ingest", ingest_params(astronaut_png, ""))
    app = SwapdeckApp(worker_project, start_worker=True)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.snapshot and any(
            s.status == "ready" for s in app.snapshot.sources), timeout=EXTRACT_TIMEOUT_S,
            what="the ingest")
        screen = await open_extract(app, pilot, wait_for)
        await pilot.press("space", "r")
        picker = screen.query_one(SourcePicker)
        table = screen.query_one("#jobs-table", DataTable)
        await wait_for(pilot, lambda: column(table, "status") in (["done"], ["failed"]),
                       timeout=EXTRACT_TIMEOUT_S * 2, what="the extract job to finish")
        assert column(table, "status") == ["done"], column(table, "message")
        assert "100%" in column(table, "progress")[0]
        await wait_for(pilot, lambda: column(picker, "state")[0].startswith("yes: "),
                       what="the source to show it was extracted")


async def test_extract_keys_are_listed_in_the_help_and_remappable(
        project: Project, tmp_path: Path, wait_for, monkeypatch) -> None:
    config = tmp_path / "config.toml"
    config.write_text('[keys]\n"extract.queue" = "f5"\n"extract.pick" = "p"\n')
    monkeypatch.setenv("SWAPDECK_CONFIG", str(config))
    seed_ready_video(project, tmp_path / "clip.mp4")
    app = SwapdeckApp(project, start_worker=False)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_extract(app, pilot, wait_for)
        assert "p: pick, a: all" == screen.query_one("#sources-box").border_subtitle
        await pilot.press("question_mark")
        await wait_for(pilot, lambda: isinstance(app.screen, HelpScreen), what="the help")
        table = app.screen.query_one("#bindings", DataTable)
        rows = {row[2]: row[1] for row in (table.get_row_at(i) for i in range(table.row_count))}
        assert rows["extract.queue"] == "f5" and rows["extract.pick"] == "p"
        assert rows["extract.back"] == "esc" and rows["dashboard.extract"] == "x"
        await pilot.press("escape", "p", "f5")
        await app.workers.wait_for_complete()
        assert len(extract_jobs_in(project)) == 1


async def test_picking_keys_work_only_in_the_sources_table(
        project: Project, tmp_path: Path, wait_for) -> None:
    seed_ready_video(project, tmp_path / "clip.mp4")
    app = SwapdeckApp(project, start_worker=False)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_extract(app, pilot, wait_for)
        picker = screen.query_one(SourcePicker)
        screen.query_one("#force").focus()
        await pilot.press("space", "a")
        assert screen.query_one("#force").value is True
        screen.query_one("#queue").focus()
        await pilot.press("space", "a")
        assert picker.picked == set()
        await pilot.press("s", "a")
        assert app.focused is picker and column(picker, "pick") == ["[x]"]
        await pilot.press("a")
        assert column(picker, "pick") == ["[ ]"]
        await pilot.press("enter")
        assert column(picker, "pick") == ["[x]"]
