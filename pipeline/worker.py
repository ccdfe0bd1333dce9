"""`swapdeck worker PROJECT`: claim jobs from the store and run them, one at a time.

The worker is the only process that computes. It heartbeats, requeues the jobs of workers
that died, stops cleanly on SIGTERM (finishing the current unit of work) and survives any
bad input: a job that fails records a one-line reason and the loop takes the next one.
"""
from __future__ import annotations

import argparse
import logging
import os
import shutil
import signal
import sqlite3
import sys
import threading
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import pipeline.job_kinds  # noqa: F401 - registers every job kind
from pipeline.atomic_files import is_disk_full
from pipeline.context import JobContext
from pipeline.errors import JobCancelled, JobError, WorkerStopping
from pipeline.eventlog import job_logger, setup_logging
from pipeline.registry import UnknownJobKindError, job_function, known_kinds
from pipeline.temp_sweep import sweep_temps
from pipeline.watch import InboxWatcher
from store import jobs, workers
from store.jobs import Job, JobStatus
from store.files.contained import UnsafePathError
from store.files.inline_images import OversizedImageError
from store.project import Project, ProjectError, open_project

IDLE_POLL_S = 0.5
BUSY_RETRIES = 5
ORPHAN_SWEEP_EVERY_BEATS = 5
EXIT_ALREADY_RUNNING = 3
T = TypeVar("T")


@dataclass(frozen=True)
class WorkerOptions:
    kinds: tuple[str, ...] | None = None
    exit_when_idle: bool = False
    watch_inbox: bool = True


class Worker:
    def __init__(self, project: Project, options: WorkerOptions) -> None:
        self.project = project
        self.options = options
        self.conn = project.connect()
        self.stop_event = threading.Event()
        self.logger = setup_logging(project, "worker")
        self.worker_id: int | None = None
        self._current_job: int | None = None
        self._beat_thread: threading.Thread | None = None
        self._inbox: InboxWatcher | None = None

    @property
    def kinds(self) -> tuple[str, ...]:
        return self.options.kinds or known_kinds()

    def run(self) -> None:
        self.worker_id, requeued, failed = workers.register(self.conn, self.options.kinds)
        self.logger.info("worker %d started (pid %d), taking %s", self.worker_id,
                         os.getpid(), ", ".join(self.kinds))
        for job_id in requeued:
            self.logger.warning("job %d requeued: the worker running it died", job_id,
                                extra={"job_id": job_id})
        for job_id in failed:
            self.logger.error("job %d failed: its worker died %d times in a row without "
                              "getting further", job_id, jobs.MAX_STALLED_DEATHS,
                              extra={"job_id": job_id})
        swept = sweep_temps(self.project)   # before this process writes anything
        if swept.count or swept.failed:
            self.logger.info("%s", swept.describe())
        self._beat_thread = threading.Thread(target=self._beat, name="heartbeat", daemon=True)
        self._beat_thread.start()
        if self.options.watch_inbox and "ingest" in self.kinds:
            self._inbox = InboxWatcher(self.project, self.project.inbox, self.logger)
            self._inbox.start()
        try:
            self._loop()
        finally:
            self.stop_event.set()
            if self._inbox:
                self._inbox.stop()
            self._beat_thread.join(timeout=workers.HEARTBEAT_INTERVAL_S * 2)
            workers.sign_off(self.conn, self.worker_id)
            self.logger.info("worker %d stopped", self.worker_id)
            self.conn.close()

    def request_stop(self) -> None:
        self.stop_event.set()

    def _retrying(self, what: str, action: Callable[[], T]) -> T:
        """Run a queue write again when the store stays busy past its timeout (a starved
        machine): the worker must outlive a lock held too long, not die of it."""
        for attempt in range(1, BUSY_RETRIES + 1):
            try:
                return action()
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) and "busy" not in str(exc):
                    raise
                self.logger.warning("%s: store busy (%s), try %d of %d", what, exc, attempt,
                                    BUSY_RETRIES)
                self.stop_event.wait(attempt * 0.5)
        return action()

    def _loop(self) -> None:
        while not self.stop_event.is_set():
            job = self._retrying("claiming a job",
                                 lambda: jobs.claim(self.conn, self.worker_id, self.kinds))
            if job is None:
                if self.options.exit_when_idle:
                    return
                self.stop_event.wait(IDLE_POLL_S)
                continue
            self._run_job(job)

    def _run_job(self, job: Job) -> None:
        log = job_logger(self.logger, job.id)
        self._current_job = job.id
        ctx = JobContext(self.project, self.conn, job.id, self.stop_event, log)
        log.info("job %d (%s) started, attempt %d (%d deaths in a row without progress)",
                 job.id, job.kind, job.attempts, job.stalled_deaths)
        try:
            result = job_function(job.kind)(ctx, job.params)
        except WorkerStopping:
            self._retrying("releasing a job", lambda: jobs.release(
                self.conn, job.id, "interrupted: the worker stopped; will resume"))
            log.info("job %d interrupted by worker stop; back in the queue", job.id)
        except JobCancelled:
            self._retrying("finishing a job", lambda: jobs.finish(
                self.conn, job.id, JobStatus.CANCELLED, message="cancelled"))
            log.info("job %d cancelled", job.id)
        except (JobError, UnknownJobKindError, UnsafePathError, OversizedImageError) as exc:
            self._fail(job, log, _one_line(exc))
        except Exception as exc:  # noqa: BLE001 - bad input must never kill the worker
            traceback.print_exc()
            reason = disk_full_reason(exc, self.project, job.kind)
            self._fail(job, log, reason or
                       f"internal error: {type(exc).__name__}: {_one_line(exc)}")
        else:
            result = result or {}
            self._retrying("finishing a job", lambda: jobs.finish(
                self.conn, job.id, JobStatus.DONE, message=result.get("message", "done"),
                result=result))
            log.info("job %d done: %s", job.id, result.get("message", "done"))
        finally:
            self._current_job = None

    def _fail(self, job: Job, log: logging.LoggerAdapter, reason: str) -> None:
        self._retrying("finishing a job", lambda: jobs.finish(
            self.conn, job.id, JobStatus.FAILED, message="failed", error=reason))
        log.error("job %d failed: %s", job.id, reason)

    def _beat(self) -> None:
        """Heartbeat on a connection of its own; also notices stop requests and dead workers."""
        conn = self.project.connect()
        beats = 0
        try:
            while not self.stop_event.wait(workers.HEARTBEAT_INTERVAL_S):
                beats += 1
                try:
                    if workers.heartbeat(conn, self.worker_id, self._current_job):
                        self.logger.info("stop requested from the store")
                        self.stop_event.set()
                    if beats % ORPHAN_SWEEP_EVERY_BEATS == 0:
                        workers.requeue_dead_workers_jobs(conn)
                except sqlite3.OperationalError as exc:
                    self.logger.warning("heartbeat skipped: %s", exc)
        finally:
            conn.close()


