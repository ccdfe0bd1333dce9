"""Watch a folder (PROJECT/inbox, or one named to `swapdeck watch`) and add what lands in it.

A dropped file is queued for ingest only once its size and modification time have stopped
changing for SETTLE_S seconds, so a video still being copied is never ingested half-written.
"""
from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers import Observer

from pipeline.eventlog import setup_logging
from store import jobs, sources
from store.jobs import JobStatus
from store.project import Project, ProjectError, open_project

SETTLE_S = 2.0
SCAN_INTERVAL_S = 0.5
PARTIAL_SUFFIXES = frozenset({".part", ".partial", ".crdownload", ".tmp", ".download", ".!qb"})


@dataclass
class _Candidate:
    signature: tuple[int, int, int]
    stable_since: float


def _ignored(path: Path) -> bool:
    return path.name.startswith(".") or path.suffix.lower() in PARTIAL_SUFFIXES


def _signature(path: Path) -> tuple[int, int, int] | None:
    """(size, mtime, file count) of a file or of a folder's direct contents; None if gone."""
    try:
        if path.is_dir():
            entries = [p.stat() for p in path.iterdir() if p.is_file()]
            return (sum(s.st_size for s in entries), max((s.st_mtime_ns for s in entries), default=0),
                    len(entries))
        stat = path.stat()
        return (stat.st_size, stat.st_mtime_ns, 1)
    except OSError:
        return None


class _Wakeup(FileSystemEventHandler):
    def __init__(self, wake: threading.Event) -> None:
        self._wake = wake

    def on_any_event(self, event: FileSystemEvent) -> None:
        self._wake.set()


class InboxWatcher:
    """Queues an ingest job for each settled top-level entry of `folder`, once."""

    def __init__(self, project: Project, folder: Path, logger: logging.Logger,
                 settle_s: float = SETTLE_S) -> None:
        self.project = project
        self.folder = folder.resolve()
        self.logger = logger
        self.settle_s = settle_s
        self._candidates: dict[Path, _Candidate] = {}
        self._queued: dict[Path, tuple[int, int, int]] = {}
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._observer = Observer()
        self._thread = threading.Thread(target=self._run, name="inbox", daemon=True)

    def start(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        self._observer.schedule(_Wakeup(self._wake), str(self.folder), recursive=True)
        self._observer.start()
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        self._observer.stop()
        self._observer.join(timeout=5)
        self._thread.join(timeout=5)

    def _run(self) -> None:
        conn = self.project.connect()
        try:
            while not self._stop.is_set():
                try:
                    self._scan(conn)
                except OSError as exc:  # the folder vanished or a file went mid-scan
                    self.logger.warning("inbox scan of %s skipped: %s", self.folder, exc)
                # Events only wake the scan early; settling is judged by polling sizes.
                self._wake.wait(SCAN_INTERVAL_S)
                self._wake.clear()
        finally:
            conn.close()

    def _scan(self, conn) -> None:
        now = time.monotonic()
        present = set()
        for path in self.folder.iterdir():
            if _ignored(path):
                continue
            present.add(path)
            signature = _signature(path)
            if signature is None or signature[2] == 0:
                continue
            candidate = self._candidates.get(path)
            if candidate is None or candidate.signature != signature:
                self._candidates[path] = _Candidate(signature, now)
                continue
            if now - candidate.stable_since >= self.settle_s and self._queued.get(path) != signature:
                self._queue(conn, path, signature)
        for gone in set(self._candidates) - present:
            del self._candidates[gone]
            self._queued.pop(gone, None)

    def _queue(self, conn, path: Path, signature: tuple[int, int, int]) -> None:
        self._queued[path] = signature
        if _already_known(conn, path):
            return
        params = {"path": str(path), "label": "", "origin": "inbox"}
        if path.is_file():
            stat = path.stat()
            params.update(size=stat.st_size, mtime_ns=stat.st_mtime_ns)
        job_id = jobs.enqueue(conn, "ingest", params)
        self.logger.info("%s settled in %s: queued ingest job %d", path.name, self.folder, job_id,
                         extra={"job_id": job_id})


def _already_known(conn, path: Path) -> bool:
    """A path already ingested unchanged, or already waiting in the queue."""
    source = sources.find_by_path(conn, str(path))
    if source is not None and source.status == "ready" and not source.changed_on_disk():
        return True
    waiting = jobs.list_jobs(conn, statuses=[JobStatus.QUEUED, JobStatus.RUNNING])
    return any(j.kind == "ingest" and j.params.get("path") == str(path) for j in waiting)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="swapdeck watch",
        description="Add every file or folder dropped into DIR to the project, once it stops "
                    "growing. Runs until Ctrl-C.")
    parser.add_argument("project", help="the project folder")
    parser.add_argument("folder", help="the folder to watch (created if missing)")
    parser.add_argument("--settle", type=float, default=SETTLE_S,
                        help=f"seconds a file's size must stay the same before it is added "
                             f"(default {SETTLE_S})")
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    try:
        project = open_project(args.project)
    except ProjectError as exc:
        print(f"swapdeck watch: {exc}", file=sys.stderr)
        return 2
    folder = Path(args.folder).expanduser()
    if folder.exists() and not folder.is_dir():
        print(f"swapdeck watch: {folder} is not a folder", file=sys.stderr)
        return 2
    logger = setup_logging(project, "watch")
    watcher = InboxWatcher(project, folder, logger, settle_s=args.settle)
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    signal.signal(signal.SIGINT, lambda *_: done.set())
    watcher.start()
    logger.info("watching %s for new media (Ctrl-C to stop)", watcher.folder)
    done.wait()
    watcher.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
