"""What the Train screen shows: the people, the sessions and the chosen one's state, read in
one go."""
from __future__ import annotations

import sqlite3
import time
from dataclasses import dataclass

from store import identities, jobs, lr_sweeps, sessions
from store.identities import Identity
from store.views.training_figures import Progress, progress, read_together

LOSS_POINTS = 400   # the newest loss rows the sparklines show


@dataclass(frozen=True)
class TrainView:
    session: sessions.Session
    job: jobs.Job | None                      # its queued or running train job
    losses: tuple[tuple[int, float, float], ...]
    preview_iteration: int | None
    preview_png: bytes | None                 # None when it is the one the caller has
    metrics: tuple[sessions.SwapMetrics, ...]
    last_run: sessions.Run | None
    sweep: lr_sweeps.LrSweep | None           # its newest learning-rate sweep
    sweep_job: jobs.Job | None                # its queued or running sweep job
    progress: Progress                        # the iteration and speed every panel shows


def read_view(conn: sqlite3.Connection, session_id: int,
              shown_preview: int | None = None) -> TrainView:
    """The session's state; the newest preview's PNG only when it is not `shown_preview`."""
    with read_together(conn):
        return _read_view(conn, session_id, shown_preview)


def _read_view(conn: sqlite3.Connection, session_id: int,
               shown_preview: int | None) -> TrainView:
    session = sessions.get(conn, session_id)
    job_id = sessions.active_job(conn, session_id)
    iterations = sessions.preview_iterations(conn, session_id)
    newest = iterations[-1] if iterations else None
    png = None
    if newest is not None and newest != shown_preview:
        found = sessions.preview(conn, session_id, newest)
        png = found[1] if found is not None else None
    sweep_job_id = lr_sweeps.active_job(conn, session_id)
    job = jobs.get(conn, job_id) if job_id is not None else None
    last_run = sessions.last_run(conn, session_id)
    return TrainView(session, job,
                     tuple(sessions.recent_losses(conn, session_id, LOSS_POINTS)), newest, png,
                     tuple(sessions.metrics(conn, session_id)),
                     last_run, lr_sweeps.newest(conn, session_id),
                     jobs.get(conn, sweep_job_id) if sweep_job_id is not None else None,
                     progress(session, last_run, job, time.time()))


@dataclass(frozen=True)
class TrainState:
    """Everything the Train screen shows, read in one go."""
    people: list[Identity]
    listed: list[sessions.Session]
    view: TrainView | None                    # None when no session is chosen


def read_state(conn: sqlite3.Connection, session_id: int | None,
               shown_preview: int | None = None) -> TrainState:
    """The people and sessions, and the view of `session_id` (None: a new session's form)."""
    with read_together(conn):
        people, listed = identities.list_identities(conn), sessions.list_sessions(conn)
        view = read_view(conn, session_id, shown_preview) if session_id is not None else None
    return TrainState(people, listed, view)
