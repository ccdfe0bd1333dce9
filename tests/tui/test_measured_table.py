"""A table whose cell grows is drawn at the new column width, header included, even when it
was drawn between the change and the measuring (as a busy screen does)."""
from __future__ import annotations

from textual.app import App, ComposeResult

from screens.widgets.measured_table import MeasuredTable

LONG = "a-much-longer-session-name"


class OneTable(App):
    def compose(self) -> ComposeResult:
        table = MeasuredTable()
        table.add_columns("name", "model")
        yield table


async def test_a_grown_cell_widens_its_column_and_header() -> None:
    app = OneTable()
    async with app.run_test(size=(80, 10)) as pilot:
        table = app.query_one(MeasuredTable)
        table.add_row("ab", "original", key="1")
        await pilot.pause()
        table.update_cell("1", table.ordered_columns[0].key, LONG, update_width=True)
        stale = [table.render_line(y).text for y in (0, 1)]   # drawn before it measures
        assert LONG not in stale[1]
        await pilot.pause()
        header, row = (table.render_line(y).text for y in (0, 1))
        assert LONG in row
        assert header.index("model") == row.index("original"), (header, row)
