"""What the Convert screen shows, read in one go: the sessions and video sources it offers,
the preview and conversion jobs it follows, the finished outputs of the chosen session, and
the person it swaps with how many of their faces each source has."""
from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field

from store import conversions, convert_previews, jobs, sessions, sources
from store.conversions import Conversion
from store.jobs import Job, JobStatus
from store.training_faces import Person, PersonError
from store.views.convert_plan import chosen_person, person_face_counts

FINISHED_SHOWN = 5      # the newest conversions of the session listed
ACTIVE = (JobStatus.QUEUED, JobStatus.RUNNING)


@dataclass(frozen=True)
class Wanted:
    """What a read is for: the choices on the screen when it began."""
    session_id: int | None
    source_id: int | None
    preview_job: int | None
    pictures_of: int | None     # the preview job whose pictures are on screen already
    convert_job: int | None     # None: any conversion that waits or runs
    side: str | None = None     # the side whose person is swapped ("A" or "B")
    person: str | None = None   # the person named in the settings; None: the side's


@dataclass(frozen=True)
class ConvertView:
    sessions: tuple[sessions.Session, ...]      # those with a checkpoint
    sources: tuple[sources.Source, ...]         # ready videos
    session: sessions.Session | None            # the wanted one, while it is offered
    source: sources.Source | None
    preview_job: Job | None
    pictures: tuple[bytes, bytes] | None        # the preview's before and after; None: none new
    convert_job: Job | None
    finished: tuple[Conversion, ...]            # the wanted session's newest outputs
    person: Person | None = None                # who is swapped (None: nobody can be)
    person_faces: dict[int, int] = field(default_factory=dict)  # their faces by source id


def read_view(conn: sqlite3.Connection, wanted: Wanted) -> ConvertView:
    """Read everything in one read transaction so the parts agree with each other; raises
    jobs.JobNotFoundError when a wanted job is gone."""
    conn.execute("BEGIN")
    try:
        listed = tuple(s for s in sessions.list_sessions(conn)
                       if sessions.checkpoints(conn, s.id))
        videos = tuple(s for s in sources.list_sources(conn, ready_only=True)
                       if s.kind == "video")
        preview_job = (jobs.get(conn, wanted.preview_job)
                       if wanted.preview_job is not None else None)
        preview = (convert_previews.get(conn, preview_job.id)
                   if preview_job is not None and preview_job.status == JobStatus.DONE
                   and preview_job.id != wanted.pictures_of else None)
        convert_job = (jobs.get(conn, wanted.convert_job) if wanted.convert_job is not None
                       else next((j for j in jobs.list_jobs(conn, statuses=ACTIVE)
                                  if j.kind == "convert"), None))
        finished = tuple(c for c in conversions.finished(conn)
                         if c.session_id == wanted.session_id)[:FINISHED_SHOWN]
        session = next((s for s in listed if s.id == wanted.session_id), None)
        person = _person(conn, session, wanted)
        counts = person_face_counts(conn, person.id) if person is not None else {}
    finally:
        conn.execute("COMMIT")
    return ConvertView(listed, videos, session,
                       next((s for s in videos if s.id == wanted.source_id), None),
                       preview_job, (preview.before, preview.after) if preview else None,
                       convert_job, finished, person, counts)


def _person(conn: sqlite3.Connection, session: sessions.Session | None,
            wanted: Wanted) -> Person | None:
    """Who the wanted conversion swaps; None when that is not known (the request says why)."""
    if session is None or wanted.side is None:
        return None
    try:
        return chosen_person(conn, session, wanted.side, wanted.person)
    except PersonError:
        return None
