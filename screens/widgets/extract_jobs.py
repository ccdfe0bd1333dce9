"""The Extract screen's jobs panel: recent extract jobs, newest first, with their progress."""
from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import DataTable, Static

from screens.widgets.measured_table import MeasuredTable
from store.jobs import Job
from store.views.extract import extraction_jobs
from store.views.snapshot import Snapshot
from screens.widgets.jobs_panel import job_detail, progress_bar, status_text
from screens.widgets.table_rows import Row, replace_rows

JOB_COLUMNS = (("id", "Job"), ("source", "Source"), ("status", "Status"),
               ("progress", "Progress"), ("message", "Message"))


class ExtractJobs(Vertical):
    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.border_title = "Extract jobs"
        self._rows: list[Row] = []

    def compose(self) -> ComposeResult:
        table: DataTable = MeasuredTable(cursor_type="row", zebra_stripes=True, id="jobs-table")
        table.tooltip = "Recent extract jobs, newest first, with their progress"
        for key, label in JOB_COLUMNS:
            table.add_column(label, key=key)
        yield table
        yield Static("No extract jobs yet.", classes="empty")

    def show(self, snap: Snapshot) -> None:
        names = {source.id: source.name for source in snap.sources}
        rows = [_job_row(job, names) for job in extraction_jobs(snap)]
        table = self.query_one("#jobs-table", DataTable)
        table.display = bool(rows)
        self.query_one(".empty").display = not rows
        if rows != self._rows:
            self._rows = rows
            replace_rows(table, rows)


def _job_row(job: Job, names: dict[int, str]) -> Row:
    source_id = int(job.params.get("source_id", 0))
    return str(job.id), (
        str(job.id),
        f"{source_id} {names.get(source_id, '(removed)')}",
        status_text(job),
        progress_bar(job),
        job_detail(job),
    )
