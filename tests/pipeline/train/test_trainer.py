"""The train job on a real store: resume exactness, NaN rollback, checkpoints and previews."""
from __future__ import annotations

import torch

from pipeline.train import checkpoint
from pipeline.train.job import new_session
from pipeline.worker import Worker, WorkerOptions
from store import jobs, sessions
from store.connection import integrity_check
from store.jobs import JobStatus
from store.project import Project
from tests.pipeline.train.tiny_model import NAME as TINY

FAST = {"batch_size": 4, "save_every": 10, "mixed_precision": True}


def run_train(project: Project, session_id: int, **params) -> jobs.Job:
    with project.connection() as conn:
        job_id = jobs.enqueue(conn, "train", {"session_id": session_id, **params})
    Worker(project, WorkerOptions(exit_when_idle=True, watch_inbox=False)).run()
    with project.connection() as conn:
        return jobs.get(conn, job_id)


def make_session(project: Project, name: str, **settings) -> sessions.Session:
    with project.connection() as conn:
        return new_session(conn, name, TINY, {}, settings={**FAST, **settings}, seed=7)


def newest_weights(project: Project, session: sessions.Session) -> dict[str, torch.Tensor]:
    with project.connection() as conn:
        save = sessions.checkpoints(conn, session.id, "save")[0]
    return checkpoint.read(project.models / str(session.id) / save.path).model


def test_a_stopped_and_resumed_run_equals_a_straight_one(
        project: Project, pair) -> None:
    straight = make_session(project, "straight")
    split = make_session(project, "split")
    assert run_train(project, straight.id, settings={"iterations": 40}).status == JobStatus.DONE
    first = run_train(project, split.id, settings={"iterations": 20})
    second = run_train(project, split.id, settings={"iterations": 40})
    assert first.status == second.status == JobStatus.DONE, (first.error, second.error)
    assert second.result["iterations_run"] == 20
    # both sessions have the same seed, so the split one must end where the straight one did
    a, b = newest_weights(project, straight), newest_weights(project, split)
    assert a.keys() == b.keys()
    for name in a:
        torch.testing.assert_close(a[name], b[name], rtol=1e-4, atol=1e-5, msg=name)


def test_a_nan_rolls_back_to_the_last_save_and_the_run_goes_on(
        project: Project, pair) -> None:
    session = make_session(project, "nan")
    job = run_train(project, session.id, settings={"iterations": 30},
                    faults={"nan_at": [15]})
    assert job.status == JobStatus.DONE, job.error
    assert job.result["rollbacks"] == 1 and job.result["iteration"] == 30
    with project.connection() as conn:
        [run] = sessions.runs(conn, session.id)
        assert run.rollbacks == 1 and run.end_iteration == 30
        iterations = [i for i, _, _ in sessions.losses(conn, session.id)]
        assert iterations == list(range(1, 31))  # nothing lost, nothing twice
        assert sessions.preview_iterations(conn, session.id) == [10, 20, 30]
        assert integrity_check(conn) == "ok"
        events = " ".join(r[0] for r in conn.execute("SELECT message FROM events"))
    assert "rolled back to iteration 10" in events
