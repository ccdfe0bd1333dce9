"""The Analysis screen's runs: the chosen session's runs, newest first, each with its batch,
iterations, speed, device, rollbacks and why it ended."""
from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import DataTable, Static

from screens.widgets.analysis_sessions import clock
from screens.widgets.measured_table import MeasuredTable
from screens.widgets.table_rows import Row, replace_rows
from store import sessions
from store.views.analysis import SessionDetail
from store.views.training_figures import EXAMPLES_UNIT, examples_per_second
from tui.format import human_age, rate_figure

RUNS_SHOWN = 200       # the newest runs in the table (a DataTable slows with thousands)
COLUMNS = ("started", "ended", "elapsed", "batch", "iterations", EXAMPLES_UNIT, "device",
           "rollbacks", "why it ended")


def run_cells(run: sessions.Run, now: float) -> Row:
    """One run's cells; its speed as the Train screen and the summary show it, as of `now`
    (the detail's reading time)."""
    return (str(run.id), (clock(run.started_at),
                          clock(run.ended_at) if run.ended_at else "running",
                          human_age(run.elapsed(now)), str(run.batch_size),
                          f"{run.start_iteration:,}→{run.end_iteration:,}",
                          rate_figure(examples_per_second(run, now)), run.device,
                          str(run.rollbacks), run.end_reason or "-"))


def runs_note(count: int) -> str:
    return (f"the newest {RUNS_SHOWN} of {count:,} runs (swapdeck session show lists them "
            "all)" if count > RUNS_SHOWN else f"{count} runs, newest first")


class RunsPanel(Vertical):
    """A note on how many runs there are, and the table of the newest."""

    def compose(self) -> ComposeResult:
        yield Static("", id="runs-note", markup=False)
        table: DataTable = MeasuredTable(id="runs", cursor_type="row", zebra_stripes=True)
        table.add_columns(*COLUMNS)
        yield table

    def show(self, detail: SessionDetail | None) -> None:
        runs = detail.runs if detail is not None else ()
        now = detail.read_at if detail is not None else 0.0
        replace_rows(self.query_one("#runs", DataTable),
                     [run_cells(run, now) for run in reversed(runs[-RUNS_SHOWN:])])
        self.query_one("#runs-note", Static).update(runs_note(len(runs)))
