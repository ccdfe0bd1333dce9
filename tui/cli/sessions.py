"""The Analysis screen's twins: list and show sessions, plot and export their curves,
resume, restore and delete them.

    swapdeck sessions PROJECT [--json]
    swapdeck session show PROJECT SESSION [--json] [--verify]
    swapdeck session plot PROJECT SESSION [SESSION ...] [--last N] [--smoothing S] [--log]
                          [--metrics] [--width W] [--height H] [--no-color]
    swapdeck session export PROJECT SESSION --csv [--out FOLDER]
    swapdeck session delete PROJECT SESSION [--yes]
    swapdeck resume PROJECT SESSION [per-run settings, --lr] [--wait] [--no-worker]
    swapdeck restore PROJECT SESSION CHECKPOINT [--yes]
"""
from __future__ import annotations

import argparse
import csv
import os
import shutil
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from pathlib import Path

import plotext

from store import sessions
from store.views.analysis import SessionDetail, SessionRow, list_rows, read_detail
from store.project import open_project
from store.files.contained import UnsafePathError
from store.files.session_files import FileState, checkpoint_path, describe, verify
from store.files.session_removal import DeleteError, delete_session, refusal
from store.files.session_restore import Plan, RestoreError, plan, restore
from store.files.temp_names import temp_path
from store.requests.catalogue import load
from store.requests.train import describe_settings
from store.sessions_baseline import resume_baseline
from store.views.training_figures import EXAMPLES_UNIT, examples_per_second, metrics_note
from tui.cli.common import JSON_SCHEMA, CliError, Commands, add_queue_options, print_json
from tui.cli.setting_flags import add_setting_groups
from tui.cli.train import queue_resume, resolve_session
from tui.format import human_age, rate_figure
from tui.printable import printable
from tui.loss_curves import (METRIC_GRAPHS, SMOOTHING_HELP, Smoothing, draw_losses,
                             draw_metrics, read_curves)

SESSION_HELP = "the session's id or name (swapdeck sessions lists them)"
MAX_LISTED = 5   # archived checkpoints named before a restore


def add_session_parsers(commands: Commands) -> None:
    listing = commands.add_parser("sessions", help="list the training sessions")
    listing.add_argument("project", help="the project folder")
    listing.add_argument("--json", action="store_true", help="print the stable JSON document")

    session = commands.add_parser("session", help="show, plot, export or delete a session")
    actions = session.add_subparsers(dest="action", required=True, metavar="ACTION",
                                     help="what to do with the session")
    _add_show(actions)
    _add_plot(actions)
    _add_export_and_delete(actions)

    resume = commands.add_parser(
        "resume", help="continue a session from its newest checkpoint (same as train --resume)",
        description="Queue a train job that continues the session from its newest "
                    "checkpoint with its stored settings, changing the per-run ones given "
                    "here. The model, its options and the data and loss settings are frozen.")
    _project_and_session(resume)
    add_setting_groups(resume, [g for g in load().train.groups if not g.frozen],
                       default="the session's current value")
    add_queue_options(resume)

    restore_ = commands.add_parser(
        "restore", help="go back to one of a session's backups or snapshots (what came after "
                        "is archived, not deleted)")
    _project_and_session(restore_)
    restore_.add_argument("checkpoint", type=int,
                          help="the checkpoint's id (swapdeck session show PROJECT SESSION "
                               "lists them)")
    restore_.add_argument("--yes", action="store_true",
                          help="do not ask (needed when not run from a terminal)")


def _add_show(actions: Commands) -> None:
    show = actions.add_parser("show", help="a session's settings, runs, checkpoints, archives "
                                           "and swap metrics")
    _project_and_session(show)
    show.add_argument("--json", action="store_true", help="print the stable JSON document")
    show.add_argument("--verify", action="store_true",
                      help="read every model file and check its sha256 (slow: about a second "
                           "per GB) instead of the quick check of its header and length")


