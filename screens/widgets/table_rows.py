"""Refilling a DataTable from a snapshot without losing the user's place in it."""
from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text
from textual.widgets import DataTable

Cell = str | Text
Row = tuple[str, tuple[Cell, ...]]
"""A row key and its cells."""


def selected_key(table: DataTable) -> str | None:
    """The key of the row under the cursor, or None when the table is empty."""
    if not table.row_count:
        return None
    return table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value


def replace_rows(table: DataTable, rows: Sequence[Row]) -> None:
    """Show `rows` in `table`, keeping the cursor on the same row key while that row exists.

    The same rows in the same order (progress, a status change) are updated cell by cell,
    which keeps the scroll position too; anything else refills the table.
    """
    keys = [key for key, _cells in rows]
    if keys == [row.key.value for row in table.ordered_rows]:
        columns = [column.key for column in table.ordered_columns]
        for key, cells in rows:
            for column, old, new in zip(columns, table.get_row(key), cells):
                if old != new:
                    table.update_cell(key, column, new, update_width=True)
        return
    selected = selected_key(table)
    table.clear()
    for key, cells in rows:
        table.add_row(*cells, key=key)
    if selected in keys:
        table.move_cursor(row=keys.index(selected), animate=False)
