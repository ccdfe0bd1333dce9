"""Refilling tables from snapshots keeps the cursor on the row the user chose."""
from __future__ import annotations

from rich.text import Text
from textual.app import App, ComposeResult
from textual.widgets import DataTable

from screens.widgets.table_rows import replace_rows, selected_key


class TableApp(App[None]):
    def compose(self) -> ComposeResult:
        table: DataTable = DataTable(cursor_type="row")
        table.add_columns("id", "status")
        yield table


def rows(*pairs: tuple[str, str]):
    return [(key, (key, Text(status))) for key, status in pairs]


async def test_the_cursor_follows_its_row_when_rows_are_added_above() -> None:
    app = TableApp()
    async with app.run_test() as pilot:
        table = app.query_one(DataTable)
        replace_rows(table, rows(("2", "queued"), ("1", "running")))
        table.move_cursor(row=1)
        await pilot.pause()
        assert selected_key(table) == "1"
        replace_rows(table, rows(("3", "queued"), ("2", "queued"), ("1", "running")))
        await pilot.pause()
        assert selected_key(table) == "1" and table.cursor_row == 2


async def test_same_rows_are_updated_in_place() -> None:
    app = TableApp()
    async with app.run_test() as pilot:
        table = app.query_one(DataTable)
        replace_rows(table, rows(("2", "queued"), ("1", "running")))
        table.move_cursor(row=1)
        await pilot.pause()
        replace_rows(table, rows(("2", "running"), ("1", "done")))
        await pilot.pause()
        assert [str(c) for c in table.get_column_at(1)] == ["running", "done"]
        assert selected_key(table) == "1"


async def test_an_empty_table_has_no_selection() -> None:
    app = TableApp()
    async with app.run_test():
        table = app.query_one(DataTable)
        assert selected_key(table) is None
        replace_rows(table, rows(("1", "done")))
        replace_rows(table, [])
        assert selected_key(table) is None and table.row_count == 0