def _add_plot(actions: Commands) -> None:
    plot = actions.add_parser("plot", help="draw the loss graph in the terminal (several "
                                           "sessions: compared on one graph)")
    plot.add_argument("project", help="the project folder")
    plot.add_argument("sessions", nargs="+", metavar="SESSION", help=SESSION_HELP)
    plot.add_argument("--last", type=_positive, metavar="N",
                      help="only the newest N iterations (default: all)")
    plot.add_argument("--smoothing", choices=[s.value for s in Smoothing],
                      default=Smoothing.EMA.value, help=f"{SMOOTHING_HELP} (default ema)")
    plot.add_argument("--log", action="store_true", help="a logarithmic loss axis")
    plot.add_argument("--metrics", action="store_true",
                      help="draw the session's swap metrics (identity; pose and expression "
                           "errors) instead of the losses (one session only)")
    plot.add_argument("--width", type=_positive, metavar="W",
                      help="columns (default: the terminal's)")
    plot.add_argument("--height", type=_positive, metavar="H",
                      help="rows of each graph (default: the terminal's, at most 30)")
    plot.add_argument("--no-color", action="store_true",
                      help="plain text (the default when the output is not a terminal)")


def _add_export_and_delete(actions: Commands) -> None:
    export = actions.add_parser("export", help="write a session's losses, runs, swap metrics "
                                               "and checkpoints as CSV files")
    _project_and_session(export)
    export.add_argument("--csv", action="store_true", required=True,
                        help="write CSV (the one format for now)")
    export.add_argument("--out", type=Path, default=Path("."), metavar="FOLDER",
                        help="the folder to write <session>-losses.csv, -runs.csv, "
                             "-metrics.csv and -checkpoints.csv into (default: here)")

    delete = actions.add_parser("delete", help="delete a session, its history and its model "
                                               "files (asks first)")
    _project_and_session(delete)
    delete.add_argument("--yes", action="store_true",
                        help="do not ask (needed when not run from a terminal)")


