"""The one thread that reads the store for the TUI and posts what it finds as one message.

Widgets never query the store: this thread watches `PRAGMA data_version` on a connection of
its own and, when another connection committed (or at least every `refresh_s`, so heartbeat
ages keep ticking while nothing is written), reads a `store.views.snapshot.Snapshot` and posts it.
"""
from __future__ import annotations

import sqlite3
import threading
import time

from textual.message import Message
from textual.message_pump import MessagePump

from store.views import snapshot
from store.schema.connection import data_version
from store.project import Project

POLL_S = 0.25
REFRESH_S = 1.0
STOP_TIMEOUT_S = 2.0


class StorePoller:
    class SnapshotReady(Message):
        """The latest snapshot; a queue of them collapses to the newest."""

        def __init__(self, snapshot: snapshot.Snapshot) -> None:
            super().__init__()
            self.snapshot = snapshot

        def can_replace(self, message: Message) -> bool:
            return isinstance(message, StorePoller.SnapshotReady)

    class ReadFailed(Message):
        """Reading the store failed; the poller keeps trying."""

        def __init__(self, error: str) -> None:
            super().__init__()
            self.error = error

        def can_replace(self, message: Message) -> bool:
            return isinstance(message, StorePoller.ReadFailed)

    def __init__(self, project: Project, target: MessagePump, *,
                 poll_s: float = POLL_S, refresh_s: float = REFRESH_S) -> None:
        self.project = project
        self.target = target
        self.poll_s = poll_s
        self.refresh_s = refresh_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="store-poller", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        """Ask the thread to finish and wait for it (it closes its connection)."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(STOP_TIMEOUT_S)

    def _run(self) -> None:
        conn = self.project.connect()
        try:
            last_version: int | None = None
            last_read = 0.0
            last_error = ""
            while not self._stop.is_set():
                try:
                    version = data_version(conn)
                    if version != last_version or time.monotonic() - last_read >= self.refresh_s:
                        snap = snapshot.read(conn, str(self.project.root), version)
                        last_version, last_read, last_error = version, time.monotonic(), ""
                        self.target.post_message(self.SnapshotReady(snap))
                except sqlite3.Error as exc:
                    if str(exc) != last_error:  # say it once, not four times a second
                        last_error = str(exc)
                        self.target.post_message(self.ReadFailed(
                            f"reading the store failed: {exc}"))
                self._stop.wait(self.poll_s)
        finally:
            conn.close()
