"""The Convert screen's view of the store: what it offers, and the jobs and pictures it follows."""
from __future__ import annotations

import pytest

from store import convert_previews, jobs
from store.jobs import JobStatus
from store.project import Project
from store.views.convert import Wanted, read_view

NOTHING = Wanted(None, None, None, None, None)


def test_an_empty_project_offers_nothing(project: Project) -> None:
    with project.connection() as conn:
        view = read_view(conn, NOTHING)
        assert not conn.in_transaction
    assert view.sessions == view.sources == view.finished == ()
    assert view.session is view.source is view.preview_job is view.convert_job is None
    assert view.pictures is None


def test_a_waiting_conversion_is_found_unless_another_is_followed(project: Project) -> None:
    with project.connection() as conn:
        waiting = jobs.enqueue(conn, "convert", {"session_id": 1})
        jobs.enqueue(conn, "convert_preview", {"frame": 0})
        followed = jobs.enqueue(conn, "convert", {"session_id": 2})
        jobs.request_cancel(conn, followed)
        found = read_view(conn, NOTHING).convert_job
        assert found is not None and found.id == waiting
        kept = read_view(conn, Wanted(None, None, None, None, followed)).convert_job
        assert kept is not None and kept.id == followed
        assert kept.status == JobStatus.CANCELLED


def test_a_rendered_preview_comes_with_its_pictures_until_they_are_shown(
        project: Project) -> None:
    with project.connection() as conn:
        job_id = jobs.enqueue(conn, "convert_preview", {"frame": 3})
        wanted = Wanted(None, None, job_id, None, None)
        assert read_view(conn, wanted).pictures is None         # not rendered yet
        convert_previews.save(conn, job_id, 3, 1, b"before", b"after")
        jobs.finish(conn, job_id, JobStatus.DONE, message="frame 3: 1 face swapped")
        view = read_view(conn, wanted)
        assert view.preview_job is not None and view.preview_job.status == JobStatus.DONE
        assert view.pictures == (b"before", b"after")
        shown = Wanted(None, None, job_id, job_id, None)
        assert read_view(conn, shown).pictures is None


def test_a_followed_job_that_is_gone_is_an_error_and_ends_the_read(project: Project) -> None:
    with project.connection() as conn:
        with pytest.raises(jobs.JobNotFoundError):
            read_view(conn, Wanted(None, None, 999, None, None))
        assert not conn.in_transaction
