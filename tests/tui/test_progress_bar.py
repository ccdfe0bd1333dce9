"""The job table's progress cell."""
from __future__ import annotations

import dataclasses

from store.jobs import Job, JobStatus
from screens.widgets.jobs_panel import progress_bar

JOB = Job(id=1, kind="ingest", params={}, status=JobStatus.RUNNING, priority=0, attempts=1,
          worker_id=1, created_at=0.0, started_at=0.0, heartbeat_at=0.0,
          finished_at=None, progress=50, total=200, message="", error=None, result=None,
          cancel_requested=False, origin="here", progress_marks={}, marks_at_claim={},
          stalled_deaths=0)


def test_a_running_job_fills_its_fraction() -> None:
    assert progress_bar(JOB, width=8).plain == "██░░░░░░  25%"


def test_done_is_full_and_unknown_totals_say_so() -> None:
    done = dataclasses.replace(JOB, status=JobStatus.DONE)
    assert progress_bar(done, width=4).plain == "████ 100%"
    assert progress_bar(dataclasses.replace(JOB, total=None)).plain == "working..."
    assert progress_bar(dataclasses.replace(JOB, status=JobStatus.QUEUED, total=None)).plain == ""


def test_a_job_that_ended_early_shows_how_far_it_got_not_a_full_bar() -> None:
    failed = dataclasses.replace(JOB, status=JobStatus.FAILED, progress=200)
    assert progress_bar(failed).plain == "✗ failed at 100%"
    assert "█" not in progress_bar(failed).plain
    cancelled = dataclasses.replace(JOB, status=JobStatus.CANCELLED)
    assert progress_bar(cancelled).plain == "✗ cancelled at 25%"
    assert progress_bar(dataclasses.replace(JOB, status=JobStatus.FAILED, total=None)
                        ).plain == "✗ failed"
