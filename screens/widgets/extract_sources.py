"""The Extract screen's sources panel: the project's ready sources, each picked or not for
extraction, with whether it was extracted before (or is being extracted now)."""
from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import DataTable, Static

from screens.widgets.measured_table import MeasuredTable
from store.faces import Extraction
from store.jobs import Job, JobStatus
from store.sources import Source
from store.views.extract import latest_jobs, ready_sources
from store.views.snapshot import Snapshot
from tui.printable import printable
from screens.widgets.table_rows import Row, replace_rows

SOURCE_COLUMNS = (("pick", ""), ("id", "ID"), ("name", "Name"), ("frames", "Frames"),
                  ("state", "Extracted"))


def extraction_state(extraction: Extraction | None,
                     latest_job: Job | None) -> Text:
    """Whether a source was extracted: a job under way, done (faces, frames), partial, or not."""
    if latest_job is not None and latest_job.status == JobStatus.RUNNING:
        fraction = latest_job.fraction
        done = f" {fraction * 100:.0f}%" if fraction is not None else ""
        return Text(f"running{done}", style="bold yellow")
    if latest_job is not None and latest_job.status == JobStatus.QUEUED:
        return Text("queued", style="yellow")
    if extraction is not None and extraction.finished:
        return Text(f"yes: {extraction.faces} faces", style="green")
    if extraction is not None:
        return Text(f"partly: {extraction.frames_done}/{extraction.frames_total} frames",
                    style="yellow")
    if latest_job is not None and latest_job.status == JobStatus.FAILED:
        return Text("no (its job failed)", style="red")
    return Text("no", style="dim")


class SourcePicker(MeasuredTable):
    """The project's ready sources, each picked or not for extraction."""

    class Changed(Message):
        """The picked sources changed."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(cursor_type="row", zebra_stripes=True, id=id)
        self.picked: set[int] = set()
        self._sources: tuple[Source, ...] = ()
        self._states: dict[int, Text] = {}
        self._rows: list[Row] = []
        self.tooltip = ("Ready sources. Pick the ones to extract; Extracted says whether one "
                        "was extracted before (or is being extracted now).")

    def on_mount(self) -> None:
        for key, label in SOURCE_COLUMNS:
            self.add_column(label, key=key)

    @property
    def picked_ids(self) -> list[int]:
        """Picked source ids, in the table's order."""
        return [source.id for source in self._sources if source.id in self.picked]

    def show(self, ready: Sequence[Source], states: dict[int, Text]) -> None:
        self._sources = tuple(ready)
        self._states = states
        self.picked &= {source.id for source in ready}
        self._render_rows()

    def _render_rows(self) -> None:
        rows = [_source_row(source, source.id in self.picked, self._states.get(source.id))
                for source in self._sources]
        if rows != self._rows:
            self._rows = rows
            replace_rows(self, rows)

    def toggle(self) -> None:
        """Pick the source under the cursor, or leave it out."""
        if not self.row_count:
            return
        source_id = int(self.coordinate_to_cell_key(self.cursor_coordinate).row_key.value)
        self.picked ^= {source_id}
        self._picked_changed()

    def toggle_all(self) -> None:
        """Pick every source; when all are picked already, none."""
        everything = {source.id for source in self._sources}
        self.picked = set() if everything and self.picked >= everything else everything
        self._picked_changed()

    @on(DataTable.RowSelected)
    def _toggle_selected_row(self, event: DataTable.RowSelected) -> None:
        """Enter (or a click on the highlighted row) picks too."""
        event.stop()
        self.toggle()

    def _picked_changed(self) -> None:
        self._render_rows()
        self.post_message(self.Changed())


class ExtractSources(Vertical):
    """The picker, or how to get a ready source when there is none; `hint` names the keys."""

    def __init__(self, hint: str, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.border_title = "Sources"
        self.border_subtitle = hint

    def compose(self) -> ComposeResult:
        yield SourcePicker(id="sources-table")
        yield Static("No ready sources yet: go back (escape) and add media first.",
                     classes="empty")

    @property
    def picker(self) -> SourcePicker:
        return self.query_one(SourcePicker)

    def show(self, snap: Snapshot, extractions: dict[int, Extraction | None]) -> None:
        """The ready sources with their state: the newest job's, else the stored extraction's."""
        ready = ready_sources(snap)
        latest = latest_jobs(snap)
        states = {source.id: extraction_state(extractions.get(source.id), latest.get(source.id))
                  for source in ready if source.id in extractions or source.id in latest}
        for source in ready:
            if source.id in snap.changed_sources:
                states[source.id] = Text("file changed since it was added", style="bold red")
        self.picker.show(ready, states)
        self.picker.display = bool(ready)
        self.query_one(".empty").display = not ready


def _source_row(source: Source, picked: bool, state: Text | None) -> Row:
    mark = Text("[x]", style="bold green") if picked else Text("[ ]", style="dim")
    return str(source.id), (mark, str(source.id), Text(printable(source.name)),
                            str(source.frame_count),
                            state or Text("...", style="dim"))
