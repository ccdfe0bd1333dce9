"""A DataTable that redraws itself when measuring changed its column widths.

DataTable measures its columns when it is next idle, after rows were added or cells
changed, but keeps the lines it drew in between (its caches are keyed by an update count the
measuring does not move). A busy screen can draw in between, and the header then stays at the
old widths over rows drawn at the new ones, until the cursor moves. Every table of the app is
this one, which drops those lines when a width changed (a progress cell updated at every poll
keeps its width, and its table is not redrawn whole for it).
"""
from __future__ import annotations

from textual import events
from textual.widgets import DataTable


class MeasuredTable(DataTable):
    def _widths(self) -> list[int]:
        return [column.get_render_width(self) for column in self.ordered_columns]

    async def _on_idle(self, event: events.Idle) -> None:
        # DataTable's own handler runs after this one too, and then finds nothing to measure
        before = self._widths()
        await super()._on_idle(event)
        if self._widths() != before:
            self.notify_style_update()      # DataTable: drop every cached line, redraw
