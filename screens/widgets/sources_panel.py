"""The project's source media: one table row per source, or how to add the first one."""
from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import DataTable, Static

from screens.widgets.measured_table import MeasuredTable
from store.views.snapshot import Snapshot
from store.sources import Source
from tui.format import source_facts
from tui.printable import printable
from screens.widgets.table_rows import Cell, Row, replace_rows

COLUMNS = (("id", "ID"), ("name", "Name"), ("kind", "Kind"), ("status", "Status"),
           ("facts", "Facts"), ("disk", "On disk"))


class SourcesPanel(Vertical):
    DEFAULT_CSS = """
    SourcesPanel { height: auto; }
    SourcesPanel > DataTable { height: auto; max-height: 100%; }
    SourcesPanel > .empty { padding: 1 2; color: $text-muted; }
    """

    def __init__(self, add_key: str, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.add_key = add_key
        self._rows: list[Row] = []

    def compose(self) -> ComposeResult:
        table: DataTable = MeasuredTable(cursor_type="row", zebra_stripes=True, id="sources-table")
        table.tooltip = ("Source media: videos, images and folders of images. CHANGED means "
                         "the file differs from when it was added; jobs will refuse it.")
        for key, label in COLUMNS:
            table.add_column(label, key=key)
        yield table
        yield Static(
            f"No sources yet: press [b]{self.add_key}[/b] to add a video, an image or a folder "
            "of images (or drop files into the project's inbox/ folder).",
            classes="empty",
        )

    @property
    def table(self) -> DataTable:
        return self.query_one("#sources-table", DataTable)

    @property
    def chosen_source(self) -> int | None:
        """The source id of the table's cursor row (the first source when none is chosen)."""
        table = self.table
        if not table.row_count:
            return None
        row = min(max(table.cursor_row, 0), table.row_count - 1)
        return int(table.coordinate_to_cell_key((row, 0)).row_key.value)

    def show(self, snap: Snapshot) -> None:
        rows = [_row(source, source.id in snap.changed_sources) for source in snap.sources]
        self.table.display = bool(rows)
        self.query_one(".empty").display = not rows
        if rows != self._rows:
            self._rows = rows
            replace_rows(self.table, rows)


def _row(source: Source, changed: bool) -> Row:
    status: Cell = Text(source.status, style="green" if source.status == "ready" else "yellow")
    disk: Cell = Text("CHANGED", style="bold red") if changed else Text("ok", style="dim")
    return str(source.id), (str(source.id), Text(printable(source.name)), source.kind, status,
                            source_facts(source), disk)
