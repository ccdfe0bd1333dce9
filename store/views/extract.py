"""What the Extract screen shows: the ready sources, the extract jobs in the snapshot, and
whether each source was extracted before (read from the store)."""
from __future__ import annotations

import sqlite3
from collections.abc import Iterable

from store import faces
from store.faces import Extraction
from store.jobs import Job
from store.sources import Source
from store.views.snapshot import Snapshot

EXTRACT = "extract"   # the job kind


def ready_sources(snap: Snapshot) -> list[Source]:
    """The sources that can be extracted: ingested and ready."""
    return [source for source in snap.sources if source.status == "ready"]


def extraction_jobs(snap: Snapshot) -> list[Job]:
    """The snapshot's extract jobs, in its order (newest first)."""
    return [job for job in snap.jobs if job.kind == EXTRACT]


def latest_jobs(snap: Snapshot) -> dict[int, Job]:
    """Each source's newest extract job, by source id."""
    latest: dict[int, Job] = {}
    for job in sorted(extraction_jobs(snap), key=lambda j: j.id):
        latest[int(job.params.get("source_id", 0))] = job
    return latest


def read_extractions(conn: sqlite3.Connection,
                     source_ids: Iterable[int]) -> dict[int, Extraction | None]:
    """What the store says about each source's extraction (None: never extracted)."""
    return {source_id: faces.get_extraction(conn, source_id) for source_id in source_ids}
