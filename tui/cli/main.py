"""The `swapdeck` command line: every TUI action has a twin here, for scripts over SSH.

`--json` output is stable and documented in docs/cli-json.md.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from store import events, jobs, workers

from store.views import snapshot
from store.errors import RequestError
from store.jobs import JobStatus
from store.origin import origin
from store.requests.ingest import checked_ingest_params
from store.project import ProjectError, create_project, open_or_create, open_project
from tui.cli.common import (JSON_SCHEMA, CliError, Commands, add_max_mpx_option,
                            add_queue_options, print_json, queue, set_max_mpx,
                            start_worker_if_needed)
from tui.cli.alignments import COMMANDS as ALIGNMENT_COMMANDS
from tui.cli.alignments import add_alignments_parser
from tui.cli.convert import COMMANDS as CONVERT_COMMANDS
from tui.cli.convert import add_convert_parsers
from tui.cli.curate import COMMANDS as CURATE_COMMANDS
from tui.cli.curate import add_curation_parsers
from tui.cli.extract import COMMANDS as EXTRACT_COMMANDS
from tui.cli.extract import add_extract_parser
from tui.cli.interop import COMMANDS as INTEROP_COMMANDS
from tui.cli.interop import add_interop_parsers
from tui.cli.jobs import ACTIONS as JOB_ACTIONS
from tui.cli.jobs import COMMANDS as JOB_ACTION_COMMANDS
from tui.cli.jobs import build_action_parser, held_note, list_held
from tui.cli.lr_find import add_lr_find_parser, cmd_lr_find
from tui.cli.masks import COMMANDS as MASK_COMMANDS
from tui.cli.masks import add_masks_parser, flag_form
from tui.cli.model_export import COMMANDS as MODEL_EXPORT_COMMANDS
from tui.cli.model_export import add_model_export_parser
from tui.cli.sessions import COMMANDS as SESSION_COMMANDS
from tui.cli.sessions import add_session_parsers
from tui.cli.train import COMMANDS as TRAIN_COMMANDS
from tui.cli.train import add_train_parsers, stop_session
from tui.format import cancel_outcome, describe_job, describe_source, describe_worker
from tui.launcher import python_module_command, start_detached_worker
from tui.printable import printable
from tui.thumbs import RENDERER_HELP, RENDERERS, prepare_terminal

FOLLOW_POLL_S = 0.5
# Commands that run pipeline code: handed to their own module so this one stays light.
PIPELINE_COMMANDS = {"worker": "pipeline.worker", "watch": "pipeline.watch",
                     "models": "pipeline.extract.models_command",
                     "verify": "pipeline.convert.verify"}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="swapdeck",
        description="A keyboard-first workbench for training face-swap models. "
                    "Use it only on people who have agreed to it.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND",
                                     help="what to do (swapdeck COMMAND --help for more)")
    _add_project_parsers(commands)
    _add_queue_parsers(commands)
    _add_pipeline_parsers(commands)
    add_extract_parser(commands)
    add_curation_parsers(commands)
    add_interop_parsers(commands)
    add_alignments_parser(commands)
    add_train_parsers(commands)
    add_lr_find_parser(commands)
    add_session_parsers(commands)
    add_convert_parsers(commands)
    add_model_export_parser(commands)
    add_masks_parser(commands)
    return parser


def _add_project_parsers(commands: Commands) -> None:
    new = commands.add_parser("new", help="create a project folder")
    new.add_argument("path", help="a new or empty folder to hold the project")

    open_ = commands.add_parser("open", help="open the TUI on a project (created if new)")
    open_.add_argument("path", help="the project folder")
    open_.add_argument("--no-worker", action="store_true",
                       help="do not start a background worker if none is running")
    open_.add_argument("--thumbnails", choices=RENDERERS,
                       help=f"{RENDERER_HELP} (default: the config file's, else auto)")
    commands.add_parser("keys", help="print every key of the TUI, screen by screen, as "
                                     "Markdown tables (with the ids to remap them)")

    add = commands.add_parser("add", help="add videos, images or folders of images")
    add.add_argument("project", help="the project folder")
    add.add_argument("media", nargs="+", help="video files, image files or folders of images")
    add.add_argument("--label", default="", help="a name shown instead of the file name")
    add_max_mpx_option(add)
    add_queue_options(add)

    status = commands.add_parser("status", help="sources, worker and job queue at a glance")
    status.add_argument("project", help="the project folder")
    status.add_argument("--json", action="store_true", help="print the stable JSON document")



def _add_queue_parsers(commands: Commands) -> None:
    jobs_ = commands.add_parser(
        "jobs", help="list jobs, newest first; swapdeck jobs release|cancel|retry PROJECT ... "
                     "to act on them (see swapdeck jobs release --help)",
        epilog="Also: swapdeck jobs release PROJECT JOB...|--all (run held jobs), "
               "swapdeck jobs cancel PROJECT JOB...|--all-held, swapdeck jobs retry PROJECT JOB.")
    jobs_.add_argument("project", help="the project folder")
    jobs_.add_argument("--json", action="store_true", help="print the stable JSON document")
    jobs_.add_argument("--limit", type=int, default=50, help="how many jobs (default 50)")
    jobs_.add_argument("--status", help="only these statuses, comma-separated "
                                        "(queued, running, done, failed, cancelled)")
    jobs_.add_argument("--held", action="store_true",
                       help="only the held jobs (queued on another machine, or before the "
                            "project folder moved), each with what it would read and write")

    cancel = commands.add_parser("cancel", help="cancel jobs (a running one stops at its next "
                                                "unit of work)")
    cancel.add_argument("project", help="the project folder")
    cancel.add_argument("job", nargs="+", type=int, help="job ids")

    log = commands.add_parser("log", help="print the event log")
    log.add_argument("project", help="the project folder")
    log.add_argument("-f", "--follow", action="store_true", help="keep printing new events")
    log.add_argument("-n", "--lines", type=int, default=40, help="how many recent events (40)")
    log.add_argument("--job", type=int, help="only the events of this job")

    stop = commands.add_parser("stop", help="ask the project's workers to finish their current "
                                            "unit of work and exit; or, given a session, "
                                            "stop its training (it saves first)")
    stop.add_argument("project", help="the project folder")
    stop.add_argument("session", nargs="?",
                      help="a training session (id or name): stop only its train job")


def _add_pipeline_parsers(commands: Commands) -> None:
    """Commands run by pipeline modules, which parse their own arguments."""
    commands.add_parser("worker", help="run the worker in this terminal, or in the background "
                                       "with --detach (see swapdeck worker --help)",
                        add_help=False)
    commands.add_parser("watch", help="add what is dropped into a folder "
                                      "(see swapdeck watch --help)", add_help=False)

    commands.add_parser("verify", help="say whether a file carries swapdeck's synthetic-media "
                                       "mark and what it says (see swapdeck verify --help)",
                        add_help=False)

    commands.add_parser("models", help="list extraction backends and whether their model files "
                                       "are here (see swapdeck models --help)", add_help=False)


def main(argv: Sequence[str] | None = None) -> int:
    argv = flag_form(list(sys.argv[1:] if argv is None else argv))
    if argv and argv[0] in PIPELINE_COMMANDS:
        return _exec_pipeline(argv[0], argv[1:])
    if argv[:1] == ["jobs"] and argv[1:2] and argv[1] in JOB_ACTIONS:
        args = build_action_parser().parse_args(argv[1:])
        args.command = f"jobs {args.action}"
        command = JOB_ACTION_COMMANDS[args.action]
    else:
        args = build_parser().parse_args(argv)
        command = COMMANDS[args.command]
    try:
        return command(args)
    except (CliError, RequestError, ProjectError, jobs.JobNotFoundError) as exc:
        print(f"swapdeck {args.command}: {printable(str(exc))}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # `swapdeck log | head`: the reader left; say nothing more
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141


def _exec_pipeline(command: str, rest: list[str]) -> int:
    if command == "worker" and "--detach" in rest:
        rest = [a for a in rest if a != "--detach"]
        if not rest or rest[0].startswith("-"):
            print("swapdeck worker: name the project folder", file=sys.stderr)
            return 2
        project = open_project(rest[0])
        print(f"worker started (pid {start_detached_worker(project, *rest[1:])})")
        return 0
    if command == "watch" and rest and not rest[0].startswith("-"):
        try:
            start_worker_if_needed(open_project(rest[0]))
        except ProjectError as exc:
            print(f"swapdeck watch: {exc}", file=sys.stderr)
            return 2
    os.execv(sys.executable, python_module_command(PIPELINE_COMMANDS[command], *rest))
    return 0  # pragma: no cover - execv does not return


def cmd_new(args: argparse.Namespace) -> int:
    project = create_project(Path(args.path))
    print(printable(f"created project {project.root}"))
    return 0


def cmd_open(args: argparse.Namespace) -> int:
    project = open_or_create(Path(args.path))
    from tui.app import SwapdeckApp, calm_collector  # the only command that needs Textual

    prepare_terminal()
    calm_collector()
    SwapdeckApp(project, start_worker=not args.no_worker, thumbnails=args.thumbnails).run()
    return 0


def cmd_keys(args: argparse.Namespace) -> int:
    from tui.keys_table import markdown  # loads Textual and every screen

    print(markdown(), end="")
    return 0


def cmd_add(args: argparse.Namespace) -> int:
    project = open_project(args.project)
    params = [checked_ingest_params(Path(m), args.label) for m in args.media]
    with project.connection() as conn:
        set_max_mpx(conn, args)
        return queue(project, conn, "ingest", params, args)


def cmd_status(args: argparse.Namespace) -> int:
    project = open_project(args.project)
    with project.connection() as conn:
        snap = snapshot.read(conn, str(project.root))
    if args.json:
        print_json(snap.to_json())
        return 0
    print(printable(f"project {snap.project}"))
    print(f"worker: {describe_worker(snap.worker, snap.taken_at, snap.launch)}")
    print(f"sources ({len(snap.sources)}):")
    for source in snap.sources:
        changed = "  CHANGED ON DISK" if source.id in snap.changed_sources else ""
        print(printable(f"  {describe_source(source)}{changed}"))
    counts = ", ".join(f"{n} {s.label}" for s, n in snap.job_counts.items())
    print(f"jobs: {counts}")
    if snap.held:
        print(printable(held_note(len(snap.held), args.project)))
    for job in snap.jobs:
        if job.status in (JobStatus.QUEUED, JobStatus.RUNNING, JobStatus.FAILED):
            print(printable(f"  {describe_job(job, snap.is_held(job))}"))
    return 0


def cmd_jobs(args: argparse.Namespace) -> int:
    project = open_project(args.project)
    if args.held:
        return list_held(project, args.json)
    statuses = None
    if args.status:
        try:
            statuses = [JobStatus[s.strip().upper()] for s in args.status.split(",")]
        except KeyError as exc:
            raise CliError(f"unknown status {exc.args[0].lower()!r}") from None
    with project.connection() as conn:
        listed = jobs.list_jobs(conn, statuses=statuses, limit=args.limit)
        here = origin(conn)
    if args.json:
        print_json({"schema": JSON_SCHEMA,
                    "jobs": [{**j.to_json(), "held": j.held_at(here)} for j in listed]})
    else:
        for job in listed:
            print(printable(describe_job(job, job.held_at(here))))
    return 0


def cmd_cancel(args: argparse.Namespace) -> int:
    project = open_project(args.project)
    with project.connection() as conn:
        for job_id in args.job:
            print(cancel_outcome(job_id, jobs.request_cancel(conn, job_id)))
    return 0


def cmd_log(args: argparse.Namespace) -> int:
    project = open_project(args.project)
    with project.connection() as conn:
        shown = events.recent(conn, args.lines)
        last_id = shown[-1].id if shown else 0
        _print_events(shown, args.job)
        while args.follow:
            time.sleep(FOLLOW_POLL_S)
            fresh = events.after(conn, last_id)
            if fresh:
                last_id = fresh[-1].id
                _print_events(fresh, args.job)
    return 0


def _print_events(shown: list[events.Event], job_id: int | None) -> None:
    for event in shown:
        if job_id is None or event.job_id == job_id:
            print(printable(event.format()), flush=True)


def cmd_stop(args: argparse.Namespace) -> int:
    project = open_project(args.project)
    with project.connection() as conn:
        if args.session is not None:
            print(stop_session(conn, args.session))
            return 0
        stopped = workers.request_stop(conn)
    if not stopped:
        print("no worker is running")
    for worker in stopped:
        print(f"asked worker {worker.id} (pid {worker.pid}) to stop")
    return 0


COMMANDS = {
    "new": cmd_new,
    "open": cmd_open,
    "keys": cmd_keys,
    "add": cmd_add,
    "status": cmd_status,
    "jobs": cmd_jobs,
    "cancel": cmd_cancel,
    "log": cmd_log,
    "stop": cmd_stop,
    **EXTRACT_COMMANDS,
    **CURATE_COMMANDS,
    **INTEROP_COMMANDS,
    **ALIGNMENT_COMMANDS,
    **TRAIN_COMMANDS,
    "lr-find": cmd_lr_find,
    **SESSION_COMMANDS,
    **CONVERT_COMMANDS,
    **MODEL_EXPORT_COMMANDS,
    **MASK_COMMANDS,
}
