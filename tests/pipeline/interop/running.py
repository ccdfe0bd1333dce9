"""Jobs queued and run to the end by a worker in this process."""
from __future__ import annotations

from store import jobs
from store.project import Project
from tests.pipeline.extract_jobs import run_worker


def run(project: Project, kind: str, **params) -> jobs.Job:
    with project.connection() as conn:
        job_id = jobs.enqueue(conn, kind, params)
    run_worker(project)
    with project.connection() as conn:
        return jobs.get(conn, job_id)
