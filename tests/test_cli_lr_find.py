"""`swapdeck lr-find` against a real store and a real worker, with the tiny model."""
from __future__ import annotations

import json
import math
import threading

import pytest
import torch

from pipeline.train.lr_finder import sweep
from store import jobs, lr_sweeps, sessions
from store.jobs import JobStatus
from store.lr_sweeps import SweepSettings
from store.project import Project
from tests.pipeline.train.tiny_sessions import drain, make_session
from tests.waiting import wait_until
from tui.cli.main import main


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def lr_find(project: Project, *args: str) -> int:
    return main(["lr-find", str(project.root), *args])


def drain_once_queued(project: Project) -> threading.Thread:
    """A worker that starts once a job is queued and runs until the queue is empty."""
    def run() -> None:
        with project.connection() as conn:
            wait_until(lambda: jobs.list_jobs(conn), what="a queued job")
        drain(project)
    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


@pytest.mark.slow   # a real sweep through the CLI; the screen test runs one by default
def test_lr_find_waits_for_the_sweep_and_prints_its_document(project: Project, pair,
                                                             capsys) -> None:
    session = make_session(project, "fresh", batch_size=2, learning_rate=1e-5)
    worker = drain_once_queued(project)
    assert lr_find(project, "fresh", "--iterations", "100", "--strength", "extreme", "--set",
                   "--no-worker", "--wait", "--json") == 0
    worker.join(timeout=60)
    captured = capsys.readouterr()
    assert "queued lr_find job 1: session fresh, 100 steps, strength extreme" in captured.err
    document = json.loads(captured.out)   # nothing else on stdout
    with project.connection() as conn:
        stored = lr_sweeps.of_job(conn, 1)
        rate = sessions.get(conn, session.id).settings["learning_rate"]
    assert stored is not None and stored.suggested is not None and rate == stored.suggested
    assert document["schema"] == 2 and document["session"] == {"id": session.id,
                                                               "name": "fresh"}
    assert document["job"]["status"] == "done" and document["job"]["kind"] == "lr_find"
    sweep = document["sweep"]
    assert (sweep["id"], sweep["strength"], sweep["suggested"]) == (
        stored.id, "extreme", stored.suggested)
    assert len(sweep["points"]) == sweep["steps"] == stored.steps
    assert sweep["stopped_early"] == (stored.stop_reason is not None)
    assert sweep["applied_at"] == stored.applied_at is not None


def bowl(rate: float) -> float:
    """A loss that is lowest at 1e-4 and diverges past 1e-2."""
    return 1.0 + (math.log10(rate) + 4.0) ** 2 / 4.0 + (50.0 if rate > 1e-2 else 0.0)


def test_lr_find_shows_the_newest_sweep_and_sets_its_rate(project: Project, pair,
                                                          capsys) -> None:
    session = make_session(project, "swept", learning_rate=1e-5)
    result = sweep(bowl, 500, "aggressive")   # the finder's own sweep, of a made-up loss
    with project.connection() as conn:
        stored = lr_sweeps.record(conn, session.id, None, SweepSettings(500, "aggressive"),
                                  result.points, result.suggested, result.stop_reason)
    assert stored.suggested is not None and stored.stop_reason is not None
    assert lr_find(project, "swept", "--show") == 0
    out = capsys.readouterr().out
    assert out.startswith(f"sweep {stored.id}: {stored.steps} of 500 steps, strength "
                          f"aggressive\nstopped early: the loss diverged at learning rate ")
    assert f"suggested learning rate {stored.suggested:.3g} (the session's: 1e-05)" in out
    assert "learning-rate sweep: smoothed loss A + B" in out and "log10 learning rate" in out
    assert f"suggested {stored.suggested:.3g}" in out.split("\n", 3)[-1]   # the plot's label

    assert lr_find(project, "swept", "--show", "--set", "--json") == 0
    document = json.loads(capsys.readouterr().out)
    assert document["job"] is None and document["sweep"]["applied_at"] is not None
    assert document["sweep"]["points"] == [[float(r), float(l)]
                                           for r, l in zip(stored.rates, stored.losses)]
    with project.connection() as conn:
        assert sessions.get(conn, session.id).settings["learning_rate"] == stored.suggested
    assert lr_find(project, "swept", "--show") == 0
    assert "the session's learning rate now" in capsys.readouterr().out


def test_lr_find_refuses_with_a_reason(project: Project, pair, capsys) -> None:
    session = make_session(project, "busy")
    assert lr_find(project, "nobody") == 2
    assert "no session 'nobody' (sessions: busy)" in capsys.readouterr().err
    assert lr_find(project, "busy", "--show") == 0
    assert "session busy has no learning-rate sweep yet" in capsys.readouterr().out
    assert lr_find(project, "busy", "--show", "--set") == 2
    assert "session busy has no learning-rate sweep to use" in capsys.readouterr().err
    for bad, message in (("50", "iterations must be 100 to 10000, not 50"),
                         ("lots", "iterations takes a whole number, not 'lots'")):
        with pytest.raises(SystemExit):
            lr_find(project, "busy", "--iterations", bad)
        assert message in capsys.readouterr().err
    with project.connection() as conn:
        train_id = jobs.enqueue(conn, "train", {"session_id": session.id})
    assert lr_find(project, "busy", "--no-worker") == 2
    assert (f"session busy has train job {train_id} queued or running: sweep it when that "
            "has stopped") in capsys.readouterr().err
    with project.connection() as conn:
        jobs.request_cancel(conn, train_id)
    assert lr_find(project, "busy", "--no-worker") == 0
    assert lr_find(project, "busy", "--no-worker") == 2
    assert "already has learning-rate sweep job 2 queued or running" in (
        capsys.readouterr().err)
    with project.connection() as conn:
        queued = jobs.get(conn, 2)
    assert queued.status == JobStatus.QUEUED and queued.params == {
        "session_id": session.id, "iterations": 1000, "strength": "default",
        "set_rate": False}
