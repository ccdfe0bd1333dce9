"""The learning-rate finder: the sweep on made-up loss curves, and the lr_find job on a real
store with the tiny model (it leaves the session's files and rows as they were)."""
from __future__ import annotations

import hashlib
import logging
import math
import threading
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from pipeline.context import JobContext
from pipeline.errors import JobCancelled
from pipeline.train.lr_find_job import lr_find
from pipeline.train.lr_finder import (BETA, DIVISORS, END_LR, START_LR, schedule, suggest,
                                      sweep)
from pipeline.worker import Worker, WorkerOptions
from store import jobs, lr_sweeps, sessions
from store.jobs import JobStatus
from store.lr_sweeps import STRENGTHS, SweepSettings
from store.project import Project
from tests.pipeline.train.tiny_sessions import make_session, run_train

SWEEP = {"iterations": 100}   # the fewest a sweep allows


pytestmark = pytest.mark.usefixtures("one_thread")


def bowl(rate: float) -> float:
    """A loss that falls to its lowest at 1e-4 and rises steeply past it."""
    return 1.0 + (math.log10(rate) + 4.0) ** 2 / 4.0


# --- the sweep --------------------------------------------------------------------------

def test_the_schedule_rises_evenly_in_log_from_start_to_end() -> None:
    rates = schedule(1e-10, 1e-1, 10)
    assert rates[0] == pytest.approx(1e-10) and rates[-1] == pytest.approx(1e-1)
    np.testing.assert_allclose(rates[1:] / rates[:-1], 10 ** (9 / 9))
    with pytest.raises(ValueError, match="0 < start < end"):
        schedule(1e-1, 1e-10, 10)


def test_a_flat_loss_stays_flat_when_smoothed_and_suggests_nothing() -> None:
    result = sweep(lambda rate: 2.0, 200)
    np.testing.assert_allclose(result.losses, 2.0)  # bias-corrected from the first step
    assert result.stop_reason is None and len(result.rates) == 200
    assert result.suggested is None   # lowest at the first rate: nothing above START_LR


@pytest.mark.parametrize("strength", STRENGTHS)
def test_each_strength_divides_the_rate_at_the_lowest_loss(strength: str) -> None:
    result = sweep(bowl, 1000, strength)
    best = result.rates[np.argmin(result.losses)]
    assert 1e-4 <= best <= 1e-3   # the smoothed curve lags the raw one a little
    assert result.suggested == pytest.approx(best / DIVISORS[strength], rel=5e-3)
    assert {"default": 10, "aggressive": 5, "extreme": 2.5}[strength] == DIVISORS[strength]


def test_the_smoothed_loss_is_faceswaps_bias_corrected_average() -> None:
    raw = iter([4.0, 2.0, 1.0])
    result = sweep(lambda rate: next(raw), 3)
    average, expected = 0.0, []
    for number, loss in enumerate([4.0, 2.0, 1.0], start=1):
        average = BETA * average + (1 - BETA) * loss
        expected.append(average / (1 - BETA ** number))
    np.testing.assert_allclose(result.losses, expected)
    np.testing.assert_allclose(result.rates, [START_LR, math.sqrt(START_LR * END_LR), END_LR])


def test_a_diverging_loss_stops_the_sweep_and_keeps_the_rising_point() -> None:
    calls: list[float] = []

    def diverging(rate: float) -> float:
        calls.append(rate)
        return 1.0 if rate < 1e-5 else 0.5 if rate < 1e-3 else 1e3

    result = sweep(diverging, 1000)
    assert result.stop_reason is not None and "diverged" in result.stop_reason
    assert len(result.rates) == len(calls) < 1000
    assert result.rates[-1] >= 1e-3 and result.losses[-1] > 4 * result.losses.min()
    assert result.suggested == pytest.approx(result.rates[np.argmin(result.losses)] / 10,
                                             rel=5e-3)


@pytest.mark.parametrize("bad", [math.nan, math.inf])
def test_a_loss_that_is_not_a_number_stops_the_sweep(bad: float) -> None:
    result = sweep(lambda rate: bowl(rate) if rate < 1e-2 else bad, 1000)
    assert result.stop_reason == f"the loss became {bad} at learning rate " + (
        f"{schedule(START_LR, END_LR, 1000)[len(result.rates)]:.1e}")
    assert np.isfinite(result.losses).all() and result.rates[-1] < 1e-2
    assert result.suggested is not None


def test_nan_at_the_first_step_leaves_no_point_and_no_suggestion() -> None:
    result = sweep(lambda rate: math.nan, 100)
    assert len(result.points) == 0 and result.suggested is None
    assert "became nan" in result.stop_reason


def test_suggest_refuses_an_unknown_strength() -> None:
    with pytest.raises(ValueError, match="unknown strength 'wild'"):
        suggest(np.array([1e-3]), np.array([1.0]), "wild")


def test_the_strengths_are_the_stores_and_the_settings_check_their_values() -> None:
    assert tuple(DIVISORS) == STRENGTHS
    assert SweepSettings.from_params({"session_id": 3, "iterations": 200}) == SweepSettings(
        iterations=200)
    for params, message in (({"iterations": 99}, "iterations must be 100 to 10000, not 99"),
                            ({"iterations": 1e3}, "iterations takes a whole number"),
                            ({"strength": "wild"}, "strength must be one of default, "),
                            ({"set_rate": 1}, "set_rate takes true or false"),
                            ({"rate": 1}, "unknown sweep setting(s): rate")):
        with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
            SweepSettings.from_params(params)


# --- the job ----------------------------------------------------------------------------

