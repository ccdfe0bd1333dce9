"""The Train screen on a real store: a new session from the form, and a live session watched,
saved and stopped by keyboard."""
from __future__ import annotations

import re
import threading

import pytest
from textual.widgets import Checkbox, Input, Select, Sparkline, Static
from textual_plotext import PlotextPlot

from pipeline.train.job import new_session
from pipeline.worker import Worker, WorkerOptions
from screens import train as train_screen
from screens.train import TrainScreen
from screens.widgets.train_sweep import describe_sweeping
from screens.widgets.settings_form import read_values
from store import jobs, lr_sweeps, sessions
from store.lr_sweeps import SweepSettings
from store.project import Project
from store.requests.catalogue import load
from store.views.train import read_view
from tests.pipeline.train.tiny_model import NAME as TINY
from tests.tui.open_screens import open_train
from tui.app import SwapdeckApp

SIZE = (160, 60)


pytestmark = pytest.mark.usefixtures("one_thread")


def text_of(screen: TrainScreen, widget_id: str) -> str:
    return str(screen.query_one(widget_id, Static).render())


def test_blank_inputs_keep_defaults_and_only_changes_are_sent() -> None:
    options = [load().train.option(name) for name in ("coverage", "warp", "loss", "batch_size")]
    values, problems = read_values({"coverage": "", "warp": False, "loss": "ssim",
                                    "batch_size": "8"}, options, {})
    assert values == {"warp": False, "batch_size": 8} and problems == {}
    values, problems = read_values({"batch_size": "16", "coverage": "x"}, options,
                                   {"batch_size": 8})
    assert values == {"batch_size": 16}
    assert problems == {"coverage": "coverage takes a number, not 'x'"}


async def test_the_form_queues_the_same_job_as_the_cli(project: Project, pair, wait_for) -> None:
    app = SwapdeckApp(project, start_worker=False)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_train(app, pilot, wait_for)
        assert screen.query_one("#side-b", Select).value == "Bob"
        screen.query_one("#model", Select).value = "lightweight"
        await wait_for(pilot, lambda: not screen.query("#model-lowmem")   # original's, gone
                       and screen.query("#model-learn_mask"), what="lightweight's options")
        screen.query_one("#model-learn_mask", Checkbox).value = True
        screen.query_one("#opt-coverage", Input).value = "0.8"
        screen.query_one("#opt-warp", Checkbox).value = False
        screen.query_one("#opt-batch_size", Input).value = "lots"
        await pilot.pause()
        assert "batch_size takes a whole number, not 'lots'" in text_of(screen, "#problems")
        await pilot.press("ctrl+r")
        await pilot.pause(0.2)
        with project.connection() as conn:
            assert jobs.list_jobs(conn) == []  # nothing queued with a bad value
        screen.query_one("#opt-batch_size", Input).value = "4"
        screen.query_one("#name", Input).value = "from-form"
        await pilot.pause()
        await pilot.press("ctrl+r")

        def queued() -> list[jobs.Job]:
            with project.connection() as conn:
                return jobs.list_jobs(conn)
        [job] = await wait_for(pilot, queued, what="the train job")
    assert job.kind == "train"
    assert job.params == {
        "new_session": {"name": "from-form", "model": "lightweight",
                        "model_options": {"learn_mask": True}, "a": "Ann", "b": "Bob",
                        "data": {"coverage": 0.8}, "loss": {}, "optimizer": {}},
        "settings": {"batch_size": 4, "augment": {"warp": False}}}


async def test_a_live_session_is_watched_saved_and_stopped(project: Project, pair,
                                                          wait_for) -> None:
    with project.connection() as conn:
        session = new_session(conn, "live", TINY, {}, settings={
            "batch_size": 2, "iterations": 100_000, "save_every": 10_000})
        job_id = jobs.enqueue(conn, "train", {"session_id": session.id})
    worker = threading.Thread(daemon=True, target=Worker(
        project, WorkerOptions(exit_when_idle=True, watch_inbox=False)).run)
    worker.start()
    app = SwapdeckApp(project, start_worker=False)
    try:
        async with app.run_test(size=SIZE) as pilot:
            screen = await open_train(app, pilot, wait_for)
            picker = screen.query_one("#session", Select)
            await wait_for(pilot, lambda: len(picker._options) == 2, what="the session")
            picker.value = session.id
            await wait_for(pilot, lambda: "loss A" in text_of(screen, "#status"), timeout=60,
                           what="losses")
            assert "no preview yet" in text_of(screen, "#preview-caption")
            screen.query_one("#opt-learning_rate", Input).value = "1e-5"  # for a resume
            await wait_for(pilot, lambda: screen.check_action("save_now", ()),
                           what="saving offered (the running job read)")
            await pilot.press("ctrl+s")  # the only save before iteration 10,000
            await wait_for(pilot, lambda: "preview at iteration" in text_of(
                screen, "#preview-caption"), timeout=90, what="the save asked for")
            status = text_of(screen, "#status")
            assert "session live: tiny-test, A Ann → B Bob" in status
            assert re.search(r"training \(job 1\): [\d,]+\.\d examples/s", status)
            assert screen.query_one("#loss-a", Sparkline).data
            assert screen.query_one("#opt-coverage").disabled  # frozen in the session
            assert not screen.query_one("#opt-batch_size").disabled
            # the session's progress (many reads since) left what was typed alone
            assert screen.query_one("#opt-learning_rate", Input).value == "1e-5"
            assert "resume live (learning_rate=1e-05)" in text_of(screen, "#problems")
            await pilot.press("ctrl+t")
            await wait_for(pilot, lambda: "not training; last run ended: stopped" in text_of(
                screen, "#status"), timeout=60, what="the stop")
    finally:
        with project.connection() as conn:
            jobs.request_cancel(conn, job_id)
        worker.join(timeout=60)
    with project.connection() as conn:
        assert jobs.get(conn, job_id).result["message"].startswith("stopped at")


