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

from store import events, faces, jobs, pixel_limit, sources, workers

from store.views import snapshot
from store.errors import RequestError
from store.requests.extract import ALIGNERS, DETECTORS, ExtractSettings, extract_jobs
from store.requests.extract import HELP as EXTRACT_HELP
from store.jobs import JobStatus
from store.pixel_limit import DEFAULT_MAX_PIXELS
from store.origin import origin
from store.requests.ingest import ingest_params
from store.project import ProjectError, create_project, open_or_create, open_project
from tui.cli.common import (JSON_SCHEMA, CliError, add_queue_options, print_json, queue,
                            start_worker_if_needed)
from tui.cli.convert import COMMANDS as CONVERT_COMMANDS
from tui.cli.convert import add_convert_parsers
from tui.cli.curate import COMMANDS as CURATE_COMMANDS
from tui.cli.curate import add_curation_parsers
from tui.cli.jobs import ACTIONS as JOB_ACTIONS
from tui.cli.jobs import COMMANDS as JOB_ACTION_COMMANDS
from tui.cli.jobs import build_action_parser, held_note, list_held
from tui.cli.lr_find import add_lr_find_parser, cmd_lr_find
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

    new = commands.add_parser("new", help="create a project folder")
    new.add_argument("path", help="a new or empty folder to hold the project")

    open_ = commands.add_parser("open", help="open the TUI on a project (created if new)")
    open_.add_argument("path", help="the project folder")
    open_.add_argument("--no-worker", action="store_true",
                       help="do not start a background worker if none is running")
    open_.add_argument("--thumbnails", choices=RENDERERS,
                       help=f"{RENDERER_HELP} (default: the config file's, else auto)")

    add = commands.add_parser("add", help="add videos, images or folders of images")
    add.add_argument("project", help="the project folder")
    add.add_argument("media", nargs="+", help="video files, image files or folders of images")
    add.add_argument("--label", default="", help="a name shown instead of the file name")
    add_max_mpx_option(add)
    add_queue_options(add)

    status = commands.add_parser("status", help="sources, worker and job queue at a glance")
    status.add_argument("project", help="the project folder")
    status.add_argument("--json", action="store_true", help="print the stable JSON document")

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

    commands.add_parser("worker", help="run the worker in this terminal, or in the background "
                                       "with --detach (see swapdeck worker --help)",
                        add_help=False)
    commands.add_parser("watch", help="add what is dropped into a folder "
                                      "(see swapdeck watch --help)", add_help=False)

    commands.add_parser("verify", help="say whether a file carries swapdeck's synthetic-media "
                                       "mark and what it says (see swapdeck verify --help)",
                        add_help=False)

    _add_extract_parser(commands)
    add_curation_parsers(commands)
    add_train_parsers(commands)
    add_lr_find_parser(commands)
    add_session_parsers(commands)
    add_convert_parsers(commands)
    commands.add_parser("models", help="list extraction backends and whether their model files "
                                       "are here (see swapdeck models --help)", add_help=False)

    stop = commands.add_parser("stop", help="ask the project's workers to finish their current "
                                            "unit of work and exit; or, given a session, "
                                            "stop its training (it saves first)")
    stop.add_argument("project", help="the project folder")
    stop.add_argument("session", nargs="?",
                      help="a training session (id or name): stop only its train job")
    return parser


def _add_extract_parser(commands: argparse._SubParsersAction) -> None:
    defaults = ExtractSettings()
    extract = commands.add_parser("extract", help="find, align and describe the faces of sources")
    extract.add_argument("project", help="the project folder")
    extract.add_argument("sources", nargs="*", metavar="SOURCE",
                         help="source ids or the paths they were added from")
    extract.add_argument("--all", action="store_true", help="every source of the project")
    extract.add_argument("--every-n", type=int, default=defaults.every_n,
                         help=f"{EXTRACT_HELP['every_n']} (default {defaults.every_n})")
    extract.add_argument("--detector", choices=DETECTORS, default=defaults.detector,
                         help=EXTRACT_HELP["detector"])
    extract.add_argument("--aligner", choices=ALIGNERS, default=defaults.aligner,
                         help=EXTRACT_HELP["aligner"])
    extract.add_argument("--size", type=int, default=defaults.size,
                         help=f"{EXTRACT_HELP['size']} (default {defaults.size})")
    extract.add_argument("--min-size", type=float, default=defaults.min_size,
                         help=f"{EXTRACT_HELP['min_size']} (default {defaults.min_size:g})")
    extract.add_argument("--filter", nargs="+", default=[], metavar="IMG",
                         help=EXTRACT_HELP["filter"])
    extract.add_argument("--nfilter", nargs="+", default=[], metavar="IMG",
                         help=EXTRACT_HELP["nfilter"])
    extract.add_argument("--threshold", type=float, default=defaults.threshold,
                         help=f"{EXTRACT_HELP['threshold']} (default {defaults.threshold:g})")
    extract.add_argument("--masks", default=",".join(defaults.masks),
                         help=f"{EXTRACT_HELP['masks']} (default: all)")
    extract.add_argument("--skip-existing", action="store_true",
                         help="queue nothing for sources that were extracted before")
    extract.add_argument("--force", action="store_true",
                         help="throw away a source's faces and extract it again")
    add_max_mpx_option(extract)
    add_queue_options(extract)


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


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
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
    from tui.app import SwapdeckApp  # the only command that needs Textual

    prepare_terminal()
    SwapdeckApp(project, start_worker=not args.no_worker, thumbnails=args.thumbnails).run()
    return 0


def cmd_add(args: argparse.Namespace) -> int:
    project = open_project(args.project)
    params = [ingest_params(Path(m), args.label) for m in args.media]
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
    print(f"worker: {describe_worker(snap.worker, snap.taken_at)}")
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


def extract_settings(args: argparse.Namespace) -> ExtractSettings:
    """The settings the options ask for; CliError names every problem."""
    for photo in [*args.filter, *args.nfilter]:
        if not Path(photo).expanduser().is_file():
            raise CliError(f"no such reference photo: {photo}")
    settings = ExtractSettings(
        every_n=args.every_n, detector=args.detector, aligner=args.aligner, size=args.size,
        min_size=args.min_size,
        filter=tuple(str(Path(p).expanduser().resolve()) for p in args.filter),
        nfilter=tuple(str(Path(p).expanduser().resolve()) for p in args.nfilter),
        threshold=args.threshold,
        masks=tuple(m.strip() for m in args.masks.split(",") if m.strip()),
    )
    if problems := settings.problems():
        raise CliError("; ".join(problems))
    return settings


def cmd_extract(args: argparse.Namespace) -> int:
    project = open_project(args.project)
    settings = extract_settings(args)
    with project.connection() as conn:
        set_max_mpx(conn, args)
        references = [str(s.id) for s in sources.list_sources(conn)] if args.all else args.sources
        if not references:
            raise CliError("name the sources to extract, or --all")
        params = extract_jobs(conn, references, settings, force=args.force,
                              skip_existing=args.skip_existing)
        if not params:
            print("nothing to extract: every source named was extracted before")
            return 0
        return queue(project, conn, "extract", params, args)


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
    "add": cmd_add,
    "status": cmd_status,
    "jobs": cmd_jobs,
    "cancel": cmd_cancel,
    "log": cmd_log,
    "stop": cmd_stop,
    "extract": cmd_extract,
    **CURATE_COMMANDS,
    **TRAIN_COMMANDS,
    "lr-find": cmd_lr_find,
    **SESSION_COMMANDS,
    **CONVERT_COMMANDS,
}
