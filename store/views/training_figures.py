"""The figures of a session's training that more than one panel shows, each computed here
once: how far the session has got, how fast its runs go (examples/s) and how long is left,
and what its swap metrics measured.

The Train screen's panels, the Analysis screen's summary and runs table and `swapdeck
session show` all show these, so that no two of them disagree. The iteration is the one the
store recorded: the losses, the session row and its run are written in one transaction
(sessions.record_progress), whereas a train job's progress message runs a few iterations
ahead of them and measures its speed over its newest iterations only.
"""
from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

from store.jobs import Job, JobStatus
from store.sessions import Run, Session, SwapMetrics

EXAMPLES_UNIT = "examples/s"   # faceswap's EGs/sec: faces of both sides trained per second


@contextmanager
def read_together(conn: sqlite3.Connection) -> Iterator[None]:
    """One read transaction (unless one is open already), so that a session, its losses and
    its runs are read as of one moment while the worker writes."""
    if conn.in_transaction:
        yield
        return
    conn.execute("BEGIN")
    try:
        yield
    finally:
        conn.execute("COMMIT")


def examples_per_iteration(run: Run) -> int:
    """Faces trained per iteration: each replica's batch, times its accumulation steps, for
    both sides (as the trainer counts them)."""
    settings = run.settings
    replicas = int(settings.get("gpus", 1) or 1)
    return run.batch_size * int(settings.get("accumulation", 1) or 1) * replicas * 2


def examples_per_second(run: Run, now: float) -> float | None:
    """The run's speed over its whole length (to `now` while it is open); None before it
    recorded an iteration."""
    elapsed = run.elapsed(now)
    if run.iterations <= 0 or elapsed <= 0:
        return None
    return examples_per_iteration(run) * run.iterations / elapsed


def seconds_left(run: Run, target: int, now: float) -> float | None:
    """The time to `target` at the run's speed so far; None before it recorded an iteration."""
    elapsed = run.elapsed(now)
    if run.iterations <= 0 or elapsed <= 0:
        return None
    return max(0, target - run.end_iteration) * elapsed / run.iterations


@dataclass(frozen=True)
class Progress:
    """How far a session has got and how fast, as every panel shows it."""
    iteration: int                       # the newest recorded (its losses end there)
    target: int                          # the iterations its settings train to
    running: Run | None                  # the run its running job has under way
    last_run: Run | None                 # its newest run, open or ended
    examples_per_second: float | None    # of the newest run (the Runs table's figure)
    seconds_left: float | None           # at that speed, while a run is under way
    read_at: float                       # the `now` of both figures

    @property
    def preparing(self) -> bool:
        """Whether its job runs but has no run under way yet (caching faces, loading)."""
        return self.running is None


def progress(session: Session, last_run: Run | None, job: Job | None,
             now: float) -> Progress:
    """The session's progress; `last_run` is its newest run, `job` its queued or running
    train job."""
    target = int(session.settings.get("iterations", 0))
    running = (last_run if last_run is not None and last_run.ended_at is None
               and job is not None and job.status == JobStatus.RUNNING
               and last_run.job_id == job.id else None)
    rate = examples_per_second(last_run, now) if last_run is not None else None
    left = seconds_left(running, target, now) if running is not None else None
    return Progress(session.iteration, target, running, last_run, rate, left, now)


def metrics_note(metrics: Sequence[SwapMetrics], name_a: str) -> str:
    """What the swap metrics measured, or why there are none to draw.

    A save measures the A→B outputs of a fixed set of held-out faces of A: a row whose
    `faces` is 0 was measured, but the face detector found a face in none of the outputs
    (pipeline/train/swap_metrics.py), as happens while the swaps are still blurry."""
    if not metrics:
        return (f"swap metrics: none yet (measured at each save on held-out faces of "
                f"{name_a}, once both people have face descriptors)")
    newest = metrics[-1]
    measured = [m for m in metrics if m.faces]
    if newest.faces:
        return (f"swap metrics: measured at iteration {newest.iteration:,} on "
                f"{newest.faces} A→B output{'s' if newest.faces != 1 else ''} of {name_a}'s "
                f"held-out faces ({len(measured)} of {len(metrics)} saves measured a face)")
    nothing = (f"swap metrics: measured at iteration {newest.iteration:,}: no face found in "
               f"the A→B outputs of {name_a}'s held-out faces (the face detector finds none "
               "while the swaps are blurry)")
    if not measured:
        return nothing + (f"; none at the {len(metrics)} saves so far" if len(metrics) > 1
                          else "")
    return nothing + f"; the graphs show the {len(measured)} saves that found faces"