async def test_a_sweep_is_queued_drawn_and_its_rate_used(
        project: Project, pair, wait_for, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(train_screen, "SWEEP", SweepSettings(iterations=100))  # the fewest
    with project.connection() as conn:
        session = new_session(conn, "swept", TINY, {}, seed=7, settings={
            "batch_size": 2, "learning_rate": 1e-5})   # seeded: 100 steps find a rate
    app = SwapdeckApp(project, start_worker=False)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_train(app, pilot, wait_for)
        picker = screen.query_one("#session", Select)
        await wait_for(pilot, lambda: len(picker._options) == 2, what="the session")
        picker.value = session.id
        await wait_for(pilot, lambda: "no learning-rate sweep yet: ^l sweeps it" in text_of(
            screen, "#lr-caption"), timeout=30, what="the sweep caption")
        await pilot.press("ctrl+l")
        await wait_for(pilot, lambda: "learning-rate sweep queued (job 1)" in text_of(
            screen, "#lr-caption"), timeout=30, what="the queued sweep")
        with project.connection() as conn:
            assert jobs.get(conn, 1).params == {"session_id": session.id, "iterations": 100,
                                                "strength": "default", "set_rate": False}
        # the worker runs the sweep while the app waits (in a thread, the two would share
        # one interpreter; the app starts a worker process of its own)
        Worker(project, WorkerOptions(exit_when_idle=True, watch_inbox=False)).run()
        await wait_for(pilot, lambda: "^g uses it" in text_of(screen, "#lr-caption"),
                       timeout=30, what="the sweep's suggestion")
        with project.connection() as conn:
            sweep = lr_sweeps.newest(conn, session.id)
        assert sweep is not None and sweep.suggested is not None
        caption = text_of(screen, "#lr-caption")
        assert f"sweep {sweep.id}: {sweep.steps} of 100 steps, strength default" in caption
        assert (f"suggested learning rate {sweep.suggested:.3g} (the session's: 1e-05); "
                "^g uses it") in caption
        drawn = screen.query_one("#lr-plot", PlotextPlot).plt.build()
        assert "log10 learning rate" in drawn and f"suggested {sweep.suggested:.3g}" in drawn

        await pilot.press("ctrl+g")
        learning_rate = screen.query_one("#opt-learning_rate", Input)
        shown = load().train.option("learning_rate").show(sweep.suggested)
        await wait_for(pilot, lambda: learning_rate.value == shown, timeout=30,
                       what="the form's rate")
        await wait_for(pilot, lambda: "the session's learning rate now" in text_of(
            screen, "#lr-caption"), timeout=30, what="the stored rate")
        assert "resume swept (no changes)" in text_of(screen, "#problems")
    with project.connection() as conn:
        assert sessions.get(conn, session.id).settings["learning_rate"] == sweep.suggested


def test_the_sweep_caption_follows_its_job(project: Project, pair) -> None:
    with project.connection() as conn:
        session = new_session(conn, "swept", TINY, {}, settings={"batch_size": 2})

        def caption() -> str:
            return describe_sweeping(read_view(conn, session.id), "^l", "^g")
        assert caption() == ("no learning-rate sweep yet: ^l sweeps it (faceswap's "
                             "learning-rate finder)")
        job_id = jobs.enqueue(conn, lr_sweeps.KIND, {"session_id": session.id})
        assert caption() == f"learning-rate sweep queued (job {job_id}): waiting for the worker"
        assert jobs.claim(conn, 1, [lr_sweeps.KIND]) is not None
        jobs.report_progress(conn, job_id, 3, 100, "sweep step 3 of 100: learning rate 2e-10")
        assert caption() == (f"sweeping the learning rate (job {job_id}): sweep step 3 of 100: "
                             "learning rate 2e-10")


async def test_the_panels_show_the_iteration_the_store_recorded(project: Project, pair,
                                                               wait_for) -> None:
    """A run under way, as the worker writes it: losses, session and run recorded at 50;
    the job's own message already at 57, with its own speed. The panel shows 50 (where the
    losses end) and the speed of the run as the Runs table computes it, never the
    message's figures."""
    with project.connection() as conn:
        session = new_session(conn, "live", TINY, {}, settings={
            "batch_size": 2, "iterations": 1000})
        job_id = jobs.enqueue(conn, "train", {"session_id": session.id})
        assert jobs.claim(conn, 1, ["train"]) is not None
        run_id = sessions.start_run(conn, session.id, job_id, 0, 2, "cpu", session.settings)
        sessions.record_progress(conn, session.id, run_id, 50,
                                 [(i, 0.5, 0.25) for i in range(1, 51)])
        jobs.report_progress(conn, job_id, 57, 1000, "iteration 57 · loss A 0.4000 B 0.2000 "
                                                     "· 99.9 examples/s, 9 min left")
    app = SwapdeckApp(project, start_worker=False)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_train(app, pilot, wait_for)
        picker = screen.query_one("#session", Select)
        await wait_for(pilot, lambda: len(picker._options) == 2, what="the session")
        picker.value = session.id
        await wait_for(pilot, lambda: "training (job" in text_of(screen, "#status"),
                       what="the running job")
        status = text_of(screen, "#status")
    assert re.findall(r"iteration ([\d,]+)", status) == ["50"]
    assert "iteration 50 of 1,000" in status and "loss A 0.5000  B 0.2500" in status
    assert re.search(rf"training \(job {job_id}\): [\d,]+\.\d examples/s, \S+ left", status)
    assert "57" not in status and "99.9" not in status
