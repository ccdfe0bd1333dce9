"""A DataTable that redraws itself once it has measured new or changed cells.

DataTable measures its columns when it is next idle, after rows were added or cells
changed, but keeps the lines it drew in between (its caches are keyed by an update count the
measuring does not move). A busy screen can draw in between, and the header then stays at the
old widths over rows drawn at the new ones, until the cursor moves. Every table of the app is
this one, which drops those lines after measuring.
"""
from __future__ import annotations

from textual import events
from textual.widgets import DataTable


class MeasuredTable(DataTable):
    async def _on_idle(self, event: events.Idle) -> None:
        # DataTable's own handler runs after this one too, and then finds nothing to measure
        measuring = self._require_update_dimensions or bool(self._updated_cells)
        await super()._on_idle(event)
        if measuring:
            self.notify_style_update()      # DataTable: drop every cached line, redraw
