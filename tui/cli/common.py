"""What every `swapdeck` subcommand shares: its error, JSON output and job queueing."""
from __future__ import annotations

import argparse
import json
import sqlite3
import sys
import time

from store import jobs, pixel_limit, sources
from store.jobs import FINISHED, JobStatus
from store.pixel_limit import DEFAULT_MAX_PIXELS
from store.project import Project
from tui.format import describe_job, params_target
from tui.launcher import ensure_worker
from tui.printable import printable

JSON_SCHEMA = 2
# what ArgumentParser.add_subparsers() returns: argparse gives its class no public name
Commands = argparse._SubParsersAction
WAIT_POLL_S = 0.25
PROGRESS_EVERY_S = 5.0


class CliError(Exception):
    """A one-line message for the user; exit status 2."""


def resolve_source(conn: sqlite3.Connection, reference: str) -> sources.Source:
    """A source by id or by the path it was added from; CliError when there is none."""
    try:
        return sources.resolve(conn, reference)
    except sources.SourceNotFoundError as exc:
        raise CliError(str(exc)) from None


def resolve_source_ids(conn: sqlite3.Connection, references: list[str]) -> list[int]:
    return [resolve_source(conn, reference).id for reference in references]


def print_json(document: dict) -> None:
    json.dump(document, sys.stdout, indent=2, sort_keys=True)
    sys.stdout.write("\n")


def add_queue_options(parser: argparse.ArgumentParser) -> None:
    """The options of every command that queues jobs (read by `queue`)."""
    parser.add_argument("--wait", action="store_true",
                        help="wait until the jobs finish and print their results")
    parser.add_argument("--no-worker", action="store_true",
                        help="only queue the jobs; do not start a worker")


def queue(project: Project, conn, kind: str, params: list[dict],
          args: argparse.Namespace, show_progress: bool = False) -> int:
    """Queue the jobs, say so, start a worker unless --no-worker, and --wait for them
    (printing their progress messages as they change when `show_progress`)."""
    job_ids = jobs.enqueue_many(conn, kind, params)
    for job_id, p in zip(job_ids, params):
        print(printable(f"queued {kind} job {job_id}: {params_target(p)}"))
    if not args.no_worker:
        start_worker_if_needed(project)
    return wait_for(conn, job_ids, show_progress=show_progress) if args.wait else 0


def start_worker_if_needed(project: Project) -> None:
    with project.connection() as conn:
        pid = ensure_worker(project, conn)
    if pid is not None:
        print(printable(f"started a background worker (pid {pid}); its log: "
                        f"{project.root / 'worker.log'}"),
              file=sys.stderr)


def wait_for(conn, job_ids: list[int], show_progress: bool = False) -> int:
    pending = set(job_ids)
    failed = 0
    shown: dict[int, tuple[str, float]] = {}
    while pending:
        for job_id in sorted(pending):
            job = jobs.get(conn, job_id)
            if job.status in FINISHED:
                pending.discard(job_id)
                print(printable(describe_job(job)))
                failed += job.status != JobStatus.DONE
            elif show_progress and job.message:
                _show_progress(job, shown)
        if pending:
            time.sleep(WAIT_POLL_S)
    return 1 if failed else 0


def _show_progress(job: jobs.Job, shown: dict[int, tuple[str, float]]) -> None:
    """Print a job's message when it changed, at most every PROGRESS_EVERY_S."""
    message, printed_at = shown.get(job.id, ("", 0.0))
    now = time.monotonic()
    if job.message != message and now - printed_at >= PROGRESS_EVERY_S:
        shown[job.id] = (job.message, now)
        print(printable(f"job {job.id}: {job.message}"), flush=True)


def add_max_mpx_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--max-mpx", type=float, metavar="MPX",
        help="set the project's limit on image (and video frame) size in megapixels, kept for "
             "later jobs: larger images are refused before they are decoded, since a small "
             f"file can decode to gigabytes (default {pixel_limit.mpx(DEFAULT_MAX_PIXELS)}, "
             f"at most {pixel_limit.CEILING_PIXELS // 1_000_000})")


def set_max_mpx(conn, args: argparse.Namespace) -> None:
    """Store --max-mpx as the project's pixel limit, when given."""
    if args.max_mpx is None:
        return
    try:
        pixels = pixel_limit.put_mpx(conn, args.max_mpx)
    except pixel_limit.PixelLimitError as exc:
        raise CliError(str(exc)) from None
    print(f"images above {pixel_limit.mpx(pixels)} are now refused in this project")