def _project_and_session(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("project", help="the project folder")
    parser.add_argument("session", help=SESSION_HELP)


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be 1 or more, not {value}")
    return value


# --- sessions and session show ----------------------------------------------------------

def clock(stamp: float | None) -> str:
    return datetime.fromtimestamp(stamp).strftime("%Y-%m-%d %H:%M") if stamp else "-"


def row_json(row: SessionRow) -> dict:
    last = row.last_run
    return {**row.session.to_json(), "runs": row.runs, "status": row.status,
            "job_id": row.job.id if row.job else None,
            "last_run_started_at": last.started_at if last else None,
            "problem": row.health.problem,
            "restore_offer": row.health.offer.id if row.health.offer else None}


def cmd_sessions(args: argparse.Namespace) -> int:
    project = open_project(args.project)
    with project.connection() as conn:
        rows = list_rows(conn, project.models)
    if args.json:
        print_json({"schema": JSON_SCHEMA, "sessions": [row_json(row) for row in rows]})
        return 0
    if not rows:
        print("no sessions yet: swapdeck train PROJECT starts one")
        return 0
    _table(["id", "name", "model", "A", "B", "iteration", "runs", "last run", "status"],
           [[str(r.session.id), r.session.name, r.session.model, r.session.name_a,
             r.session.name_b, f"{r.session.iteration:,}", str(r.runs),
             clock(r.last_run.started_at if r.last_run else None), r.status] for r in rows])
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    project = open_project(args.project)
    with project.connection() as conn:
        session = resolve_session(conn, args.session)
        detail = read_detail(conn, project.models, session.id)
    states = {c.checkpoint.id: c.state for c in detail.checkpoints}
    if args.verify:
        states = {c.checkpoint.id: _verify(project.models, c.checkpoint)
                  for c in detail.checkpoints}
    if args.json:
        print_json(detail_json(detail, states))
    else:
        _print_detail(detail, states)
    return 0


def detail_json(detail: SessionDetail, states: dict[int, FileState]) -> dict:
    now = detail.read_at
    return {
        "schema": JSON_SCHEMA,
        "session": row_json(detail.row),
        "runs": [{"id": r.id, "job_id": r.job_id, "started_at": r.started_at,
                  "ended_at": r.ended_at, "elapsed_s": r.elapsed(now),
                  "start_iteration": r.start_iteration, "end_iteration": r.end_iteration,
                  "batch_size": r.batch_size, "examples_per_s": examples_per_second(r, now),
                  "device": r.device, "rollbacks": r.rollbacks, "end_reason": r.end_reason,
                  "settings": r.settings} for r in detail.runs],
        "checkpoints": [{"id": c.checkpoint.id, "kind": c.checkpoint.kind,
                         "iteration": c.checkpoint.iteration, "path": c.checkpoint.path,
                         "sha256": c.checkpoint.sha256, "loss_a": c.checkpoint.loss_a,
                         "loss_b": c.checkpoint.loss_b, "created_at": c.checkpoint.created_at,
                         "archive_id": c.checkpoint.archive_id,
                         "file": states[c.checkpoint.id].value,
                         "restore_refusal": c.restore_refusal} for c in detail.checkpoints],
        "archives": [{"id": a.id, "created_at": a.created_at, "iteration": a.iteration,
                      "restored_to": a.restored_to, "reason": a.reason}
                     for a in detail.archives],
        "swap_metrics": [{"iteration": m.iteration, "faces": m.faces,
                          "identity_a": m.identity_a, "identity_b": m.identity_b,
                          "pose_error": m.pose_error, "expression_error": m.expression_error}
                         for m in detail.metrics],
        "preview_iterations": list(detail.preview_iterations),
    }


def _print_detail(detail: SessionDetail, states: dict[int, FileState]) -> None:
    row, session = detail.row, detail.session
    print(printable(f"session {session.id} {session.name}: {session.model}, A {session.name_a}, "
                    f"B {session.name_b}; iteration {session.iteration:,}; {row.status}"))
    if row.health.problem:
        print(printable(f"PROBLEM: {row.health.problem}"))
    frozen, _ = describe_settings(session)
    print("frozen in the session:\n  " + "\n  ".join(map(printable, frozen)))
    baseline = ", ".join(f"{k}={v}" for k, v in resume_baseline(session).items())
    print("per-run settings (swapdeck resume trains with these unless given):\n  "
          + printable(baseline))
    now = detail.read_at
    print(f"\nruns ({len(detail.runs)}):")
    _table(["started", "ended", "elapsed", "batch", "iterations", EXAMPLES_UNIT, "device",
            "rollbacks", "why it ended"],
           [[clock(r.started_at), clock(r.ended_at) if r.ended_at else "running",
             human_age(r.elapsed(now)), str(r.batch_size),
             f"{r.start_iteration:,}->{r.end_iteration:,}",
             rate_figure(examples_per_second(r, now)), r.device, str(r.rollbacks),
             r.end_reason or "-"] for r in detail.runs])
    print(f"\ncheckpoints ({len(detail.checkpoints)}; restore one with swapdeck restore "
          "PROJECT SESSION ID):")
    _table(["id", "kind", "iteration", "loss A", "loss B", "sha256", "file", "where"],
           [[str(c.checkpoint.id), c.checkpoint.kind, f"{c.checkpoint.iteration:,}",
             _number(c.checkpoint.loss_a, 4), _number(c.checkpoint.loss_b, 4),
             c.checkpoint.sha256[:12], states[c.checkpoint.id].value,
             ("live" if c.checkpoint.archive_id is None
              else f"archive #{c.checkpoint.archive_id}")
             + (" (kept only)" if c.restore_refusal else "")]
            for c in detail.checkpoints])
    for c in detail.checkpoints:
        if states[c.checkpoint.id] is FileState.REFUSED:
            print(printable(describe(FileState.REFUSED, c.checkpoint)))
    for archive in detail.archives:
        print(printable(f"archive #{archive.id} ({clock(archive.created_at)}): {archive.reason}; "
                        f"the state at iteration {archive.iteration:,} is kept"))
    print("\n" + printable(metrics_note(detail.metrics, session.name_a)))
    measured = [m for m in detail.metrics if m.faces]
    if measured:
        print("\nswap metrics (A→B output: identity like B / like A, pose error °, "
              "expression error):")
        for label, m in (("first", measured[0]), ("newest", measured[-1])):
            print(f"  {label:<7} iteration {m.iteration:>9,}: {_number(m.identity_b, 3)} / "
                  f"{_number(m.identity_a, 3)}, {_number(m.pose_error, 1)}, "
                  f"{_number(m.expression_error, 3)}")
    print(f"\npreviews: {len(detail.preview_iterations)}")


def _verify(models: Path, checkpoint: sessions.Checkpoint) -> FileState:
    return verify(models, checkpoint, _progress(f"checking {checkpoint.label}",
                                                _size(models, checkpoint)))


def _progress(what: str, total: int) -> Callable[[int], None]:
    """Prints how far a long read has got to stderr, at most twice a second."""
    done, shown = 0, 0.0

    def on_chunk(size: int) -> None:
        nonlocal done, shown
        done += size
        now = time.monotonic()
        if now - shown >= 0.5 or done >= total:
            shown = now
            end = "\n" if done >= total else ""
            print(f"\r{what}: {done * 100 // max(total, 1)}%", end=end, file=sys.stderr,
                  flush=True)
    return on_chunk


def _number(value: float | None, digits: int) -> str:
    return f"{value:.{digits}f}" if value is not None else "-"


def _table(header: list[str], rows: list[list[str]]) -> None:
    rows = [[printable(cell) for cell in row] for row in rows]
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h)
              for i, h in enumerate(header)]
    for line in (header, *rows):
        print("  ".join(cell.ljust(width) for cell, width in zip(line, widths)).rstrip())


