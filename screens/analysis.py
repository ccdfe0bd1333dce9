"""Analysis: every session, its runs, loss graphs, swap metrics, checkpoints and previews;
resume, restore, compare and delete, all by keyboard.

The twin of `swapdeck sessions`, `session show`, `session plot`, `resume`, `restore` and
`session delete`. It reads the store in a thread when the app's snapshot changes, at most
once a second, and the loss curve comes downsampled from SQLite (store/views/loss_series.py), so
a session with millions of loss rows opens as fast as a new one.
"""
from __future__ import annotations

import sqlite3
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.message import Message
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, Static, TabbedContent, TabPane
from textual_plotext import PlotextPlot

from screens.dialogs.choose import ChooseDialog
from screens.dialogs.confirm import ConfirmDialog
from screens.dialogs.resume import ResumeDialog
from store import jobs, sessions
from store.views.analysis import SessionDetail, SessionRow, list_rows, read_detail
from store.files.session_files import FileState, verify
from store.files.session_removal import DeleteError, delete_session
from store.files.session_restore import RestoreError, restore
from store.views.snapshot import Snapshot
from store.requests.train import TrainRequestError, resume_params
from tui.format import cancel_outcome, human_age
from tui.host import Host
from tui.launcher import ensure_worker
from tui.loss_curves import Curve, Smoothing, draw_losses, draw_metrics, read_curves
from tui.printable import printable
from tui.thumbs import decode, widget_class
from screens.widgets.table_rows import Row, replace_rows, selected_key

ZOOM_STEP = 4          # each zoom shows a quarter (or four times) the iterations
MIN_ZOOM = 50          # iterations: the closest zoom
TABS = ("losses-tab", "runs-tab", "metrics-tab", "checkpoints-tab", "previews-tab")
SMOOTHINGS = tuple(Smoothing)
READ_EVERY_S = 1.0
NO_COMPARE = "none"
RUNS_SHOWN = 200       # the newest runs in the table (a DataTable slows with thousands)


@dataclass(frozen=True)
class Reading:
    rows: list[SessionRow]
    detail: SessionDetail | None
    curves: list[Curve]            # the chosen session's, then the compared one's


def clock(stamp: float | None) -> str:
    return datetime.fromtimestamp(stamp).strftime("%Y-%m-%d %H:%M") if stamp else "-"


def session_cells(row: SessionRow) -> Row:
    session, last = row.session, row.last_run
    status = Text(row.status, style="bold red" if not row.health.resumable
                  else "bold green" if row.job is not None else "")
    name, name_a, name_b = (Text(printable(name))   # plain text: a name is not markup
                            for name in (session.name, session.name_a, session.name_b))
    return (str(session.id), (name, session.model, name_a, name_b,
                              f"{session.iteration:,}", str(row.runs),
                              clock(last.started_at if last else None), status))


def run_cells(run: sessions.Run, now: float) -> Row:
    rate = run.examples_per_second(now)
    return (str(run.id), (clock(run.started_at),
                          clock(run.ended_at) if run.ended_at else "running",
                          human_age(run.elapsed(now)), str(run.batch_size),
                          f"{run.start_iteration:,}→{run.end_iteration:,}",
                          f"{rate:.1f}" if rate is not None else "-", run.device,
                          str(run.rollbacks), run.end_reason or "-"))


def checkpoint_cells(checkpoint: sessions.Checkpoint, state: FileState,
                     refusal: str | None) -> Row:
    file = Text(state.value, style="" if state is FileState.OK else "bold red")
    where = (f"archive #{checkpoint.archive_id}" if checkpoint.archive_id is not None
             else "live")
    if refusal is not None:
        where += " (kept only)"
    return (str(checkpoint.id), (str(checkpoint.id), checkpoint.kind,
                                 f"{checkpoint.iteration:,}", _loss(checkpoint.loss_a),
                                 _loss(checkpoint.loss_b), checkpoint.sha256[:12], file,
                                 where))


def _loss(value: float | None) -> str:
    return f"{value:.4f}" if value is not None else "-"


