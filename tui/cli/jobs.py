"""`swapdeck jobs PROJECT --held` and `swapdeck jobs release|cancel|retry`: the jobs a received
project brought, what each would read and write, and the user's say over them.

A job queued on another machine, or in this folder before it moved, is held (store.jobs):
the worker does not take it until it is released here.
"""
from __future__ import annotations

import argparse
import shlex
import sqlite3

from store import jobs
from store.views.job_targets import HeldJob, held_jobs
from store.project import Project, open_project
from tui.cli.common import (JSON_SCHEMA, CliError, add_queue_options, print_json,
                            start_worker_if_needed, wait_for)
from tui.format import cancel_outcome
from tui.printable import printable

ACTIONS = ("release", "cancel", "retry")


def held_note(count: int, project: str) -> str:
    """The line `swapdeck status` prints when jobs are held."""
    jobs_held = "1 job held" if count == 1 else f"{count} jobs held"
    return (f"{jobs_held}: queued on another machine or before this folder moved; review with "
            f"`swapdeck jobs {shlex.quote(project)} --held`")


def build_action_parser() -> argparse.ArgumentParser:
    """The parser of `swapdeck jobs ACTION ...` (`swapdeck jobs PROJECT` lists jobs)."""
    parser = argparse.ArgumentParser(
        prog="swapdeck jobs",
        description="Release, cancel or retry jobs. A project whose folder is named like an "
                    "action is given as ./release (or its full path).")
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION",
                                    help="what to do with the jobs")

    release = actions.add_parser(
        "release", help="let the worker run held jobs (queued on another machine, or before "
                        "the project folder moved); check first with swapdeck jobs PROJECT --held")
    release.add_argument("project", help="the project folder")
    chosen = release.add_mutually_exclusive_group(required=True)
    chosen.add_argument("job", nargs="*", type=int, default=[], help="held job ids")
    chosen.add_argument("--all", action="store_true", help="release every held job")
    add_queue_options(release)

    cancel = actions.add_parser(
        "cancel", help="cancel jobs, held or not (a running one stops at its next unit of work)")
    cancel.add_argument("project", help="the project folder")
    chosen = cancel.add_mutually_exclusive_group(required=True)
    chosen.add_argument("job", nargs="*", type=int, default=[], help="job ids")
    chosen.add_argument("--all-held", action="store_true", help="cancel every held job")

    retry = actions.add_parser(
        "retry", help="queue a failed or cancelled job again, as a new job with its settings "
                      "(what it had done is kept)")
    retry.add_argument("project", help="the project folder")
    retry.add_argument("job", type=int, help="the failed or cancelled job's id")
    add_queue_options(retry)
    return parser


def list_held(project: Project, as_json: bool) -> int:
    """Print the held jobs, each with where it was queued and what it would touch."""
    with project.connection() as conn:
        held = held_jobs(conn, project.root)
    if as_json:
        print_json({"schema": JSON_SCHEMA, "jobs": [h.to_json() for h in held]})
        return 0
    if not held:
        print("no held jobs: every queued job was queued here")
        return 0
    for entry in held:
        print("\n".join(map(printable, describe_held(entry))))
    where = printable(shlex.quote(str(project.root)))
    print(f"release: swapdeck jobs release {where} JOB... (or --all); "
          f"cancel: swapdeck jobs cancel {where} JOB... (or --all-held)")
    return 0


def describe_held(entry: HeldJob) -> list[str]:
    """A held job in a few lines: id, kind and origin; then what it reads and writes
    (names as they are: the caller escapes them)."""
    targets = entry.targets
    lines = [f"{entry.job.id:>5} {entry.job.kind:<8} queued on {entry.where}"]
    lines += [f"        {verb} {target.text}"
              for verb, found in (("reads", targets.reads), ("writes", targets.writes))
              for target in found]
    if targets.note:
        lines.append(f"        {targets.note}")
    return lines


def cmd_release(args: argparse.Namespace) -> int:
    project = open_project(args.project)
    with project.connection() as conn:
        held = {entry.job.id: entry for entry in held_jobs(conn, project.root)}
        wanted = list(held) if args.all else args.job
        if not wanted:
            print("no held jobs to release")
            return 0
        released = set(jobs.release_held(conn, wanted))
        for job_id in wanted:
            print(printable(_released(conn, job_id, held.get(job_id))) if job_id in released
                  else f"job {job_id} is not held ({jobs.get(conn, job_id).status.label})")
        if released and not args.no_worker:
            start_worker_if_needed(project)
        return wait_for(conn, sorted(released)) if args.wait and released else 0


def _released(conn: sqlite3.Connection, job_id: int, entry: HeldJob | None) -> str:
    kind = entry.job.kind if entry else jobs.get(conn, job_id).kind
    what = f": {entry.targets.summary()}" if entry else ""
    return f"released {kind} job {job_id}{what}"


def cmd_cancel(args: argparse.Namespace) -> int:
    project = open_project(args.project)
    with project.connection() as conn:
        wanted = [h.job.id for h in held_jobs(conn, project.root)] if args.all_held else args.job
        if not wanted:
            print("no held jobs to cancel")
        for job_id in wanted:
            print(cancel_outcome(job_id, jobs.request_cancel(conn, job_id)))
    return 0


def cmd_retry(args: argparse.Namespace) -> int:
    project = open_project(args.project)
    with project.connection() as conn:
        try:
            job_id = jobs.retry(conn, args.job)
        except ValueError as exc:
            raise CliError(str(exc)) from None
        print(printable(f"queued {jobs.get(conn, job_id).kind} job {args.job} again as job "
                        f"{job_id}"))
        if not args.no_worker:
            start_worker_if_needed(project)
        return wait_for(conn, [job_id]) if args.wait else 0


COMMANDS = {"release": cmd_release, "cancel": cmd_cancel, "retry": cmd_retry}