# --- plot and export --------------------------------------------------------------------

def cmd_plot(args: argparse.Namespace) -> int:
    project = open_project(args.project)
    columns, lines = shutil.get_terminal_size((100, 30))
    width = args.width or columns
    height = args.height or max(10, min(30, lines - 2))
    if args.metrics and len(args.sessions) > 1:
        raise CliError("--metrics draws one session's swap metrics: give one session")
    with project.connection() as conn:
        chosen = [resolve_session(conn, reference) for reference in args.sessions]
        metrics = sessions.metrics(conn, chosen[0].id) if args.metrics else []
        if args.metrics:
            graphs = [(draw_metrics, (metrics, graph)) for graph in METRIC_GRAPHS]
        else:
            curves = read_curves(conn, [(s.id, s.name) for s in chosen], args.last,
                                 points=max(width * 2, 100))
            title = " vs ".join(s.name for s in chosen) + (
                f": the newest {args.last:,} iterations" if args.last else "")
            graphs = [(draw_losses, (curves, Smoothing(args.smoothing), args.log, title))]
    colour = sys.stdout.isatty() and not args.no_color
    plotext.limitsize(False, False)   # the size asked for, not the terminal's, when piped
    for draw, arguments in graphs:
        draw(plotext, *arguments)
        plotext.plotsize(width, height)
        if not colour:
            plotext.theme("clear")
        text = plotext.build()
        print(text if colour else plotext.uncolorize(text))
    if args.metrics:
        print(printable(metrics_note(metrics, chosen[0].name_a)))
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    project = open_project(args.project)
    folder: Path = args.out
    if not folder.is_dir():
        raise CliError(f"no folder {folder}")
    with project.connection() as conn:
        session = resolve_session(conn, args.session)
        detail = read_detail(conn, project.models, session.id)
        now = detail.read_at
        tables: list[tuple[str, list[str], Iterable[Sequence[object]]]] = [
            ("losses", ["iteration", "loss_a", "loss_b"],
             conn.execute("SELECT iteration, loss_a, loss_b FROM losses WHERE session_id = ?"
                          " ORDER BY iteration", (session.id,))),
            ("runs", ["run", "started", "ended", "elapsed_s", "batch", "start_iteration",
                      "end_iteration", "examples_per_s", "device", "rollbacks", "end_reason"],
             [(r.id, _iso(r.started_at), _iso(r.ended_at), round(r.elapsed(now), 1),
               r.batch_size, r.start_iteration, r.end_iteration,
               _rounded(examples_per_second(r, now)), r.device, r.rollbacks,
               r.end_reason or "") for r in detail.runs]),
            ("metrics", ["iteration", "faces", "identity_b", "identity_a", "pose_error",
                         "expression_error"],
             [(m.iteration, m.faces, m.identity_b, m.identity_a, m.pose_error,
               m.expression_error) for m in detail.metrics]),
            ("checkpoints", ["id", "kind", "iteration", "loss_a", "loss_b", "sha256", "path",
                             "archive_id", "file"],
             [(c.checkpoint.id, c.checkpoint.kind, c.checkpoint.iteration, c.checkpoint.loss_a,
               c.checkpoint.loss_b, c.checkpoint.sha256, c.checkpoint.path,
               c.checkpoint.archive_id or "", c.state.value) for c in detail.checkpoints]),
        ]
        for name, header, rows in tables:
            path = folder / f"{_file_name(session.name)}-{name}.csv"
            count = _write_csv(path, header, rows)
            print(f"wrote {path} ({count:,} rows)")
    return 0


