"""The project's event log, newest at the bottom; only events not shown yet are written."""
from __future__ import annotations

from rich.text import Text
from textual.widgets import RichLog

from store.events import Event
from store.views.snapshot import Snapshot
from tui.printable import printable

LEVEL_STYLES = {"WARNING": "yellow", "ERROR": "bold red", "CRITICAL": "bold red", "DEBUG": "dim"}
MAX_LINES = 1000


class EventLog(RichLog):
    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(max_lines=MAX_LINES, wrap=False, markup=False, auto_scroll=True, id=id)
        self.tooltip = "What the worker, the CLI and this TUI did, newest at the bottom"
        self._last_id = 0

    def on_mount(self) -> None:
        self.write(Text("Nothing logged yet.", style="dim"))

    def show(self, snap: Snapshot) -> None:
        fresh = [event for event in snap.events if event.id > self._last_id]
        if not fresh:
            return
        if self._last_id == 0:
            self.clear()
        self._last_id = fresh[-1].id
        for event in fresh:
            self.write(_line(event))


def _line(event: Event) -> Text:
    return Text(printable(event.format()), style=LEVEL_STYLES.get(event.level.upper(), ""))
