"""Analysis: every session, its runs, loss graphs, swap metrics, checkpoints and previews;
resume, restore, compare and delete, all by keyboard.

The twin of `swapdeck sessions`, `session show`, `session plot`, `resume`, `restore` and
`session delete`. It reads the store in a thread when the app's snapshot changes, at most
once a second, and the loss curve comes downsampled from SQLite (store/views/loss_series.py), so
a session with millions of loss rows opens as fast as a new one.

A thin coordinator: each panel is a widget of screens/widgets/analysis_*.py. The screen reads
the analysis view (store/views/analysis.py) in a thread worker, which posts one `Read`
message; its handler, on the main thread, hands each panel its part. The panels' own
messages (a session chosen, other curves wanted, the store changed) come back here.
"""
from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from typing import cast

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.message import Message
from textual.screen import Screen
from textual.widgets import DataTable, Header, TabbedContent, TabPane

from screens.widgets.analysis_checkpoints import CheckpointsTable
from screens.widgets.analysis_detail import SessionSummary
from screens.widgets.analysis_losses import LossGraph
from screens.widgets.analysis_metrics import MetricsGraphs
from screens.widgets.analysis_previews import PreviewPanel
from screens.widgets.analysis_runs import RunsPanel
from screens.widgets.analysis_sessions import SessionsTable
from screens.widgets.keys_footer import KeysFooter
from store import sessions
from store.views.analysis import SessionDetail, SessionRow, rows_and_detail
from store.views.snapshot import Snapshot
from tui.host import Host
from tui.keymap import refresh_footer
from tui.loss_curves import Curve, read_curves

TABS = ("losses-tab", "runs-tab", "metrics-tab", "checkpoints-tab", "previews-tab")
TAB_TABLES = {"runs-tab": "#runs", "checkpoints-tab": "#checkpoints"}   # take the arrow keys
READ_EVERY_S = 1.0


@dataclass(frozen=True)
class Reading:
    rows: list[SessionRow]
    detail: SessionDetail | None
    curves: list[Curve]            # the chosen session's, then the compared one's


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
        """The store as the screen shows it, read in a thread; None when the read failed."""

        def __init__(self, reading: Reading | None) -> None:
            super().__init__()
            self.reading = reading

    def __init__(self) -> None:
        super().__init__()
        self.session_id: int | None = None
        self.detail: SessionDetail | None = None
        self._seen_version: int | None = None
        self._dirty = True
        self._reading = False

    @property
    def host(self) -> Host:
        return cast(Host, self.app)

    def compose(self) -> ComposeResult:
        yield Header()
        yield SessionsTable(id="sessions")
        yield SessionSummary(self.host, id="summary")
        with TabbedContent(id="tabs"):
            with TabPane("Losses", id="losses-tab"):
                yield LossGraph(id="losses")
            with TabPane("Runs", id="runs-tab"):
                yield RunsPanel(id="runs-panel")
            with TabPane("Swap metrics", id="metrics-tab"):
                yield MetricsGraphs(id="metrics")
            with TabPane("Checkpoints", id="checkpoints-tab"):
                yield CheckpointsTable(self.host, id="checkpoints")
            with TabPane("Previews", id="previews-tab"):
                yield PreviewPanel(self.host, id="preview-box")
        yield KeysFooter()

    def on_mount(self) -> None:
        self.query_one(SessionsTable).focus()
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
            graph = self.query_one(LossGraph)
            self.read_store(self.session_id, graph.compare_id, graph.zoom)

    @work(thread=True, group="analysis-read")
    def read_store(self, session_id: int | None, compare_id: int | None,
                   last_n: int | None) -> None:
        """Read, then post the reading (None when it failed): always one `Read` per read."""
        reading = None
        try:
            with self.host.store() as conn:
                rows, detail = rows_and_detail(conn, self.host.project.models, session_id)
                names = {row.session.id: row.session.name for row in rows}
                chosen = detail.session.id if detail is not None else None
                curves = read_curves(conn, [(wanted, names[wanted])
                                            for wanted in (chosen, compare_id)
                                            if wanted in names], last_n)
            reading = Reading(rows, detail, curves)
        except (sqlite3.Error, sessions.SessionError) as exc:
            self.app.notify(f"could not read the sessions: {exc}", severity="error",
                            markup=False)
        finally:
            self.post_message(self.Read(reading))

    def on_analysis_screen_read(self, message: Read) -> None:
        self._reading = False
        reading = message.reading
        if reading is None:
            return   # said in a notification; what is shown stays
        self.query_one(SessionsTable).show(reading.rows)
        detail = reading.detail
        if detail is not None and self.session_id not in {r.session.id for r in reading.rows}:
            self.session_id = detail.session.id   # the first, or the chosen is gone
        if detail is not None and detail.session.id != self.session_id:
            return   # read for a session no longer chosen: its successor is on its way
        self.detail = detail
        with self.app.batch_update():
            self.query_one(SessionSummary).show(detail)
            self.query_one(RunsPanel).show(detail)
            self.query_one(CheckpointsTable).show(detail)
            self.query_one(LossGraph).show(reading.curves if detail is not None else [])
            self.query_one(MetricsGraphs).show(detail)
            self.query_one(PreviewPanel).show(detail)
        refresh_footer(self)

    def on_sessions_table_chosen(self, message: SessionsTable.Chosen) -> None:
        if message.session_id == self.session_id:
            return
        self.session_id = message.session_id
        self.query_one(PreviewPanel).restart()
        self.query_one(LossGraph).forget(message.session_id)
        self._reread()

    def on_loss_graph_curves_wanted(self) -> None:
        self.query_one("#tabs", TabbedContent).active = "losses-tab"
        self._reread()

    @on(SessionSummary.Changed)
    @on(CheckpointsTable.Restored)
    def _reread(self) -> None:
        self._dirty = True
        self._read_if_dirty()

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
        self.query_one(LossGraph).cycle_smoothing()

    def action_log_scale(self) -> None:
        self.query_one(LossGraph).toggle_log_scale()

    def action_zoom(self, closer: bool) -> None:
        length = self.detail.session.iteration if self.detail is not None else 0
        self.query_one(LossGraph).zoom_by(closer, length)

    def action_compare(self) -> None:
        others = self.query_one(SessionsTable).others(self.session_id)
        self.query_one(LossGraph).choose_compare(others)

    def action_tab(self, tab: str) -> None:
        """Show a tab; its table (runs, checkpoints) takes the keys, else the sessions do."""
        self.query_one("#tabs", TabbedContent).active = tab
        self.query_one(TAB_TABLES.get(tab, "#sessions"), DataTable).focus()

    def action_preview(self, step: int) -> None:
        if self.query_one(PreviewPanel).step(step):
            self.query_one("#tabs", TabbedContent).active = "previews-tab"

    def action_resume(self) -> None:
        if self.detail is not None:
            self.query_one(SessionSummary).resume(self.detail)

    def action_stop(self) -> None:
        if self.detail is not None and self.detail.row.job is not None:
            self.query_one(SessionSummary).stop_training(self.detail.row.job.id)

    def action_restore(self) -> None:
        if self.detail is not None:
            shown = self.query_one("#tabs", TabbedContent).active == "checkpoints-tab"
            self.query_one(CheckpointsTable).restore(self.detail, from_cursor=shown)

    def action_verify(self) -> None:
        if self.detail is not None:
            self.query_one(CheckpointsTable).verify_files(self.detail)

    def action_delete(self) -> None:
        if self.detail is not None:
            self.query_one(SessionSummary).delete(self.detail)

    def action_back(self) -> None:
        self.app.pop_screen()
