"""Where a job was queued: this machine and this project folder, as one string.

A project folder is copied between machines; a job queued on another machine, or in the
folder before it moved, names paths that meant something there. Comparing a job's origin
with the present one tells such jobs apart, so they can be held for the user's release.
"""
from __future__ import annotations

import functools
import os
import socket
import sqlite3
from pathlib import Path

MACHINE_ID_FILES = (Path("/etc/machine-id"), Path("/var/lib/dbus/machine-id"))


@functools.cache
def machine() -> str:
    """This machine's host name and, where the system has one, its machine id."""
    for path in MACHINE_ID_FILES:
        try:
            machine_id = path.read_text().strip()
        except OSError:
            continue
        if machine_id:
            return f"{socket.gethostname()}/{machine_id}"
    return socket.gethostname()


def project_folder(conn: sqlite3.Connection) -> Path:
    """The real folder of the store `conn` is connected to."""
    row = conn.execute("PRAGMA database_list").fetchone()
    return Path(os.path.realpath(row[2])).parent


def origin(conn: sqlite3.Connection) -> str:
    """The origin a job queued through `conn` now gets."""
    return f"{machine()}:{project_folder(conn)}"
