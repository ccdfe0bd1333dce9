"""The job queue, newest first, with a progress bar per job; or a note that it is empty.
Below it, the selected job's error in full (a failed job's reason and how to run it again)."""
from __future__ import annotations

from pathlib import Path

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import DataTable, Static

from screens.widgets.measured_table import MeasuredTable
from store.jobs import Job, JobStatus
from store.views.snapshot import Snapshot
from tui.format import job_target
from tui.printable import printable
from screens.widgets.table_rows import Row, replace_rows, selected_key

BAR_WIDTH = 16
COLUMNS = (("id", "ID"), ("kind", "Kind"), ("status", "Status"), ("progress", "Progress"),
           ("path", "Target"), ("message", "Message"))
STATUS_STYLES = {
    JobStatus.QUEUED: "dim",
    JobStatus.RUNNING: "bold yellow",
    JobStatus.DONE: "green",
    JobStatus.FAILED: "bold red",
    JobStatus.CANCELLED: "dim",
}
ACTIVE = (JobStatus.QUEUED, JobStatus.RUNNING)


def progress_bar(job: Job, width: int = BAR_WIDTH) -> Text:
    """A text bar for a table cell: filled by `job.fraction`, full when done, blank if unknown.
    A job that ended without finishing shows no bar (a full one would read as done), only how
    far it got."""
    if job.status in (JobStatus.FAILED, JobStatus.CANCELLED):
        return _ended_early(job)
    fraction = 1.0 if job.status == JobStatus.DONE else job.fraction
    if fraction is None:
        return Text("working..." if job.status == JobStatus.RUNNING else "", style="dim")
    filled = round(fraction * width)
    style = "green" if job.status == JobStatus.DONE else "yellow"
    bar = Text("█" * filled, style=style)
    bar.append("░" * (width - filled), style="dim")
    bar.append(f" {fraction * 100:3.0f}%")
    return bar


def _ended_early(job: Job) -> Text:
    failed = job.status == JobStatus.FAILED
    word = "failed" if failed else "cancelled"
    reached = f" at {job.fraction * 100:.0f}%" if job.fraction is not None else ""
    return Text(f"✗ {word}{reached}", style="red" if failed else "dim")


class JobsPanel(Vertical):
    DEFAULT_CSS = """
    JobsPanel { height: 1fr; }
    JobsPanel > DataTable { height: auto; max-height: 100%; }
    JobsPanel > .empty { padding: 1 2; color: $text-muted; }
    JobsPanel > .detail { dock: bottom; height: auto; max-height: 5; padding: 0 1;
                          color: $text-error; display: none; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._rows: list[Row] = []
        self._jobs: dict[int, Job] = {}
        self.retry_key = ""

    def compose(self) -> ComposeResult:
        table: DataTable = MeasuredTable(cursor_type="row", zebra_stripes=True, id="jobs-table")
        table.tooltip = "Recent jobs, newest first. Select one and press the cancel key to stop it."
        for key, label in COLUMNS:
            table.add_column(label, key=key)
        yield table
        yield Static("No jobs yet: adding media queues an ingest job here.", classes="empty")
        yield Static(classes="detail")

    @property
    def table(self) -> DataTable:
        return self.query_one("#jobs-table", DataTable)

    @property
    def selected_job(self) -> Job | None:
        key = selected_key(self.table)
        return self._jobs.get(int(key)) if key is not None else None

    @property
    def active_jobs(self) -> list[Job]:
        return [job for job in self._jobs.values() if job.status in ACTIVE]

    def show(self, snap: Snapshot, retry_key: str) -> None:
        self._jobs = {job.id: job for job in snap.jobs}
        self.retry_key = retry_key
        rows = [_row(job, snap.is_held(job)) for job in snap.jobs]
        self.table.display = bool(rows)
        self.query_one(".empty").display = not rows
        if rows != self._rows:
            self._rows = rows
            replace_rows(self.table, rows)
        self._show_detail()

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        self._show_detail()

    def _show_detail(self) -> None:
        """The selected failed job's error, whole and wrapped: the table's cell is cut short."""
        job = self.selected_job
        detail = self.query_one(".detail", Static)
        detail.display = bool(job and job.status == JobStatus.FAILED and job.error)
        if job is not None and detail.display:
            detail.update(Text(f"job {job.id} failed: {printable(job.error or '')} (press "
                               f"{self.retry_key} to run it again)"))


def job_detail(job: Job) -> Text:
    """The message cell: the error of a failed job, or the progress line, or the cancelling."""
    if job.status == JobStatus.FAILED:
        return Text(printable(job.error or ""), style="red")
    if job.cancel_requested and job.status == JobStatus.RUNNING:
        return Text("cancelling... " + printable(job.message), style="yellow")
    return Text(printable(job.message))


def short_target(job: Job) -> str:
    """A job's target for a table cell: a path by its file name, which a cut cell keeps (the
    full path is in `swapdeck jobs` and the sources table)."""
    target = job_target(job)
    return Path(target).name or target if target.startswith("/") else target


def status_text(job: Job, held: bool = False) -> Text:
    if held:
        return Text("held", style="bold magenta")
    return Text(job.status.label, style=STATUS_STYLES[job.status])


def _row(job: Job, held: bool) -> Row:
    return str(job.id), (
        str(job.id),
        job.kind,
        status_text(job, held),
        progress_bar(job),
        Text(printable(short_target(job))),
        job_detail(job),
    )
