"""Restore on a real store with the real trainer: archived, never overwritten, and a
resume continues from the restored iteration."""
from __future__ import annotations

import pytest

from store import sessions
from store.views.analysis import health
from store.schema.connection import integrity_check
from store.jobs import JobStatus
from store.project import Project
from store.files.session_restore import RestoreError, archives, restore
from tests.pipeline.train.tiny_sessions import make_session, run_train


def checkpoint_at(project: Project, session_id: int, kind: str, iteration: int,
                  archived: bool = False) -> sessions.Checkpoint:
    with project.connection() as conn:
        return next(c for c in sessions.checkpoints(conn, session_id, kind, archived=archived)
                    if c.iteration == iteration)


def test_resume_after_restore_continues_from_the_restored_iteration(
        project: Project, pair) -> None:
    session = make_session(project, "restored", snapshot_every=10)
    assert run_train(project, session.id, settings={"iterations": 30}).status == JobStatus.DONE
    snapshot = checkpoint_at(project, session.id, "snapshot", 10)
    with project.connection() as conn:
        before = sessions.losses(conn, session.id)
        done = restore(conn, project.models, sessions.get(conn, session.id), snapshot.id)
        assert done.archived_losses == 20 and done.archive.iteration == 30
        assert sessions.get(conn, session.id).iteration == 10
        assert [c.iteration for c in sessions.checkpoints(conn, session.id)] == [10]
        assert sessions.preview_iterations(conn, session.id) == [10]
    for archived in sessions.CHECKPOINT_KINDS:  # every file is kept
        with project.connection() as conn:
            for row in sessions.checkpoints(conn, session.id, archived, archived=True):
                assert (project.models / str(session.id) / row.path).is_file()

    job = run_train(project, session.id, settings={"iterations": 25})
    assert job.status == JobStatus.DONE, job.error
    assert job.result["iterations_run"] == 15
    with project.connection() as conn:
        runs = sessions.runs(conn, session.id)
        assert (runs[-1].start_iteration, runs[-1].end_iteration) == (10, 25)
        after = sessions.losses(conn, session.id)
        assert [i for i, _, _ in after] == list(range(1, 26))
        assert after[:10] == before[:10]
        kept = conn.execute("SELECT COUNT(*) FROM archived_losses").fetchone()[0]
        assert kept == 20
        assert integrity_check(conn) == "ok"


def test_the_newest_archive_can_be_restored_back(project: Project, pair) -> None:
    session = make_session(project, "undo", snapshot_every=10)
    assert run_train(project, session.id, settings={"iterations": 30}).status == JobStatus.DONE
    snapshot = checkpoint_at(project, session.id, "snapshot", 10)
    with project.connection() as conn:
        original = sessions.losses(conn, session.id)
        restore(conn, project.models, sessions.get(conn, session.id), snapshot.id)
    assert run_train(project, session.id, settings={"iterations": 20}).status == JobStatus.DONE
    branch = checkpoint_at(project, session.id, "save", 20)
    undo = checkpoint_at(project, session.id, "save", 30, archived=True)
    with project.connection() as conn:
        done = restore(conn, project.models, sessions.get(conn, session.id), undo.id)
        assert done.archived_losses == 10  # what was trained since the first restore
        assert sessions.losses(conn, session.id) == original
        assert sessions.get(conn, session.id).iteration == 30
        # back to 10 once more: the branch's archive is no longer the newest
        restore(conn, project.models, sessions.get(conn, session.id), snapshot.id)
        with pytest.raises(RestoreError, match="older archive"):
            restore(conn, project.models, sessions.get(conn, session.id), branch.id)
        assert [a.restored_to for a in archives(conn, session.id)] == [10, 30, 10]
        assert integrity_check(conn) == "ok"
    job = run_train(project, session.id, settings={"iterations": 15})
    assert job.status == JobStatus.DONE and job.result["iterations_run"] == 5


def test_a_damaged_save_refuses_to_resume_and_offers_an_older_generation(
        project: Project, pair) -> None:
    session = make_session(project, "damaged", backups=2, snapshot_every=10)
    assert run_train(project, session.id, settings={"iterations": 20}).status == JobStatus.DONE
    save = checkpoint_at(project, session.id, "save", 20)
    damaged = project.models / str(session.id) / save.path
    damaged.write_bytes(damaged.read_bytes()[:1000])
    with project.connection() as conn:
        found = health(conn, project.models, sessions.get(conn, session.id))
    assert not found.resumable and "damaged" in (found.problem or "")
    assert found.offer is not None and found.offer.iteration in (10, 20)

    job = run_train(project, session.id, settings={"iterations": 30})
    assert job.status == JobStatus.FAILED and "restore an older checkpoint" in (job.error or "")
    with project.connection() as conn:
        with pytest.raises(RestoreError, match="damaged"):
            restore(conn, project.models, sessions.get(conn, session.id), save.id)
        restore(conn, project.models, sessions.get(conn, session.id), found.offer.id)
        assert health(conn, project.models, sessions.get(conn, session.id)).resumable
    job = run_train(project, session.id, settings={"iterations": 30})
    assert job.status == JobStatus.DONE, job.error
    assert job.result["iterations_run"] == 30 - found.offer.iteration


def test_restore_is_refused_while_the_session_trains(project: Project, pair) -> None:
    from store import jobs
    session = make_session(project, "busy", snapshot_every=10)
    assert run_train(project, session.id, settings={"iterations": 20}).status == JobStatus.DONE
    snapshot = checkpoint_at(project, session.id, "snapshot", 10)
    with project.connection() as conn:
        jobs.enqueue(conn, "train", {"session_id": session.id})
        with pytest.raises(RestoreError, match="stop it first"):
            restore(conn, project.models, sessions.get(conn, session.id), snapshot.id)
        assert sessions.get(conn, session.id).iteration == 20
