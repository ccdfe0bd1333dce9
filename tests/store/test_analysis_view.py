"""The analysis view on a real project store: which session is shown, and the newest train
job's failure (what the Analysis screen says under the session)."""
from __future__ import annotations

import sqlite3

from store import jobs, sessions
from store.jobs import JobStatus
from store.project import Project
from store.views.analysis import (PreviewImage, latest_train_job, read_detail, read_preview,
                                  rows_and_detail)


def two_sessions(conn: sqlite3.Connection) -> tuple[sessions.Session, sessions.Session]:
    conn.execute("INSERT INTO identities (name, created_at) VALUES ('Ann', 0), ('Bob', 0)")
    return (sessions.create(conn, "first", "original", {}, 1, 2, {"iterations": 30}),
            sessions.create(conn, "second", "original", {}, 1, 2, {"iterations": 20}))


def failed(conn: sqlite3.Connection, kind: str, params: dict, error: str) -> int:
    job_id = jobs.enqueue(conn, kind, params)
    jobs.finish(conn, job_id, JobStatus.FAILED, error=error)
    return job_id


def test_the_newest_failed_train_job_of_the_session_is_its_failure(project: Project) -> None:
    with project.connection() as conn:
        first, second = two_sessions(conn)
        assert read_detail(conn, project.models, first.id).failed_job is None
        job_id = failed(conn, "train", {"session_id": first.id, "settings": {"nope": 1}},
                        "unknown run setting(s): nope")
        failed(conn, "train", {"session_id": second.id}, "not this session's")
        failed(conn, "convert", {"session_id": first.id}, "not a train job")
        job = read_detail(conn, project.models, first.id).failed_job
        assert job is not None and (job.id, job.error) == (job_id, "unknown run setting(s): nope")

        queued = jobs.enqueue(conn, "train", {"session_id": first.id})   # a newer one
        detail = read_detail(conn, project.models, first.id)
        assert detail.failed_job is None and detail.row.job is not None
        assert detail.row.job.id == queued
        jobs.request_cancel(conn, queued)
        assert read_detail(conn, project.models, first.id).failed_job is None   # cancelled


def test_the_job_that_made_the_session_counts_as_its_train_job(project: Project) -> None:
    with project.connection() as conn:
        conn.execute("INSERT INTO identities (name, created_at) VALUES ('Ann', 0), ('Bob', 0)")
        job_id = failed(conn, "train", {"new_session": {"name": "made"}}, "out of memory")
        made = sessions.create(conn, "made", "original", {}, 1, 2, {}, created_by_job=job_id)
        job = latest_train_job(conn, made.id)
        assert job is not None and job.id == job_id
        assert read_detail(conn, project.models, made.id).failed_job == job


def test_the_chosen_session_or_the_first_when_it_is_gone_and_a_preview(
        project: Project) -> None:
    with project.connection() as conn:
        assert rows_and_detail(conn, project.models, None) == ([], None)
        first, second = two_sessions(conn)
        rows, detail = rows_and_detail(conn, project.models, second.id)
        assert [row.session.name for row in rows] == ["first", "second"]
        assert detail is not None and detail.session.id == second.id
        for gone in (None, second.id + 100):
            _, detail = rows_and_detail(conn, project.models, gone)
            assert detail is not None and detail.session.id == first.id
        assert read_preview(conn, first.id, 10) is None
        sessions.add_preview(conn, first.id, 10, "png", b"png bytes")
        assert read_preview(conn, first.id, 10) == PreviewImage(first.id, 10, b"png bytes")