def describe_detail(detail: SessionDetail) -> Text:
    """The lines above the tabs: what the session is and what it is doing."""
    row, session = detail.row, detail.session
    text = Text(printable(f"{session.name}: {session.model}, A {session.name_a} → B "
                          f"{session.name_b}") + f" · iteration {session.iteration:,} of "
                f"{session.settings.get('iterations', 0):,} · {row.runs} "
                f"run{'s' if row.runs != 1 else ''}\n")
    if row.job is not None and row.job.status == jobs.JobStatus.RUNNING:
        text.append(f"training now (job {row.job.id}): {row.job.message or 'starting'}; "
                    "resume and restore wait until it stops\n", style="green")
    elif row.job is not None:
        text.append(f"queued (job {row.job.id}): waiting for the worker\n", style="green")
    else:
        text.append(f"{row.status}\n")
    if row.health.problem is not None:
        text.append(row.health.problem + "\n", style="bold red")
    for archive in detail.archives[:3]:
        text.append(f"archive #{archive.id} ({clock(archive.created_at)}): {archive.reason}; "
                    f"the state at iteration {archive.iteration:,} is kept\n", style="dim")
    return text


class AnalysisScreen(Screen[None]):
    CSS_PATH = "analysis.tcss"
    BINDINGS = [
        Binding("r", "resume", "Resume", id="analysis.resume",
                tooltip="Continue the chosen session from its newest checkpoint, with its "
                        "per-run settings changed if you like"),
        Binding("ctrl+t", "stop", "Stop", id="analysis.stop",
                tooltip="Stop the chosen session's training; it saves first"),
        Binding("o", "restore", "Restore", id="analysis.restore",
                tooltip="Go back to one of the session's backups or snapshots; what came "
                        "after is archived, not deleted"),
        Binding("s", "smoothing", "Smoothing", id="analysis.smoothing",
                tooltip="Loss graph: raw, rolling average or exponential moving average"),
        Binding("z", "zoom(True)", "Zoom in", id="analysis.zoom_in",
                tooltip="Loss graph: show only the newest quarter of the iterations shown"),
        Binding("Z", "zoom(False)", "Zoom out", show=False, id="analysis.zoom_out",
                tooltip="Loss graph: show four times as many iterations, up to all"),
        Binding("l", "log_scale", "Log", id="analysis.log_scale",
                tooltip="Loss graph: logarithmic or linear loss axis"),
        Binding("c", "compare", "Compare", id="analysis.compare",
                tooltip="Draw another session's losses on the same graph"),
        Binding("left_square_bracket", "preview(-1)", "Older preview", show=False,
                id="analysis.preview_older", tooltip="Previews: the one saved before"),
        Binding("right_square_bracket", "preview(1)", "Newer preview", show=False,
                id="analysis.preview_newer", tooltip="Previews: the one saved after"),
        Binding("v", "verify", "Verify files", show=False, id="analysis.verify",
                tooltip="Read every model file of the session and check its hash"),
        Binding("d", "delete", "Delete", id="analysis.delete",
                tooltip="Delete the chosen session and its model files (asks first)"),
        Binding("escape", "back", "Back", id="analysis.back",
                tooltip="Go back to the dashboard"),
        *(Binding(str(number), f"tab('{tab}')", tab.removesuffix("-tab"), show=False,
                  id=f"analysis.{tab}", tooltip=f"Show the {tab.removesuffix('-tab')} tab "
                                                "(1 to 5; the runs and checkpoints tables "
                                                "take the arrow keys, the others leave them "
                                                "to the sessions)")
          for number, tab in enumerate(TABS, start=1)),
    ]

    class Read(Message):
        def __init__(self, reading: Reading) -> None:
            super().__init__()
            self.reading = reading

    class PreviewRead(Message):
        def __init__(self, session_id: int, iteration: int, png: bytes) -> None:
            super().__init__()
            self.session_id, self.iteration, self.png = session_id, iteration, png

    def __init__(self) -> None:
        super().__init__()
        self.session_id: int | None = None
        self.detail: SessionDetail | None = None
        self.rows: list[SessionRow] = []
        self.smoothing = Smoothing.EMA
        self.log_scale = False
        self.zoom_level = 0                # each level shows a quarter of the one before
        self.zoom: int | None = None     # the loss graph's newest N iterations; None: all
        self.compare_id: int | None = None
        self.preview_index: int | None = None   # into the timelapse; None: the newest
        self.shown_preview: tuple[int, int] | None = None   # (session, iteration) on screen
        self._curves: list[Curve] = []
        self._seen_version: int | None = None
        self._dirty = True
        self._reading = False

    @property
    def host(self) -> Host:
        return cast(Host, self.app)

    def compose(self) -> ComposeResult:
        yield Header()
        sessions_table: DataTable = DataTable(id="sessions", cursor_type="row",
                                              zebra_stripes=True)
        sessions_table.border_title = "Sessions"
        sessions_table.add_columns("name", "model", "A", "B", "iterations", "runs",
                                   "last run", "status")
        yield sessions_table
        yield Static("No sessions yet: train one from the Train screen (t on the dashboard).",
                     id="summary")
        with TabbedContent(id="tabs"):
            with TabPane("Losses", id="losses-tab"):
                yield Static("", id="graph-state", markup=False)
                yield PlotextPlot(id="loss-plot")
            with TabPane("Runs", id="runs-tab"):
                yield Static("", id="runs-note", markup=False)
                runs: DataTable = DataTable(id="runs", cursor_type="row", zebra_stripes=True)
                runs.add_columns("started", "ended", "elapsed", "batch", "iterations",
                                 "examples/s", "device", "rollbacks", "why it ended")
                yield runs
            with TabPane("Swap metrics", id="metrics-tab"):
                yield PlotextPlot(id="identity-plot")
                yield PlotextPlot(id="errors-plot")
            with TabPane("Checkpoints", id="checkpoints-tab"):
                checkpoints: DataTable = DataTable(id="checkpoints", cursor_type="row",
                                                   zebra_stripes=True)
                checkpoints.add_columns("id", "kind", "iteration", "loss A", "loss B",
                                        "sha256", "file", "where")
                yield checkpoints
            with TabPane("Previews", id="previews-tab"):
                with Vertical(id="preview-box"):
                    yield Static("", id="preview-caption", markup=False)
                    yield widget_class(self.host.thumbnail_renderer)(id="preview")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#sessions", DataTable).focus()
        self.watch(self.app, "snapshot", self.show_snapshot)
        self.set_interval(READ_EVERY_S, self._read_if_dirty)
        self._read_if_dirty()

    # --- reading the store ---------------------------------------------------------------

    def show_snapshot(self, snap: Snapshot | None) -> None:
        if snap is not None and snap.data_version != self._seen_version:
            self._seen_version = snap.data_version
            self._dirty = True

    def _read_if_dirty(self) -> None:
        if self._dirty and not self._reading:
            self._dirty = False
            self._reading = True
            self.read_store(self.session_id, self.compare_id, self.zoom)

    @work(thread=True, group="analysis-read")
    def read_store(self, session_id: int | None, compare_id: int | None,
                   last_n: int | None) -> None:
        models = self.host.project.models
        try:
            with self.host.store() as conn:
                rows = list_rows(conn, models)
                ids = [row.session.id for row in rows]
                if session_id not in ids:
                    session_id = ids[0] if ids else None
                detail = read_detail(conn, models, session_id) if session_id else None
                names = {row.session.id: row.session.name for row in rows}
                curves = read_curves(conn, [(wanted, names[wanted])
                                            for wanted in (session_id, compare_id)
                                            if wanted in names], last_n)
        except (sqlite3.Error, sessions.SessionError) as exc:
            self.app.notify(f"could not read the sessions: {exc}", severity="error",
                            markup=False)
            curves, rows, detail = [], self.rows, self.detail
        finally:
            self._reading = False
        self.post_message(self.Read(Reading(rows, detail, curves)))

    def on_analysis_screen_read(self, message: Read) -> None:
        reading = message.reading
        self.rows = reading.rows
        table = self.query_one("#sessions", DataTable)
        replace_rows(table, [session_cells(row) for row in reading.rows])
        if reading.detail is None:
            self.detail = None
            self.query_one("#summary", Static).update(
                "No sessions yet: train one from the Train screen (t on the dashboard).")
            self.refresh_bindings()
            return
        if self.session_id not in {row.session.id for row in reading.rows}:
            self.session_id = reading.detail.session.id   # the first, or the chosen is gone
        if reading.detail.session.id != self.session_id:
            return   # read for a session no longer chosen: its successor is on its way
        self.detail = reading.detail
        self._curves = reading.curves
        self.query_one("#summary", Static).update(describe_detail(reading.detail))
        now = time.time()
        runs = reading.detail.runs
        replace_rows(self.query_one("#runs", DataTable),
                     [run_cells(run, now) for run in reversed(runs[-RUNS_SHOWN:])])
        self.query_one("#runs-note", Static).update(
            f"the newest {RUNS_SHOWN} of {len(runs):,} runs (swapdeck session show lists "
            "them all)" if len(runs) > RUNS_SHOWN else f"{len(runs)} runs, newest first")
        replace_rows(self.query_one("#checkpoints", DataTable),
                     [checkpoint_cells(c.checkpoint, c.state, c.restore_refusal)
                      for c in reading.detail.checkpoints])
        self._draw_losses()
        self._draw_metrics()
        self._show_preview()
        self.refresh_bindings()

    # --- the chosen session --------------------------------------------------------------

    @on(DataTable.RowHighlighted, "#sessions")
    def _session_chosen(self, event: DataTable.RowHighlighted) -> None:
        key = event.row_key.value
        chosen = int(key) if key is not None else None
        if chosen == self.session_id:
            return
        self.session_id = chosen
        self.preview_index = None
        if self.compare_id == chosen:
            self.compare_id = None
        self._reread()

    def _reread(self) -> None:
        self._dirty = True
        self._read_if_dirty()

    # --- graphs and previews -------------------------------------------------------------

    def _draw_losses(self) -> None:
        plot = self.query_one("#loss-plot", PlotextPlot)
        shown = f"the newest {self.zoom:,} iterations" if self.zoom else "all iterations"
        title = " vs ".join(curve.label for curve in self._curves) or "losses"
        draw_losses(plot.plt, self._curves, self.smoothing, self.log_scale, title)
        plot.refresh()
        span = self._curves[0].series.span if self._curves else 1
        averaged = f", each point the mean of {span:,} iterations" if span > 1 else ""
        compared = (f" · compared with {self._curves[1].label}" if len(self._curves) > 1
                    else "")
        self.query_one("#graph-state", Static).update(
            f"{shown}{averaged} · smoothing {self.smoothing.value} · "
            f"{'log' if self.log_scale else 'linear'} scale{compared} · "
            "s smoothing, z/Z zoom, l log, c compare")

    def _draw_metrics(self) -> None:
        metrics = self.detail.metrics if self.detail is not None else ()
        for graph in ("identity", "errors"):
            plot = self.query_one(f"#{graph}-plot", PlotextPlot)
            draw_metrics(plot.plt, metrics, graph)
            plot.refresh()

    def _show_preview(self) -> None:
        detail = self.detail
        caption = self.query_one("#preview-caption", Static)
        if detail is None or not detail.preview_iterations:
            caption.update("no previews yet (one is made at every save)")
            cast(Any, self.query_one("#preview")).image = None
            self.shown_preview = None
            return
        timelapse = detail.preview_iterations
        index = (len(timelapse) - 1 if self.preview_index is None
                 else min(self.preview_index, len(timelapse) - 1))
        wanted = (detail.session.id, timelapse[index])
        caption.update(f"preview {index + 1} of {len(timelapse)}, iteration {wanted[1]:,}: "
                       "A, A→A, A→B | B, B→B, B→A (marked synthetic) · [ older, ] newer")
        if wanted != self.shown_preview:
            self.read_preview(*wanted)

    @work(thread=True, group="analysis-preview", exclusive=True)
    def read_preview(self, session_id: int, iteration: int) -> None:
        with self.host.store() as conn:
            found = sessions.preview(conn, session_id, iteration)
        if found is not None:
            self.post_message(self.PreviewRead(session_id, *found))

    def on_analysis_screen_preview_read(self, message: PreviewRead) -> None:
        if self.detail is None or message.session_id != self.detail.session.id:
            return
        cast(Any, self.query_one("#preview")).image = decode(message.png)
        self.shown_preview = (message.session_id, message.iteration)

    # --- actions -------------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Resume, restore and delete only for a session that is not training (shown
        greyed otherwise); resume only when its newest model file is whole."""
        if action in ("resume", "restore", "delete", "verify", "compare"):
            if self.detail is None:
                return None
            if action in ("resume", "restore", "delete") and self.detail.row.job is not None:
                return None
            if action == "resume" and not self.detail.row.health.resumable:
                return None
        if action == "stop":
            return self.detail is not None and self.detail.row.job is not None
        return True

    def action_smoothing(self) -> None:
        self.smoothing = SMOOTHINGS[(SMOOTHINGS.index(self.smoothing) + 1) % len(SMOOTHINGS)]
        self._draw_losses()

    def action_log_scale(self) -> None:
        self.log_scale = not self.log_scale
        self._draw_losses()

    def action_zoom(self, closer: bool) -> None:
        length = self.detail.session.iteration if self.detail is not None else 0
        if closer and length // ZOOM_STEP ** self.zoom_level <= MIN_ZOOM:
            return   # as close as it goes
        self.zoom_level = max(0, self.zoom_level + (1 if closer else -1))
        self.zoom = (max(MIN_ZOOM, length // ZOOM_STEP ** self.zoom_level)
                     if self.zoom_level else None)
        self.query_one("#tabs", TabbedContent).active = "losses-tab"
        self._reread()

    def action_tab(self, tab: str) -> None:
        """Show a tab; its table (runs, checkpoints) takes the keys, else the sessions do."""
        self.query_one("#tabs", TabbedContent).active = tab
        table = {"runs-tab": "#runs", "checkpoints-tab": "#checkpoints"}.get(tab, "#sessions")
        self.query_one(table, DataTable).focus()

    def action_preview(self, step: int) -> None:
        if self.detail is None or not self.detail.preview_iterations:
            return
        last = len(self.detail.preview_iterations) - 1
        current = last if self.preview_index is None else self.preview_index
        self.preview_index = max(0, min(last, current + step))
        self.query_one("#tabs", TabbedContent).active = "previews-tab"
        self._show_preview()

    def action_compare(self) -> None:
        others = [(str(row.session.id), f"{row.session.name} ({row.session.model}, "
                                        f"{row.session.iteration:,} iterations)")
                  for row in self.rows if row.session.id != self.session_id]
        if not others:
            self.notify("there is no other session to compare with")
            return
        current = str(self.compare_id) if self.compare_id is not None else NO_COMPARE
        self.app.push_screen(ChooseDialog("Compare the losses with",
                                          [(NO_COMPARE, "(no other session)"), *others],
                                          current), self._compare_chosen)

    def _compare_chosen(self, chosen: str | None) -> None:
        if chosen is None:
            return
        self.compare_id = None if chosen == NO_COMPARE else int(chosen)
        self.query_one("#tabs", TabbedContent).active = "losses-tab"
        self._reread()

    def action_resume(self) -> None:
        detail = self.detail
        if detail is None:
            return
        live = [c.checkpoint for c in detail.checkpoints if c.checkpoint.archive_id is None]
        starts_at = (f"the {live[0].label}" if live else "the start (it has no checkpoint)")
        session = detail.session
        self.app.push_screen(ResumeDialog(session, starts_at),
                             lambda values: self._resume_chosen(session.id, values))

    def _resume_chosen(self, session_id: int, values: dict[str, object] | None) -> None:
        if values is not None:
            self.queue_resume(session_id, values)

    @work(thread=True, group="store")
    def queue_resume(self, session_id: int, values: dict[str, object]) -> None:
        try:
            with self.host.store() as conn:
                session = sessions.get(conn, session_id)
                params = resume_params(conn, self.host.project.models, session, values)
                job_id = jobs.enqueue(conn, "train", params)
                pid = (ensure_worker(self.host.project, conn)
                       if self.host.auto_start_worker else None)
        except (TrainRequestError, sessions.SessionError, sqlite3.Error, OSError) as exc:
            self.app.notify(f"not resumed: {exc}", severity="error", markup=False)
            return
        changed = ", ".join(f"{k}={v}" for k, v in values.items()) or "its last settings"
        self.app.notify(f"queued train job {job_id}: {session.name} resumes from iteration "
                        f"{session.iteration:,} with {changed}", markup=False)
        if pid is not None:
            self.app.notify(f"started a background worker (pid {pid})")

    def action_stop(self) -> None:
        if self.detail is not None and self.detail.row.job is not None:
            self.stop_training(self.detail.row.job.id)

    @work(thread=True, group="store")
    def stop_training(self, job_id: int) -> None:
        with self.host.store() as conn:
            outcome = cancel_outcome(job_id, jobs.request_cancel(conn, job_id))
        self.app.notify(f"{outcome}; a running session saves before it stops")
        self._dirty = True

    def action_restore(self) -> None:
        detail = self.detail
        if detail is None:
            return
        at_now = [c for c in detail.checkpoints if c.checkpoint.archive_id is None
                  and c.checkpoint.iteration == detail.session.iteration]
        current = at_now[0] if len(at_now) == 1 else None   # restoring it would change nothing
        choices = [c for c in detail.checkpoints if c.restore_refusal is None
                   and c.state is FileState.OK and c is not current]
        if not choices:
            self.notify("no checkpoint of this session can be restored", severity="warning")
            return
        table = self.query_one("#checkpoints", DataTable)
        highlighted = (selected_key(table)
                       if self.query_one("#tabs", TabbedContent).active == "checkpoints-tab"
                       else None)
        offer = detail.row.health.offer
        preferred = highlighted or (str(offer.id) if offer is not None else None)
        options = [(str(c.checkpoint.id),
                    f"{c.checkpoint.label}" + (f" (archive #{c.checkpoint.archive_id})"
                                               if c.checkpoint.archive_id else ""))
                   for c in choices]
        self.app.push_screen(ChooseDialog(f"Restore {detail.session.name} to", options,
                                          preferred),
                             lambda chosen: self._restore_chosen(detail, chosen))

    def _restore_chosen(self, detail: SessionDetail, chosen: str | None) -> None:
        if chosen is None:
            return
        checkpoint = next(c.checkpoint for c in detail.checkpoints
                          if str(c.checkpoint.id) == chosen)
        session = detail.session
        body = (f"{session.name} goes back from iteration {session.iteration:,} to "
                f"{checkpoint.iteration:,}. The newer checkpoints, losses, metrics and "
                "previews are archived, not deleted: the newest archive can be restored "
                "back. Its file's hash is checked first.")
        self.app.push_screen(ConfirmDialog(f"Restore the {checkpoint.label}?", body,
                                           "y: restore"),
                             lambda yes: self.restore_checkpoint(session.id, checkpoint.id)
                             if yes else None)

    @work(thread=True, group="store")
    def restore_checkpoint(self, session_id: int, checkpoint_id: int) -> None:
        self.app.notify("checking the checkpoint's file, then restoring…")
        try:
            with self.host.store() as conn:
                done = restore(conn, self.host.project.models, sessions.get(conn, session_id),
                               checkpoint_id)
        except (RestoreError, sessions.SessionError, sqlite3.Error, OSError) as exc:
            self.app.notify(f"not restored: {exc}", severity="error", markup=False)
            return
        self.app.notify(f"restored the {done.checkpoint.label}; archived "
                        f"{done.archived_checkpoints} checkpoints and {done.archived_losses:,} "
                        f"loss rows as archive #{done.archive.id}", markup=False)
        self._dirty = True

    def action_verify(self) -> None:
        if self.detail is not None:
            self.verify_files(self.detail)

    @work(thread=True, group="analysis-verify", exclusive=True)
    def verify_files(self, detail: SessionDetail) -> None:
        self.app.notify(f"reading the {len(detail.checkpoints)} model files of "
                        f"{detail.session.name}…")
        models = self.host.project.models
        bad = [f"{c.checkpoint.label} (checkpoint {c.checkpoint.id}): {state.value}"
               for c in detail.checkpoints
               if (state := verify(models, c.checkpoint)) is not FileState.OK]
        if bad:
            self.app.notify("; ".join(bad), severity="error", markup=False, timeout=15)
        else:
            self.app.notify(f"all {len(detail.checkpoints)} model files of "
                            f"{detail.session.name} match their hashes", markup=False)

    def action_delete(self) -> None:
        detail = self.detail
        if detail is None:
            return
        session = detail.session
        body = (f"Its {len(detail.runs)} runs, its losses, previews and metrics, and the "
                f"{len(detail.checkpoints)} model files in models/{session.id}/ are deleted. "
                "This cannot be undone.")
        self.app.push_screen(ConfirmDialog(f"Delete session {session.name}?", body,
                                           "y: delete"),
                             lambda yes: self.delete_chosen(session.id) if yes else None)

    @work(thread=True, group="store")
    def delete_chosen(self, session_id: int) -> None:
        try:
            with self.host.store() as conn:
                done = delete_session(conn, self.host.project.models,
                                      sessions.get(conn, session_id))
        except (DeleteError, sessions.SessionError, sqlite3.Error, OSError) as exc:
            self.app.notify(f"not deleted: {exc}", severity="error", markup=False)
            return
        self.app.notify(f"deleted session {done.session.name}: {done.files} files "
                        f"({done.bytes / 1e9:.2f} GB), {done.losses:,} loss rows",
                        markup=False)
        self._dirty = True

    def action_back(self) -> None:
        self.app.pop_screen()

