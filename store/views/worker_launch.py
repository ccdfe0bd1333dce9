"""A worker process that was launched but has not signed in yet.

A worker signs in (store.workers.register) only once its process has started up, a few
seconds after the TUI or the CLI launched it. The launch is recorded in the store the moment
it happens, so every panel says "starting" from then on, the way the notice of the launch
does, instead of "never started" until its first heartbeat. It is kept in the settings
table (one row, the newest launch): no schema change.
"""
from __future__ import annotations

import socket
import sqlite3
import time
from dataclasses import dataclass
from enum import Enum

from store import settings
from store.workers import WorkerRow, pid_alive

LAUNCH_KEY = "worker_launch"
STARTING_FOR_S = 30.0     # a worker signs in within seconds; after this it did not start
FORGOTTEN_AFTER_S = 3600.0  # an older launch that never signed in is no longer news


class LaunchState(Enum):
    STARTING = "starting"     # launched, no heartbeat yet
    FAILED = "failed"         # launched, and it never signed in


@dataclass(frozen=True)
class WorkerLaunch:
    pid: int
    host: str
    at: float

    def state(self, worker: WorkerRow | None, now: float) -> LaunchState | None:
        """Where the launch stands; None once a worker signed in after it (that worker's
        row says the rest), or when it is long past."""
        if worker is not None and worker.started_at >= self.at:
            return None
        age = now - self.at
        if age < STARTING_FOR_S and (self.host != socket.gethostname()
                                     or pid_alive(self.pid)):
            return LaunchState.STARTING
        return LaunchState.FAILED if age < FORGOTTEN_AFTER_S else None


def record_launch(conn: sqlite3.Connection, pid: int) -> WorkerLaunch:
    """Note that a worker process `pid` was launched on this host just now."""
    launch = WorkerLaunch(pid, socket.gethostname(), time.time())
    settings.put(conn, LAUNCH_KEY, {"pid": launch.pid, "host": launch.host, "at": launch.at})
    return launch


def latest_launch(conn: sqlite3.Connection) -> WorkerLaunch | None:
    value = settings.get(conn, LAUNCH_KEY)
    try:
        return WorkerLaunch(int(value["pid"]), str(value["host"]), float(value["at"]))
    except (TypeError, KeyError, ValueError):   # none recorded, or not ours to trust
        return None