def _write_csv(path: Path, header: list[str], rows: Iterable[Sequence[object]]) -> int:
    """Write to a temp file beside `path`, then rename it into place."""
    temp = temp_path(path)
    count = 0
    try:
        with open(temp, "w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(header)
            for row in rows:
                writer.writerow(row)
                count += 1
        os.replace(temp, path)
    finally:
        temp.unlink(missing_ok=True)
    return count


def _file_name(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in name)


def _iso(stamp: float | None) -> str:
    return datetime.fromtimestamp(stamp).isoformat(timespec="seconds") if stamp else ""


def _rounded(value: float | None) -> float | str:
    return round(value, 2) if value is not None else ""


# --- resume, restore, delete -------------------------------------------------------------

def cmd_resume(args: argparse.Namespace) -> int:
    project = open_project(args.project)
    with project.connection() as conn:
        return queue_resume(project, conn, args.session, args)


def cmd_restore(args: argparse.Namespace) -> int:
    project = open_project(args.project)
    with project.connection() as conn:
        session = resolve_session(conn, args.session)
        try:
            sessions.checkpoint(conn, args.checkpoint)
        except sessions.SessionError as exc:
            raise CliError(f"{exc} (swapdeck session show PROJECT SESSION lists them)") from None
        try:
            planned = plan(conn, session, args.checkpoint)
            _confirm(args.yes, "restore", _restore_plan(session, planned))
            chosen = planned.checkpoint
            done = restore(conn, project.models, session, chosen.id,
                           _progress(f"checking {chosen.label}",
                                     _size(project.models, chosen)))
        except RestoreError as exc:
            raise CliError(str(exc)) from None
    print(printable(f"session {session.name} is at the {done.checkpoint.label}; archive #"
                    f"{done.archive.id} keeps {done.archived_checkpoints} checkpoints and "
                    f"{done.archived_losses:,} loss rows from after it"))
    return 0


def _restore_plan(session: sessions.Session, planned: Plan) -> list[str]:
    chosen = planned.checkpoint
    labels = [c.label for c in planned.archived]
    shown = ", ".join(labels[:MAX_LISTED]) + (f" and {len(labels) - MAX_LISTED} more"
                                              if len(labels) > MAX_LISTED else "")
    lines = [f"session {session.name} goes back from iteration {session.iteration:,} to the "
             f"{chosen.label} (checkpoint {chosen.id}), once its file's hash is checked.",
             f"archived, not deleted: {len(labels)} checkpoints" + (f" ({shown})" if labels
                                                                   else "")
             + f", {planned.losses:,} loss rows and the swap metrics and previews past "
               f"iteration {planned.after:,}."]
    if chosen.archive_id is not None:
        lines.append(f"archive #{chosen.archive_id}'s history up to iteration "
                     f"{chosen.iteration:,} comes back.")
    return lines


def _size(models: Path, checkpoint: sessions.Checkpoint) -> int:
    """The size of the checkpoint's file, for a progress line (0 when it is missing, or
    refused: the reading that follows says why)."""
    try:
        path = checkpoint_path(models, checkpoint)
    except UnsafePathError:
        return 0
    return path.stat().st_size if path.exists() else 0


def cmd_delete(args: argparse.Namespace) -> int:
    project = open_project(args.project)
    with project.connection() as conn:
        session = resolve_session(conn, args.session)
        if (why := refusal(conn, session)) is not None:
            raise CliError(why)
        _confirm(args.yes, "delete", [
            f"session {session.name} (iteration {session.iteration:,}), its "
            f"{len(sessions.runs(conn, session.id)):,} runs, losses, swap metrics, previews and "
            f"{len(sessions.checkpoints(conn, session.id, archived=True))} checkpoints go, with "
            f"the folder {project.models / str(session.id)}. This cannot be undone."])
        try:
            done = delete_session(conn, project.models, session)
        except DeleteError as exc:
            raise CliError(str(exc)) from None
    print(printable(f"deleted session {session.name}: {done.files} files "
                    f"({done.bytes / 1e9:.2f} GB), {done.losses:,} loss rows"))
    return 0


def _confirm(yes: bool, action: str, lines: list[str]) -> None:
    """Show what `action` will do and ask; without a terminal, --yes is the answer."""
    if yes:
        return
    if not sys.stdin.isatty():
        raise CliError(f"{action} asks first: add --yes to {action} without a terminal")
    print("\n".join(map(printable, lines)))
    try:
        answer = input(f"{action}? [y/N] ")
    except EOFError:   # Ctrl-D: no
        answer = ""
    if answer.strip().lower() not in ("y", "yes"):
        raise CliError("nothing changed")


def cmd_session(args: argparse.Namespace) -> int:
    return SESSION_ACTIONS[args.action](args)


SESSION_ACTIONS = {"show": cmd_show, "plot": cmd_plot, "export": cmd_export,
                   "delete": cmd_delete}
COMMANDS = {"sessions": cmd_sessions, "session": cmd_session, "resume": cmd_resume,
            "restore": cmd_restore}
