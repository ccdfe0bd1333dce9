"""Learning-rate sweeps (faceswap's learning-rate finder) of a session: what each asked for,
the curve it drew, the rate it suggests, and putting that rate to use.

A sweep (the `lr_find` job) trains the session's newest weights in memory at a rising rate
and keeps the smoothed loss at each rate; it never writes the session's model files,
losses or runs. Its only mark on the session is the learning rate it suggests, and only
when asked (`set_rate`, or `apply` later).
"""
from __future__ import annotations

import dataclasses
import sqlite3
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from store import sessions
from store.schema.connection import write
from store.jobs import JobStatus
from store.errors import RequestError

KIND = "lr_find"
STRENGTHS = ("default", "aggressive", "extreme")
ITERATION_BOUNDS = (100, 10_000)


class SweepRequestError(RequestError):
    """A sweep that cannot be queued or a suggestion that cannot be used; one line."""


@dataclass(frozen=True)
class SweepSettings:
    """What a sweep is asked for (faceswap's lr_finder_iterations and lr_finder_strength)."""

    iterations: int = field(default=1000, metadata={
        "help": "Steps of the sweep, each at a higher learning rate; more take longer but "
                "draw a finer curve.",
        "bounds": ITERATION_BOUNDS})
    strength: str = field(default="default", metadata={
        "help": "Which rate to suggest: the rate at the lowest loss over 10 (default), "
                "over 5 (aggressive) or over 2.5 (extreme).",
        "choices": STRENGTHS})
    set_rate: bool = field(default=False, metadata={
        "help": "Store the suggested rate as the session's learning rate: its next run "
                "trains at it."})

    def __post_init__(self) -> None:
        if type(self.iterations) is not int:
            raise ValueError(f"iterations takes a whole number, not {self.iterations!r}")
        lowest, highest = ITERATION_BOUNDS
        if not lowest <= self.iterations <= highest:
            raise ValueError(f"iterations must be {lowest} to {highest}, not "
                             f"{self.iterations}")
        if self.strength not in STRENGTHS:
            raise ValueError(f"strength must be one of {', '.join(STRENGTHS)}, not "
                             f"{self.strength!r}")
        if type(self.set_rate) is not bool:
            raise ValueError(f"set_rate takes true or false, not {self.set_rate!r}")

    @classmethod
    def from_params(cls, params: dict[str, Any]) -> SweepSettings:
        """From a job's params (its session_id aside); unknown names are refused."""
        known = {option.name for option in dataclasses.fields(cls)}
        values = {k: v for k, v in params.items() if k != "session_id"}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ValueError(f"unknown sweep setting(s): {', '.join(unknown)} (settings: "
                             f"{', '.join(sorted(known))})")
        return cls(**values)


@dataclass(frozen=True, eq=False)   # it holds arrays: compared by identity
class LrSweep:
    id: int
    session_id: int
    job_id: int | None
    created_at: float
    iterations: int             # asked for
    strength: str
    rates: np.ndarray           # the learning rate of each step run
    losses: np.ndarray          # the smoothed loss (A + B) after each of those steps
    suggested: float | None     # None when the loss never fell far enough to pick one
    stop_reason: str | None     # why it stopped before its last step; None if it did not
    applied_at: float | None    # when the suggestion became the session's learning rate

    @property
    def steps(self) -> int:
        """The steps it ran (fewer than asked when it stopped early)."""
        return len(self.rates)

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "session_id": self.session_id, "job_id": self.job_id,
                "created_at": self.created_at, "iterations": self.iterations,
                "steps": self.steps, "strength": self.strength, "suggested": self.suggested,
                "stopped_early": self.stop_reason is not None,
                "stop_reason": self.stop_reason, "applied_at": self.applied_at,
                "points": [[float(r), float(l)] for r, l in zip(self.rates, self.losses)]}


def _sweep(row: sqlite3.Row) -> LrSweep:
    points = np.frombuffer(row["points"], "<f4").reshape(-1, 2).astype(np.float64)
    return LrSweep(row["id"], row["session_id"], row["job_id"], row["created_at"],
                   row["iterations"], row["strength"], points[:, 0], points[:, 1],
                   row["suggested"], row["stop_reason"], row["applied_at"])


