"""`swapdeck train`, `save` and `stop SESSION` against a real store and a real worker."""
from __future__ import annotations

import threading

import pytest

from pipeline.train.job import new_session
from store import jobs, sessions
from store.jobs import JobStatus
from store.project import Project
from store.requests.train import new_session_params
from tests.pipeline.train.tiny_model import NAME as TINY
from tests.pipeline.train.tiny_sessions import drain
from tests.waiting import wait_until
from tui.cli.main import main

SHORT = ["--batch-size", "2", "--save-every", "2", "--no-worker"]


def train(project: Project, *args: str) -> int:
    return main(["train", str(project.root), *args])


def test_train_makes_a_session_and_resume_continues_it(project: Project, pair, capsys) -> None:
    # the catalogue's smallest model: what is checked is the command line, not the model
    assert train(project, "--model", "lightweight", "-O", "icnr_init=yes", "--iterations", "2",
                 "--coverage", "0.8", "--no-warp", "--seed", "3", *SHORT) == 0
    assert "queued train job 1: new session Ann-Bob-lightweight" in capsys.readouterr().out
    [job] = drain(project)
    assert job.status == JobStatus.DONE, job.error
    with project.connection() as conn:
        session = sessions.resolve(conn, "Ann-Bob-lightweight")
    assert session.iteration == 2 and session.config["model_options"]["icnr_init"] is True
    assert session.config["data"]["coverage"] == 0.8 and session.config["seed"] == 3
    assert session.settings["augment"]["warp"] is False
    assert (session.name_a, session.name_b) == ("Ann", "Bob")

    assert train(project, "--resume", session.name, "--iterations", "4",
                 "--learning-rate", "1e-5", "--no-worker") == 0
    resumed = drain(project)[0]
    assert resumed.status == JobStatus.DONE, resumed.error
    assert resumed.result["iterations_run"] == 2
    with project.connection() as conn:
        runs = sessions.runs(conn, session.id)
    assert [(r.start_iteration, r.end_iteration) for r in runs] == [(0, 2), (2, 4)]
    assert runs[1].settings["learning_rate"] == 1e-5
    assert runs[1].settings["augment"]["warp"] is False  # kept from the first run


@pytest.mark.parametrize("args, message", [
    (["--a", "Zed"], "no person called 'Zed'"),
    (["--a", "Bob"], "Bob cannot be both side A and side B"),
    (["-O", "lowmem"], "a model option is KEY=VALUE, not 'lowmem'"),
    (["-O", "depth=3"], "model original has no option 'depth'"),
    (["-O", "lowmem=maybe"], "lowmem takes yes or no, not 'maybe'"),
    (["--resume", "nope"], "no session 'nope'"),
    (["--resume", "1"], "no session '1'"),
])
def test_bad_requests_are_refused_before_anything_is_queued(
        project: Project, pair, capsys, args: list[str], message: str) -> None:
    assert train(project, *args, "--no-worker") == 2
    assert message in capsys.readouterr().err
    with project.connection() as conn:
        assert jobs.list_jobs(conn) == []


def test_a_mistyped_setting_is_an_argparse_error(project: Project, pair, capsys) -> None:
    with pytest.raises(SystemExit) as exited:
        train(project, "--coverage", "lots")
    assert exited.value.code == 2
    assert "coverage takes a number, not 'lots'" in capsys.readouterr().err


def test_frozen_settings_cannot_change_on_resume(project: Project, pair, capsys) -> None:
    with project.connection() as conn:
        new_session(conn, "s", TINY, {})
    assert train(project, "--resume", "s", "--coverage", "0.7", "--no-worker") == 2
    assert "coverage cannot change: session s's model was trained with its own" in (
        capsys.readouterr().err)
    assert train(project, "--resume", "s", "-O", "learn_mask=yes", "--no-worker") == 2
    assert "-O cannot change when resuming" in capsys.readouterr().err


def test_a_cancelled_new_session_job_makes_no_session(project: Project, pair) -> None:
    assert train(project, "--name", "s", "--no-worker") == 0
    with project.connection() as conn:
        jobs.request_cancel(conn, 1)
    drain(project)
    with project.connection() as conn:
        assert sessions.list_sessions(conn) == []


def test_lr_is_short_for_learning_rate(project: Project, pair, capsys) -> None:
    assert train(project, "--name", "s", "--lr", "3e-4", "--no-worker") == 0
    with project.connection() as conn:
        [job] = jobs.list_jobs(conn)
    assert job.params["settings"]["learning_rate"] == 3e-4


def test_a_stored_request_out_of_range_fails_the_job_with_the_trainers_message(
        project: Project, pair) -> None:
    """A request the CLI refuses (tests/test_cli_refuses_bad_settings.py), as another version
    of swapdeck may have queued it: the worker checks it again."""
    with project.connection() as conn:
        params = new_session_params(conn, model="original", model_options={}, settings={})
        params["new_session"]["data"]["coverage"] = 0.2
        jobs.enqueue(conn, "train", params)
    [job] = drain(project)
    assert job.status == JobStatus.FAILED
    assert "coverage is from 0.625 to 1, not 0.2" in job.error
    with project.connection() as conn:
        assert sessions.list_sessions(conn) == []


def test_save_now_and_stop_reach_the_running_session(project: Project, pair, capsys) -> None:
    with project.connection() as conn:
        session = new_session(conn, "live", TINY, {}, settings={
            "batch_size": 2, "iterations": 100_000, "save_every": 10_000})
        job_id = jobs.enqueue(conn, "train", {"session_id": session.id})
    worker = threading.Thread(target=drain, args=(project,), daemon=True)
    worker.start()
    try:
        with project.connection() as conn:
            wait_until(lambda: sessions.get(conn, session.id).iteration >= 10, what="training")
            assert main(["save", str(project.root), "live"]) == 0
            [previewed] = wait_until(lambda: sessions.preview_iterations(conn, session.id),
                                     what="the save asked for")  # a preview ends a save
            assert 10 <= previewed < 10_000
            assert sessions.checkpoints(conn, session.id, "save")[0].iteration == previewed
            assert main(["stop", str(project.root), "live"]) == 0
    finally:
        with project.connection() as conn:
            jobs.request_cancel(conn, job_id)  # a failed check must not leave it training
        worker.join(timeout=60)
    assert "asked session live (train job 1) to save" in capsys.readouterr().out
    with project.connection() as conn:
        job = jobs.get(conn, job_id)
        stopped_at = sessions.get(conn, session.id).iteration
        [newest] = sessions.checkpoints(conn, session.id, "save")
        [run] = sessions.runs(conn, session.id)
    assert job.status == JobStatus.DONE and job.result["message"].startswith("stopped at")
    assert newest.iteration == stopped_at == run.end_iteration  # it saved before it stopped
    assert run.end_reason == "stopped"


def test_save_and_stop_need_a_training_session(project: Project, pair, capsys) -> None:
    assert main(["save", str(project.root), "x"]) == 2
    assert "no session 'x'" in capsys.readouterr().err
    with project.connection() as conn:
        new_session(conn, "idle", TINY, {})
    assert main(["stop", str(project.root), "idle"]) == 2
    assert "session idle is not training" in capsys.readouterr().err
