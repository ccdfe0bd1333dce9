"""The Analysis screen's sessions table: one row per session, its runs, its last run and
what it is doing; the highlighted row is the session the rest of the screen shows."""
from __future__ import annotations

from datetime import datetime

from rich.text import Text
from textual.message import Message
from textual.widgets import DataTable

from screens.widgets.measured_table import MeasuredTable
from screens.widgets.table_rows import Row, replace_rows
from store.views.analysis import SessionRow
from tui.printable import printable

COLUMNS = ("name", "model", "A", "B", "iterations", "runs", "last run", "status")


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


class SessionsTable(MeasuredTable):
    """Every session; moving the cursor chooses one (`SessionsTable.Chosen`)."""

    class Chosen(Message):
        """The cursor moved to another session (None: the table is empty)."""

        def __init__(self, session_id: int | None) -> None:
            super().__init__()
            self.session_id = session_id

    def __init__(self, *, id: str = "sessions") -> None:
        super().__init__(id=id, cursor_type="row", zebra_stripes=True)
        self.border_title = "Sessions"
        self.add_columns(*COLUMNS)
        self.session_rows: list[SessionRow] = []

    def show(self, rows: list[SessionRow]) -> None:
        self.session_rows = rows
        replace_rows(self, [session_cells(row) for row in rows])

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        event.stop()
        key = event.row_key.value
        self.post_message(self.Chosen(int(key) if key is not None else None))

    def others(self, session_id: int | None) -> list[tuple[str, str]]:
        """(id, label) of every session but `session_id`: those to compare it with."""
        return [(str(row.session.id), f"{row.session.name} ({row.session.model}, "
                                      f"{row.session.iteration:,} iterations)")
                for row in self.session_rows if row.session.id != session_id]