MAX_ERROR_CHARS = 400


def disk_full_reason(exc: BaseException, project: Project, kind: str) -> str | None:
    """"disk full", what was being written and how much room is left, when `exc` (or an
    error it was raised from) is a full disk or quota; None otherwise."""
    seen: set[int] = set()
    cause: BaseException | None = exc
    while cause is not None and id(cause) not in seen:
        seen.add(id(cause))
        if isinstance(cause, sqlite3.OperationalError) and (
                getattr(cause, "sqlite_errorcode", None) == sqlite3.SQLITE_FULL
                or "database or disk is full" in str(cause)):
            what, where = f"the store {project.db_path}", project.root
            break
        if is_disk_full(cause):
            filename = getattr(cause, "filename", None)
            what = str(filename) if filename else f"the {kind} job's files"
            where = Path(filename).parent if filename else project.root
            break
        cause = cause.__cause__ or cause.__context__
    else:
        return None
    try:
        room = f"{shutil.disk_usage(where).free / 1e6:.1f} MB free there"
    except OSError:
        room = "free space unknown"
    return (f"disk full while writing {what} ({room}); what was saved before is intact: free "
            "some space, then retry the job (swapdeck jobs retry)")


def _one_line(exc: BaseException) -> str:
    """The exception as one line a person can read (the traceback is in worker.log)."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= MAX_ERROR_CHARS else text[:MAX_ERROR_CHARS - 3] + "..."


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="swapdeck worker", description=__doc__.splitlines()[0])
    parser.add_argument("project", help="the project folder")
    parser.add_argument("--kinds", help="comma-separated job kinds to take (default: all); with "
                        "this, the worker may run beside another one")
    parser.add_argument("--exit-when-idle", action="store_true",
                        help="exit once the queue holds no job this worker can take")
    parser.add_argument("--no-inbox", action="store_true",
                        help="do not watch PROJECT/inbox for dropped media")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    kinds = tuple(k.strip() for k in args.kinds.split(",") if k.strip()) if args.kinds else None
    unknown = sorted(set(kinds or ()) - set(known_kinds()))
    if unknown:
        print(f"swapdeck worker: unknown job kind(s): {', '.join(unknown)} "
              f"(known: {', '.join(known_kinds())})", file=sys.stderr)
        return 2
    try:
        project = open_project(args.project)
        worker = Worker(project, WorkerOptions(kinds, args.exit_when_idle, not args.no_inbox))
        signal.signal(signal.SIGTERM, lambda *_: worker.request_stop())
        signal.signal(signal.SIGINT, lambda *_: worker.request_stop())
        worker.run()
    except ProjectError as exc:
        print(f"swapdeck worker: {exc}", file=sys.stderr)
        return 2
    except workers.WorkerAlreadyRunningError as exc:
        print(f"swapdeck worker: {exc}", file=sys.stderr)
        return EXIT_ALREADY_RUNNING
    except (sqlite3.OperationalError, OSError) as exc:   # a disk full before any job ran
        reason = disk_full_reason(exc, Project(Path(args.project).expanduser().absolute()),
                                  "worker")
        if reason is None:
            raise
        print(f"swapdeck worker: {reason}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