def record(conn: sqlite3.Connection, session_id: int, job_id: int | None,
           settings: SweepSettings, points: np.ndarray, suggested: float | None,
           stop_reason: str | None) -> LrSweep:
    """Store a sweep's (rate, smoothed loss) points, replacing one the same job stored
    before (a job run again after its worker died)."""
    pairs = np.asarray(points, "<f4").reshape(-1, 2)
    with write(conn):
        if job_id is not None:
            conn.execute("DELETE FROM lr_sweeps WHERE job_id = ?", (job_id,))
        sweep_id = conn.execute(
            "INSERT INTO lr_sweeps (session_id, job_id, created_at, iterations, steps,"
            " strength, points, suggested, stop_reason) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (session_id, job_id, time.time(), settings.iterations, len(pairs),
             settings.strength, pairs.tobytes(), suggested, stop_reason)).lastrowid
    return get(conn, sweep_id)


def get(conn: sqlite3.Connection, sweep_id: int) -> LrSweep:
    row = conn.execute("SELECT * FROM lr_sweeps WHERE id = ?", (sweep_id,)).fetchone()
    if row is None:
        raise SweepRequestError(f"no learning-rate sweep {sweep_id}")
    return _sweep(row)


def newest(conn: sqlite3.Connection, session_id: int) -> LrSweep | None:
    row = conn.execute("SELECT * FROM lr_sweeps WHERE session_id = ? ORDER BY id DESC LIMIT 1",
                       (session_id,)).fetchone()
    return None if row is None else _sweep(row)


def of_job(conn: sqlite3.Connection, job_id: int) -> LrSweep | None:
    """The sweep an lr_find job stored, if it got that far."""
    row = conn.execute("SELECT * FROM lr_sweeps WHERE job_id = ?", (job_id,)).fetchone()
    return None if row is None else _sweep(row)


def active_job(conn: sqlite3.Connection, session_id: int) -> int | None:
    """The session's queued or running sweep job, if there is one."""
    row = conn.execute(
        "SELECT id FROM jobs WHERE kind = ? AND status IN (?, ?)"
        " AND json_extract(params, '$.session_id') = ? ORDER BY id LIMIT 1",
        (KIND, JobStatus.QUEUED, JobStatus.RUNNING, session_id)).fetchone()
    return None if row is None else row[0]


def sweep_params(conn: sqlite3.Connection, session: sessions.Session,
                 settings: SweepSettings) -> dict[str, Any]:
    """The params of a sweep of `session`; refused while it trains or is being swept."""
    if (job_id := sessions.active_job(conn, session.id)) is not None:
        raise SweepRequestError(f"session {session.name} has train job {job_id} queued or "
                                "running: sweep it when that has stopped")
    if (job_id := active_job(conn, session.id)) is not None:
        raise SweepRequestError(f"session {session.name} already has learning-rate sweep "
                                f"job {job_id} queued or running")
    return {"session_id": session.id, **dataclasses.asdict(settings)}


def apply(conn: sqlite3.Connection, sweep_id: int) -> LrSweep:
    """Make the sweep's suggestion the learning rate of its session's next runs."""
    with write(conn):
        row = conn.execute("SELECT * FROM lr_sweeps WHERE id = ?", (sweep_id,)).fetchone()
        if row is None:
            raise SweepRequestError(f"no learning-rate sweep {sweep_id}")
        if row["suggested"] is None:
            raise SweepRequestError(f"sweep {sweep_id} found no learning rate to use: sweep "
                                    "again with more iterations")
        conn.execute("UPDATE sessions SET settings = json_set(settings, '$.learning_rate', ?)"
                     " WHERE id = ?", (row["suggested"], row["session_id"]))
        conn.execute("UPDATE lr_sweeps SET applied_at = ? WHERE id = ?", (time.time(), sweep_id))
    return get(conn, sweep_id)
