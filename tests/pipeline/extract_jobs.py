"""Ingest and extract jobs on a real store, run to the end by a worker in this process."""
from __future__ import annotations

from pathlib import Path

from pipeline.worker import Worker, WorkerOptions
from store import jobs, sources
from store.requests.extract import ExtractSettings
from store.project import Project
from store.requests.ingest import ingest_params

def run_worker(project: Project) -> None:
    Worker(project, WorkerOptions(exit_when_idle=True, watch_inbox=False)).run()


def add(project: Project, path: Path) -> int:
    """Ingest `path` and return its source id."""
    with project.connection() as conn:
        jobs.enqueue(conn, "ingest", ingest_params(path, ""))
    run_worker(project)
    with project.connection() as conn:
        return sources.find_by_path(conn, str(path)).id


def extract(project: Project, source_id: int, force: bool = False, **settings) -> jobs.Job:
    with project.connection() as conn:
        job_id = jobs.enqueue(conn, "extract", {
            "source_id": source_id, "force": force,
            "settings": ExtractSettings(**settings).to_json()})
    run_worker(project)
    with project.connection() as conn:
        return jobs.get(conn, job_id)
