"""The store poller: a snapshot when the store changes, one at least every refresh, clean stop."""
from __future__ import annotations

import threading
import time

from textual.message import Message

from store import jobs
from store.project import Project
from store.views.snapshot import read
from tui.poller import StorePoller


class Inbox:
    """Stands in for the app: collects what the poller posts (from its thread)."""

    def __init__(self) -> None:
        self.messages: list[Message] = []
        self.lock = threading.Lock()

    def post_message(self, message: Message) -> bool:
        with self.lock:
            self.messages.append(message)
        return True

    def snapshots(self) -> list:
        with self.lock:
            return [m.snapshot for m in self.messages if isinstance(m, StorePoller.SnapshotReady)]


def wait_until(condition, timeout: float = 10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := condition():
            return value
        time.sleep(0.02)
    raise AssertionError("timed out")


def test_posts_a_snapshot_when_the_store_changes_and_stops_cleanly(project: Project) -> None:
    inbox = Inbox()
    poller = StorePoller(project, inbox, poll_s=0.02, refresh_s=60)
    poller.start()
    try:
        first = wait_until(inbox.snapshots)[0]
        assert first.jobs == () and first.project == str(project.root)
        with project.connection() as conn:
            job_id = jobs.enqueue(conn, "ingest", {"path": "/x.mp4"})
        changed = wait_until(lambda: [s for s in inbox.snapshots() if s.jobs])[0]
        assert [job.id for job in changed.jobs] == [job_id]
        assert changed.data_version != first.data_version
    finally:
        poller.stop()
    assert not poller._thread.is_alive()


def test_posts_at_least_every_refresh_even_when_nothing_changes(project: Project) -> None:
    inbox = Inbox()
    poller = StorePoller(project, inbox, poll_s=0.02, refresh_s=0.1)
    poller.start()
    try:
        snapshots = wait_until(lambda: len(inbox.snapshots()) >= 3 and inbox.snapshots())
    finally:
        poller.stop()
    assert len({s.data_version for s in snapshots}) == 1
    assert snapshots[0].taken_at < snapshots[-1].taken_at


def test_a_flood_of_snapshots_collapses_to_the_latest(project: Project) -> None:
    with project.connection() as conn:
        older, newer = StorePoller.SnapshotReady(read(conn, "p")), StorePoller.SnapshotReady(
            read(conn, "p"))
    assert older.can_replace(newer)
    assert not older.can_replace(StorePoller.ReadFailed("x"))
