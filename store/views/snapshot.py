"""One compact, frozen read of what the dashboard and `swapdeck status` show."""
from __future__ import annotations

import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path

from store import events, jobs, sources, workers
from store.views.job_targets import HeldJob, held_jobs
from store.views.worker_launch import LaunchState, WorkerLaunch, latest_launch
from store.jobs import Job, JobStatus
from store.origin import origin

RECENT_JOBS = 30
RECENT_EVENTS = 40
SNAPSHOT_SCHEMA = 2


@dataclass(frozen=True)
class Snapshot:
    taken_at: float
    project: str
    data_version: int
    sources: tuple[sources.Source, ...]
    changed_sources: frozenset[int]
    worker: workers.WorkerRow | None
    worker_alive: bool
    job_counts: dict[JobStatus, int]
    jobs: tuple[Job, ...]
    events: tuple[events.Event, ...]
    here: str                   # the origin a job queued now gets (store.origin)
    held: tuple[HeldJob, ...]   # queued elsewhere: they wait for the user's release
    launch: WorkerLaunch | None = None   # the newest worker launched (it may not be up yet)

    @property
    def worker_starting(self) -> bool:
        """A worker was launched and has not signed in yet (no heartbeat)."""
        return (self.launch is not None
                and self.launch.state(self.worker, self.taken_at) is LaunchState.STARTING)

    def is_held(self, job: Job) -> bool:
        return job.held_at(self.here)

    def to_json(self) -> dict:
        """The stable `swapdeck status --json` document (docs/cli-json.md)."""
        return {
            "schema": SNAPSHOT_SCHEMA,
            "project": self.project,
            "taken_at": self.taken_at,
            "worker": (
                self.worker.to_json(self.taken_at) if self.worker else None
            ),
            "sources": [
                {**s.to_json(), "changed_on_disk": s.id in self.changed_sources}
                for s in self.sources
            ],
            "jobs": {status.label: count for status, count in self.job_counts.items()},
            "active_jobs": [
                {**j.to_json(), "held": self.is_held(j)} for j in self.jobs
                if j.status in (JobStatus.QUEUED, JobStatus.RUNNING)
            ],
            "recent_failures": [{**j.to_json(), "held": False}
                                for j in self.jobs if j.status == JobStatus.FAILED],
            "held_jobs": [h.to_json() for h in self.held],
        }


def read(conn: sqlite3.Connection, project: str, data_version: int = 0) -> Snapshot:
    """Read everything in one read transaction so the parts agree with each other."""
    conn.execute("BEGIN")
    try:
        all_sources = tuple(sources.list_sources(conn))
        worker = workers.latest_worker(conn)
        counts = jobs.count_by_status(conn)
        recent_jobs = tuple(jobs.list_jobs(conn, limit=RECENT_JOBS))
        recent_events = tuple(events.recent(conn, RECENT_EVENTS))
        here = origin(conn)
        held = tuple(held_jobs(conn, Path(project)))
        launch = latest_launch(conn)
    finally:
        conn.execute("COMMIT")
    now = time.time()
    changed = frozenset(s.id for s in all_sources if s.status == "ready" and s.changed_on_disk())
    return Snapshot(
        taken_at=now,
        project=project,
        data_version=data_version,
        sources=all_sources,
        changed_sources=changed,
        worker=worker,
        worker_alive=bool(worker and worker.is_alive(now)),
        job_counts=counts,
        jobs=recent_jobs,
        events=recent_events,
        here=here,
        held=held,
        launch=launch,
    )
