"""`swapdeck lr-find`: faceswap's learning-rate finder on a session, the twin of the Train
screen's Find LR and Use LR keys.

    swapdeck lr-find PROJECT SESSION [--iterations N] [--strength S] [--set] [--wait]
                     [--no-worker] [--json]
    swapdeck lr-find PROJECT SESSION --show [--set] [--json]

The sweep's curve is drawn with plotext; the Train screen draws it with the same function
(through textual-plotext).
"""
from __future__ import annotations

import argparse
import shutil
import sqlite3
import sys
from contextlib import nullcontext, redirect_stdout
from dataclasses import fields

import plotext

from store import jobs, lr_sweeps, sessions
from store.lr_sweeps import KIND, LrSweep, SweepRequestError, SweepSettings
from store.project import Project, open_project
from tui.cli.common import (JSON_SCHEMA, CliError, Commands, add_queue_options,
                            print_json, start_worker_if_needed, wait_for)
from tui.cli.train import resolve_session
from tui.printable import printable
from tui.sweep_plot import describe_sweep, draw_sweep

PLOT_SIZE = (80, 18)           # columns and lines when the terminal's size is unknown
OPTIONS = {option.name: option for option in fields(SweepSettings)}


def _help(name: str) -> str:
    option = OPTIONS[name]
    return f"{option.metadata['help']} (default: {option.default})".replace("%", "%%")


def _iterations(text: str) -> int:
    try:
        return SweepSettings(iterations=int(text)).iterations
    except ValueError as exc:
        message = str(exc) if text.strip().isdigit() else (f"iterations takes a whole "
                                                           f"number, not {text!r}")
        raise argparse.ArgumentTypeError(message) from None


def add_lr_find_parser(commands: Commands) -> None:
    lr_find = commands.add_parser(
        "lr-find", help="sweep a session's learning rate and suggest one (faceswap's "
                        "learning-rate finder)",
        description="Queue a learning-rate sweep of a session: its newest weights (fresh "
                    "ones for a new session) train in memory at a rate rising from 1e-10 to "
                    "0.1, and the rate at the lowest smoothed loss, divided by the "
                    "strength's divisor, is suggested. The session's model files, losses "
                    "and runs are left as they were.")
    lr_find.add_argument("project", help="the project folder")
    lr_find.add_argument("session", help="the session's id or name (swapdeck sessions lists "
                                         "them)")
    lr_find.add_argument("--iterations", type=_iterations, metavar="N",
                         default=OPTIONS["iterations"].default, help=_help("iterations"))
    lr_find.add_argument("--strength", choices=lr_sweeps.STRENGTHS,
                         default=OPTIONS["strength"].default, help=_help("strength"))
    lr_find.add_argument("--set", action="store_true", dest="set_rate",
                         help=OPTIONS["set_rate"].metadata["help"] + " With --show: the "
                              "shown sweep's suggestion, now.")
    lr_find.add_argument("--show", action="store_true",
                         help="queue nothing: show the session's newest sweep")
    lr_find.add_argument("--json", action="store_true",
                         help="print the stable JSON document (see docs/cli-json.md)")
    add_queue_options(lr_find)


def cmd_lr_find(args: argparse.Namespace) -> int:
    project = open_project(args.project)
    with project.connection() as conn:
        session = resolve_session(conn, args.session)
        if args.show:
            job, status, sweep = None, 0, _shown(conn, session, args.set_rate)
        else:
            job, status = _queue(project, conn, session, args)
            sweep = lr_sweeps.of_job(conn, job.id)
        session = sessions.get(conn, session.id)   # its learning rate, if the sweep set it
    if args.json:
        print_json({"schema": JSON_SCHEMA, "session": {"id": session.id, "name": session.name},
                    "job": job.to_json() if job else None,
                    "sweep": sweep.to_json() if sweep else None})
    elif sweep is not None:
        _print_sweep(session, sweep)
    elif args.show:
        print(printable(f"session {session.name} has no learning-rate sweep yet"))
    return status


def _queue(project: Project, conn: sqlite3.Connection, session: sessions.Session,
           args: argparse.Namespace) -> tuple[jobs.Job, int]:
    """Queue the sweep, start a worker unless --no-worker, and --wait for it; the job and
    the exit status. With --json, what it prints goes to stderr."""
    try:
        settings = SweepSettings(iterations=args.iterations, strength=args.strength,
                                 set_rate=args.set_rate)
        params = lr_sweeps.sweep_params(conn, session, settings)
    except ValueError as exc:   # SweepRequestError is one
        raise CliError(str(exc)) from None
    with redirect_stdout(sys.stderr) if args.json else nullcontext():
        job_id = jobs.enqueue(conn, KIND, params)
        print(printable(f"queued {KIND} job {job_id}: session {session.name}, "
                        f"{settings.iterations} steps, strength {settings.strength}"))
        if not args.no_worker:
            start_worker_if_needed(project)
        status = wait_for(conn, [job_id], show_progress=True) if args.wait else 0
    return jobs.get(conn, job_id), status


def _shown(conn: sqlite3.Connection, session: sessions.Session, use_it: bool) -> LrSweep | None:
    """The session's newest sweep; its suggestion made the session's rate when `use_it`."""
    sweep = lr_sweeps.newest(conn, session.id)
    if use_it:
        if sweep is None:
            raise CliError(f"session {session.name} has no learning-rate sweep to use")
        try:
            sweep = lr_sweeps.apply(conn, sweep.id)
        except SweepRequestError as exc:
            raise CliError(str(exc)) from None
    return sweep


def _print_sweep(session: sessions.Session, sweep: LrSweep) -> None:
    """The sweep's lines and its curve, sized to the terminal (plain text when piped)."""
    print("\n".join(map(printable, describe_sweep(sweep, session.settings.get("learning_rate")))))
    columns, lines = shutil.get_terminal_size(PLOT_SIZE)
    plotext.limitsize(False, False)   # the size asked for, not the terminal's, when piped
    draw_sweep(plotext, sweep)
    plotext.plotsize(columns, max(10, min(PLOT_SIZE[1], lines - 4)))
    colour = sys.stdout.isatty()
    if not colour:
        plotext.theme("clear")
    text = plotext.build()
    print(text if colour else plotext.uncolorize(text))