def run_jobs(project: Project, *params: dict) -> list[jobs.Job]:
    with project.connection() as conn:
        job_ids = [jobs.enqueue(conn, lr_sweeps.KIND, p) for p in params]
    Worker(project, WorkerOptions(exit_when_idle=True, watch_inbox=False)).run()
    with project.connection() as conn:
        return [jobs.get(conn, job_id) for job_id in job_ids]


def files_and_hashes(folder: Path) -> dict[str, str]:
    return {str(path.relative_to(folder)): hashlib.sha256(path.read_bytes()).hexdigest()
            for path in sorted(folder.rglob("*")) if path.is_file()}


def session_rows(project: Project, session_id: int) -> tuple:
    with project.connection() as conn:
        return (sessions.get(conn, session_id), sessions.losses(conn, session_id),
                sessions.runs(conn, session_id), sessions.checkpoints(conn, session_id),
                sessions.preview_iterations(conn, session_id), sessions.metrics(conn, session_id))


def test_a_sweep_of_a_trained_session_leaves_its_files_and_rows_alone_but_its_rate(
        project: Project, pair) -> None:
    session = make_session(project, "trained", batch_size=2)
    assert run_train(project, session.id, settings={"iterations": 2}).status == JobStatus.DONE
    folder = project.models / str(session.id)
    before, rows = files_and_hashes(folder), session_rows(project, session.id)
    assert before  # a save, at least

    [job] = run_jobs(project, {"session_id": session.id, **SWEEP, "strength": "aggressive",
                               "set_rate": True})
    assert job.status == JobStatus.DONE, job.error
    assert files_and_hashes(folder) == before
    with project.connection() as conn:
        stored = lr_sweeps.of_job(conn, job.id)
    assert stored is not None and stored.session_id == session.id
    assert (stored.iterations, stored.strength) == (100, "aggressive") and stored.applied_at
    assert 10 < stored.steps <= 100 and np.isfinite(stored.losses).all()
    assert (stored.steps == 100) == (stored.stop_reason is None)
    np.testing.assert_allclose(stored.rates, schedule(START_LR, END_LR, 100)[:stored.steps],
                               rtol=1e-6)   # float32 in the store
    best = stored.rates[np.argmin(stored.losses)]
    assert stored.suggested == pytest.approx(best / DIVISORS["aggressive"], rel=5e-3)
    assert job.result["suggested"] == stored.suggested and job.result["sweep_id"] == stored.id
    assert job.message.startswith(f"suggested learning rate {stored.suggested:.3g} "
                                  "(aggressive)")
    assert job.message.endswith("now the learning rate of trained")
    # the session's rows are as they were, but for the learning rate its next run uses
    rate_set = replace(rows[0], settings={**rows[0].settings,
                                          "learning_rate": stored.suggested})
    assert session_rows(project, session.id) == (rate_set, *rows[1:])
    assert_a_cancelled_sweep_stores_nothing(project, session.id)


@pytest.mark.slow   # a second sweep: new sessions are swept by the CLI and screen tests too
def test_a_new_session_is_swept_from_fresh_weights_and_nothing_is_saved(
        project: Project, pair) -> None:
    session = make_session(project, "fresh", batch_size=2)
    [job] = run_jobs(project, {"session_id": session.id, **SWEEP})
    assert job.status == JobStatus.DONE, job.error
    with project.connection() as conn:
        stored = lr_sweeps.of_job(conn, job.id)
        assert sessions.get(conn, session.id) == session
        assert sessions.checkpoints(conn, session.id) == []
        assert sessions.runs(conn, session.id) == [] and sessions.losses(conn, session.id) == []
    assert stored is not None and stored.suggested is not None and stored.applied_at is None
    assert files_and_hashes(project.models / str(session.id)) == {}  # nothing saved


def assert_a_cancelled_sweep_stores_nothing(project: Project, session_id: int) -> None:
    """A sweep cancelled while it runs (its faces are cached already, so at its first step)
    stops without storing anything."""
    with project.connection() as conn:
        job_id = jobs.enqueue(conn, lr_sweeps.KIND, {"session_id": session_id, **SWEEP})
        job = jobs.claim(conn, 1, [lr_sweeps.KIND])
        assert job is not None and job.id == job_id
        jobs.request_cancel(conn, job_id)
        ctx = JobContext(project, conn, job_id, threading.Event(),
                         logging.LoggerAdapter(logging.getLogger("test"), {}))
        before = sessions.get(conn, session_id)
        with pytest.raises(JobCancelled):
            lr_find(ctx, job.params)
        assert lr_sweeps.of_job(conn, job_id) is None
        assert jobs.get(conn, job_id).progress == 0   # not one step was reported
        assert sessions.get(conn, session_id) == before


def test_a_sweep_is_refused_with_a_reason(project: Project, pair) -> None:
    session = make_session(project, "busy")
    few = make_session(project, "few", batch_size=12)   # Bob has 10 faces
    with project.connection() as conn:   # queued below the sweeps; it fails after them
        train_id = jobs.enqueue(conn, "train", {"session_id": session.id,
                                                "settings": {"iterations": 0}}, priority=-1)
    refused = run_jobs(project, {"session_id": session.id, **SWEEP},
                       {"session_id": 99, **SWEEP},
                       {"session_id": few.id, **SWEEP},
                       {"session_id": few.id, "strength": "wild"})
    assert [job.status for job in refused] == [JobStatus.FAILED] * 4
    errors = [job.error for job in refused]
    assert errors[0] == (f"session busy has train job {train_id} queued or running: sweep "
                         "it when that has stopped")
    assert errors[1] == "no session 99"
    assert "fewer than the batch size 12" in errors[2]
    assert errors[3] == "strength must be one of default, aggressive, extreme, not 'wild'"
    with project.connection() as conn:
        assert lr_sweeps.newest(conn, session.id) is None
