"""The figures several panels share, on a real store: a run's examples/s as the trainer
counts examples, a session's progress, what its swap metrics measured, the settings a
resume trains with, and a launched worker that has not signed in yet."""
from __future__ import annotations

import os
import socket
import sqlite3
from dataclasses import replace

from store import identities, jobs, sessions, workers
from store.jobs import JobStatus
from store.project import Project
from store.sessions_baseline import resume_baseline
from store.views.training_figures import (examples_per_iteration, examples_per_second,
                                          metrics_note, progress)
from store.views.worker_launch import LaunchState, WorkerLaunch, latest_launch, record_launch
from tui.format import describe_worker, examples_rate


def a_session(conn: sqlite3.Connection, settings: dict) -> sessions.Session:
    """A session of the seeded pair (`pair`), with these stored per-run settings."""
    ann, bob = (identities.find_identity(conn, name) for name in ("Ann", "Bob"))
    return sessions.create(conn, "s", "tiny-test", {}, ann, bob, settings)


def test_examples_per_second_counts_what_an_iteration_trains(project: Project,
                                                              pair) -> None:
    """batch x accumulation x replicas x 2 sides, per second of the run (the trainer's
    count): the Train panel and the Runs table both show this one."""
    with project.connection() as conn:
        session = a_session(conn, {"iterations": 100})
        run_id = sessions.start_run(conn, session.id, None, 0, 8, "cpu",
                                    {"accumulation": 2, "gpus": 1})
        sessions.record_progress(conn, session.id, run_id, 10, [])
        [run] = sessions.runs(conn, session.id)
    assert examples_per_iteration(run) == 8 * 2 * 2
    assert examples_per_second(run, run.started_at + 4) == 8 * 2 * 2 * 10 / 4
    assert examples_per_second(replace(run, end_iteration=0), run.started_at + 4) is None
    assert examples_rate(1234.56) == "1,234.6 examples/s"


def test_progress_is_the_recorded_iteration_and_the_run_speed(project: Project,
                                                                pair) -> None:
    with project.connection() as conn:
        session = a_session(conn, {"iterations": 1000})
        job_id = jobs.enqueue(conn, "train", {"session_id": session.id})
        job = jobs.claim(conn, 1, ["train"])
        run_id = sessions.start_run(conn, session.id, job_id, 0, 4, "cpu", {})
        sessions.record_progress(conn, session.id, run_id, 100, [])
        jobs.report_progress(conn, job_id, 107, 1000, "iteration 107")
        session, run, job = (sessions.get(conn, session.id), sessions.last_run(conn, session.id),
                             jobs.get(conn, job_id))
    assert job.status == JobStatus.RUNNING and job.progress == 107
    figures = progress(session, run, job, run.started_at + 10)
    assert (figures.iteration, figures.target, figures.running) == (100, 1000, run)
    assert figures.examples_per_second == 4 * 2 * 100 / 10
    assert figures.seconds_left == 900 * 10 / 100
    preparing = progress(session, replace(run, job_id=None), job, run.started_at + 10)
    assert preparing.preparing and preparing.seconds_left is None


def test_metrics_note_says_what_was_measured() -> None:
    nothing = sessions.SwapMetrics(20, 0, None, None, None, None)
    found = sessions.SwapMetrics(30, 3, 0.2, 0.5, 4.0, 0.05)
    assert metrics_note([], "Ann").startswith("swap metrics: none yet")
    assert metrics_note([nothing], "Ann") == (
        "swap metrics: measured at iteration 20: no face found in the A→B outputs of Ann's "
        "held-out faces (the face detector finds none while the swaps are blurry)")
    assert metrics_note([nothing, found], "Ann") == (
        "swap metrics: measured at iteration 30 on 3 A→B outputs of Ann's held-out faces "
        "(1 of 2 saves measured a face)")
    assert metrics_note([found, replace(nothing, iteration=40)], "Ann").endswith(
        "the graphs show the 1 saves that found faces")


def test_a_resume_trains_with_the_stored_settings_and_defaults_for_the_rest(
        project: Project, pair) -> None:
    with project.connection() as conn:
        session = a_session(conn, {"batch_size": 8, "augment": {"warp": False}})
    baseline = resume_baseline(session)
    assert baseline["batch_size"] == 8 and baseline["warp"] is False
    assert baseline["learning_rate"] == 5e-05           # not stored: the default
    assert "coverage" not in baseline                   # frozen: not a resume's to change


def test_a_launched_worker_is_starting_until_it_signs_in(project: Project,
                                                         dead_pid: int) -> None:
    with project.connection() as conn:
        assert latest_launch(conn) is None
        launch = record_launch(conn, os.getpid())
        assert latest_launch(conn) == launch
        assert launch.state(None, launch.at + 1) is LaunchState.STARTING
        assert describe_worker(None, launch.at + 1, launch).startswith(
            f"starting (pid {os.getpid()}, launched 1s ago")
        gone = WorkerLaunch(dead_pid, socket.gethostname(), launch.at)
        assert gone.state(None, launch.at + 1) is LaunchState.FAILED
        assert "did not start" in describe_worker(None, launch.at + 1, gone)
        workers.register(conn, None)
        worker = workers.latest_worker(conn)
        assert launch.state(worker, worker.started_at) is None
        assert describe_worker(worker, worker.started_at, launch).startswith("alive")
