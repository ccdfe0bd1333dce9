"""Extract faces: pick sources, set the options of `swapdeck extract`, queue, watch progress.

The twin of `swapdeck extract`: the same settings (store/requests/extract.py, with their help
text), checked as they are typed, and the same jobs (`store.requests.extract.extract_jobs`). Progress comes from
the app's snapshot; whether a source was extracted before is read from the store in a thread.
"""
from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import cast

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Button, Checkbox, DataTable, Footer, Header, Input, Label, Select, Static

from store import faces, jobs
from store.requests.extract import (
    ALIGNERS,
    DETECTORS,
    HELP,
    MASKS,
    MAX_CROP,
    MIN_CROP,
    ExtractSettings,
    extract_jobs,
)
from store.faces import Extraction
from store.jobs import Job, JobStatus
from store.views.snapshot import Snapshot
from store.errors import RequestError
from store.sources import Source
from tui.host import Host
from tui.keymap import key_for
from tui.launcher import ensure_worker
from tui.printable import printable
from screens.widgets.form_row import form_row
from screens.widgets.jobs_panel import job_detail, progress_bar, status_text
from screens.widgets.path_input import SEPARATOR, PathInput
from screens.widgets.table_rows import Row, replace_rows

EXTRACT = "extract"
FLAG_HELP = {  # the CLI's own words for its two flags that are not settings
    "skip_existing": "queue nothing for sources that were extracted before",
    "force": "throw away a source's faces and extract it again",
}
FIELD_OF_FLAG = {"--every-n": "every-n", "--size": "size", "--min-size": "min-size",
                 "--threshold": "threshold"}
SOURCE_COLUMNS = (("pick", ""), ("id", "ID"), ("name", "Name"), ("frames", "Frames"),
                  ("state", "Extracted"))
JOB_COLUMNS = (("id", "Job"), ("source", "Source"), ("status", "Status"),
               ("progress", "Progress"), ("message", "Message"))


@dataclass(frozen=True)
class FormReading:
    """What the settings form asks for: the settings, or why there are none yet."""
    settings: ExtractSettings | None
    problems: tuple[str, ...]
    bad_fields: frozenset[str]


def split_paths(value: str) -> list[str]:
    """The paths typed in one input, separated by " ; " (none when it is blank)."""
    return [part.strip() for part in value.split(SEPARATOR) if part.strip()]


def read_form(values: dict[str, str], masks: Iterable[str], filters: Sequence[str],
              nfilters: Sequence[str]) -> FormReading:
    """Settings from the form's text, as `tui.cli.main.extract_settings` builds them from options."""
    problems: list[str] = []
    bad: set[str] = set()
    numbers: dict[str, int | float] = {}
    for field, flag, kind in (("every-n", "--every-n", int), ("size", "--size", int),
                              ("min-size", "--min-size", float),
                              ("threshold", "--threshold", float)):
        text = values[field].strip()
        try:
            numbers[field] = kind(text)
        except ValueError:
            what = "a whole number" if kind is int else "a number"
            problems.append(f"{flag} must be {what}, not {text!r}")
            bad.add(field)
    for field, photos in (("filter", filters), ("nfilter", nfilters)):
        for photo in photos:
            if not Path(photo).expanduser().is_file():
                problems.append(f"--{field}: no such reference photo: {photo}")
                bad.add(field)
    if problems:
        return FormReading(None, tuple(problems), frozenset(bad))
    settings = ExtractSettings(
        every_n=int(numbers["every-n"]), detector=values["detector"], aligner=values["aligner"],
        size=int(numbers["size"]), min_size=float(numbers["min-size"]),
        filter=tuple(str(Path(p).expanduser().resolve()) for p in filters),
        nfilter=tuple(str(Path(p).expanduser().resolve()) for p in nfilters),
        threshold=float(numbers["threshold"]), masks=tuple(masks),
    )
    problems = settings.problems()
    bad = {FIELD_OF_FLAG[p.split()[0]] for p in problems if p.split()[0] in FIELD_OF_FLAG}
    return FormReading(None if problems else settings, tuple(problems), frozenset(bad))


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


class SourcePicker(DataTable):
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


def _source_row(source: Source, picked: bool, state: Text | None) -> Row:
    mark = Text("[x]", style="bold green") if picked else Text("[ ]", style="dim")
    return str(source.id), (mark, str(source.id), Text(printable(source.name)),
                            str(source.frame_count),
                            state or Text("...", style="dim"))


class ExtractScreen(Screen[None]):
    CSS_PATH = "extract.tcss"
    BINDINGS = [
        Binding("space", "pick", "Pick", id="extract.pick",
                tooltip="Pick the source under the cursor for extraction, or leave it out "
                        "(in the sources table)"),
        Binding("a", "pick_all", "Pick all", id="extract.pick_all",
                tooltip="Pick every source; when all are picked, none (in the sources table)"),
        Binding("r", "queue", "Queue extraction", id="extract.queue",
                tooltip="Queue one extract job per picked source with these settings"),
        Binding("ctrl+r", "queue", "Queue extraction", show=False, id="extract.queue_anywhere",
                tooltip="Queue the extraction from anywhere, even while typing in a field"),
        Binding("escape", "back", "Back", id="extract.back",
                tooltip="Go back to the dashboard (queued jobs keep running)"),
        Binding("s", "focus_sources", "Focus sources", show=False, id="extract.focus_sources",
                tooltip="Move the focus to the sources table"),
    ]

    class ExtractionsRead(Message):
        """What the store says about each ready source's extraction (read in a thread)."""

        def __init__(self, extractions: dict[int, Extraction | None]) -> None:
            super().__init__()
            self.extractions = extractions

    def __init__(self) -> None:
        super().__init__()
        self._extractions: dict[int, Extraction | None] = {}
        self._read_key: object = None
        self._job_rows: list[Row] = []
        self.reading = FormReading(ExtractSettings(), (), frozenset())

    @property
    def host(self) -> Host:
        return cast(Host, self.app)

    def compose(self) -> ComposeResult:
        defaults = ExtractSettings()
        yield Header()
        with Horizontal(id="main"):
            with Vertical(id="sources-box") as box:
                box.border_title = "Sources"
                yield SourcePicker(id="sources-table")
                yield Static("No ready sources yet: go back (escape) and add media first.",
                             classes="empty")
            with VerticalScroll(id="settings-box") as box:
                box.border_title = "Settings (as swapdeck extract)"
                box.can_focus = False  # its fields take the focus; it scrolls to show them
                yield form_row("every-n", "every n-th", HELP["every_n"],
                                  _input("every-n", str(defaults.every_n), "integer"))
                yield form_row("detector", "detector", HELP["detector"],
                                  _select("detector", DETECTORS, defaults.detector))
                yield form_row("aligner", "aligner", HELP["aligner"],
                                  _select("aligner", ALIGNERS, defaults.aligner))
                yield form_row("size", "size (px)", HELP["size"],
                                  _input("size", str(defaults.size), "integer",
                                         placeholder=f"{MIN_CROP} to {MAX_CROP}"))
                yield form_row("min-size", "min size (%)", HELP["min_size"],
                                  _input("min-size", f"{defaults.min_size:g}", "number"))
                with Horizontal(classes="field", id="masks-field"):
                    yield Label("masks", classes="name")
                    with Horizontal(classes="control", id="masks"):
                        for mask in MASKS:
                            yield Checkbox(mask, mask in defaults.masks, id=f"mask-{mask}",
                                           compact=True, tooltip=f"store the {mask} mask")
                    yield Static(HELP["masks"].partition(",")[0], classes="help", markup=False)
                yield form_row("filter", "filter", HELP["filter"], _paths("filter"))
                yield form_row("nfilter", "nfilter", HELP["nfilter"], _paths("nfilter"))
                yield form_row("threshold", "threshold", HELP["threshold"],
                                  _input("threshold", f"{defaults.threshold:g}", "number"))
                yield form_row("skip-existing", "skip existing", FLAG_HELP["skip_existing"],
                                  Checkbox("skip extracted", id="skip-existing", compact=True))
                yield form_row("force", "force", FLAG_HELP["force"],
                                  Checkbox("start over", id="force", compact=True))
        with Horizontal(id="actions"):
            yield Static(id="problems")
            queue = Button("Queue extraction", variant="primary", id="queue")
            queue.tooltip = "Queue one extract job per picked source (r, or ctrl+r in a field)"
            yield queue
        with Vertical(id="jobs-box") as box:
            box.border_title = "Extract jobs"
            jobs_table: DataTable = DataTable(cursor_type="row", zebra_stripes=True,
                                              id="jobs-table")
            jobs_table.tooltip = "Recent extract jobs, newest first, with their progress"
            for key, label in JOB_COLUMNS:
                jobs_table.add_column(label, key=key)
            yield jobs_table
            yield Static("No extract jobs yet.", classes="empty")
        yield Footer()

    def on_mount(self) -> None:
        picker = self.query_one(SourcePicker)
        picker.focus()
        self.query_one("#sources-box").border_subtitle = (
            f"{self._key('extract.pick', 'space')}: pick, "
            f"{self._key('extract.pick_all', 'a')}: all")
        self.update_form()
        self.watch(self.app, "snapshot", self.show_snapshot)

    def _key(self, binding_id: str, default: str) -> str:
        overrides: dict[str, str] = getattr(self.app, "key_overrides", {})
        key = overrides.get(binding_id, default).split(",")[0]
        return self.app.get_key_display(Binding(key, ""))

    # --- what the store says -------------------------------------------------------------

    def show_snapshot(self, snap: Snapshot | None) -> None:
        if snap is None:
            return
        ready = [source for source in snap.sources if source.status == "ready"]
        extract_jobs_now = [job for job in snap.jobs if job.kind == EXTRACT]
        read_key = (tuple(s.id for s in ready),
                    tuple((job.id, job.status) for job in extract_jobs_now))
        if read_key != self._read_key:
            self._read_key = read_key
            self.read_extractions([source.id for source in ready])
        with self.app.batch_update():
            self._show_sources(snap)
            self._show_jobs(snap, extract_jobs_now)
            self.update_form()

    def _show_sources(self, snap: Snapshot) -> None:
        ready = [source for source in snap.sources if source.status == "ready"]
        latest: dict[int, Job] = {}
        for job in sorted((j for j in snap.jobs if j.kind == EXTRACT), key=lambda j: j.id):
            latest[int(job.params.get("source_id", 0))] = job
        states = {source.id: extraction_state(self._extractions.get(source.id),
                                              latest.get(source.id))
                  for source in ready if source.id in self._extractions or source.id in latest}
        for source in ready:
            if source.id in snap.changed_sources:
                states[source.id] = Text("file changed since it was added", style="bold red")
        picker = self.query_one(SourcePicker)
        picker.show(ready, states)
        picker.display = bool(ready)
        self.query_one("#sources-box .empty").display = not ready

    def _show_jobs(self, snap: Snapshot, extract_jobs_now: list[Job]) -> None:
        names = {source.id: source.name for source in snap.sources}
        rows = [_job_row(job, names) for job in extract_jobs_now]
        table = self.query_one("#jobs-table", DataTable)
        table.display = bool(rows)
        self.query_one("#jobs-box .empty").display = not rows
        if rows != self._job_rows:
            self._job_rows = rows
            replace_rows(table, rows)

    @work(thread=True, group="extract-read", exclusive=True)
    def read_extractions(self, source_ids: list[int]) -> None:
        try:
            with self.host.store() as conn:
                found = {source_id: faces.get_extraction(conn, source_id)
                         for source_id in source_ids}
        except sqlite3.Error as exc:
            self.app.notify(f"could not read the extractions: {exc}", severity="error",
                            markup=False)
            return
        self.post_message(self.ExtractionsRead(found))

    def on_extract_screen_extractions_read(self, message: ExtractionsRead) -> None:
        self._extractions = message.extractions
        if self.host.snapshot is not None:
            self._show_sources(self.host.snapshot)

    # --- the form ------------------------------------------------------------------------

    def read_form(self) -> FormReading:
        values = {field: self.query_one(f"#{field}", Input).value
                  for field in ("every-n", "size", "min-size", "threshold")}
        for field in ("detector", "aligner"):
            values[field] = str(self.query_one(f"#{field}", Select).value)
        masks = [mask for mask in MASKS if self.query_one(f"#mask-{mask}", Checkbox).value]
        return read_form(values, masks,
                         split_paths(self.query_one("#filter", PathInput).value),
                         split_paths(self.query_one("#nfilter", PathInput).value))

    @on(Input.Changed)
    @on(Select.Changed)
    @on(Checkbox.Changed)
    @on(SourcePicker.Changed)
    def update_form(self) -> None:
        """Check the settings as they change; show what is wrong, or what a queue would do."""
        self.reading = self.read_form()
        for field in ("every-n", "size", "min-size", "threshold", "filter", "nfilter"):
            self.query_one(f"#{field}", Input).set_class(field in self.reading.bad_fields,
                                                         "-invalid")
        problems = self.query_one("#problems", Static)
        if self.reading.problems:
            problems.update(Text("\n".join(self.reading.problems), style="bold red"))
            return
        picked = len(self.query_one(SourcePicker).picked)
        if picked:
            what = f"{picked} source{'s' if picked != 1 else ''} picked"
            problems.update(Text(f"{what}: {key_for(self, 'extract.queue', 'r')} queues one "
                                 "extract job each (ctrl+r while typing in a field)",
                                 style="green"))
        else:
            problems.update(Text(
                f"Pick the sources to extract ({self._key('extract.pick', 'space')}, or "
                f"{self._key('extract.pick_all', 'a')} for all).", style="dim"))

    @on(Input.Submitted)
    def next_field(self) -> None:
        """Enter in a field moves on, like tab; queueing is r (ctrl+r from a field)."""
        self.focus_next()

    # --- actions -------------------------------------------------------------------------

    @on(Button.Pressed, "#queue")
    def action_queue(self) -> None:
        self.update_form()
        settings = self.reading.settings
        if settings is None:
            self.notify("nothing queued: " + "; ".join(self.reading.problems),
                        severity="error", markup=False)
            return
        picked = self.query_one(SourcePicker).picked_ids
        if not picked:
            self.notify(f"nothing queued: pick the sources to extract first "
                        f"({self._key('extract.pick', 'space')}, or "
                        f"{self._key('extract.pick_all', 'a')} for all)", severity="warning")
            self.query_one(SourcePicker).focus()
            return
        self.queue_extraction(picked, settings, self.query_one("#force", Checkbox).value,
                              self.query_one("#skip-existing", Checkbox).value)

    @work(thread=True, group="store")
    def queue_extraction(self, source_ids: list[int], settings: ExtractSettings, force: bool,
                         skip_existing: bool) -> None:
        try:
            with self.host.store() as conn:
                params = extract_jobs(conn, [str(i) for i in source_ids], settings,
                                      force=force, skip_existing=skip_existing)
                job_ids = jobs.enqueue_many(conn, EXTRACT, params) if params else []
                pid = None
                if job_ids and self.host.auto_start_worker:
                    pid = ensure_worker(self.host.project, conn)
        except (RequestError, sqlite3.Error, OSError) as exc:
            self.app.notify(f"could not queue the extraction: {exc}", severity="error",
                            markup=False)
            return
        if not job_ids:
            self.app.notify("nothing to extract: every source picked was extracted before "
                            "(untick skip existing, or tick force)", severity="warning")
            return
        queued = ", ".join(f"job {job_id} (source {p['source_id']})"
                           for job_id, p in zip(job_ids, params))
        skipped = len(source_ids) - len(job_ids)
        note = f"; {skipped} extracted before, skipped" if skipped else ""
        self.app.notify(f"queued extraction: {queued}{note}", markup=False)
        if pid is not None:
            self.app.notify(f"started a background worker (pid {pid})")

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Picking keys work (and show in the footer) only in the sources table."""
        if action in ("pick", "pick_all"):
            return isinstance(self.focused, SourcePicker)
        return True

    def on_descendant_focus(self) -> None:
        self.refresh_bindings()

    def action_pick(self) -> None:
        self.query_one(SourcePicker).toggle()

    def action_pick_all(self) -> None:
        self.query_one(SourcePicker).toggle_all()

    def action_back(self) -> None:
        self.app.pop_screen()

    def action_focus_sources(self) -> None:
        picker = self.query_one(SourcePicker)
        if picker.display:
            picker.focus()


def _input(field_id: str, value: str, kind: str, placeholder: str = "") -> Input:
    restrict = r"[0-9]*" if kind == "integer" else r"[0-9.]*"
    return Input(value, placeholder or kind, id=field_id, restrict=restrict, compact=True)


def _select(field_id: str, choices: Sequence[str], value: str) -> Select[str]:
    return Select([(choice, choice) for choice in choices], value=value, allow_blank=False,
                  id=field_id, compact=True)


def _paths(field_id: str) -> PathInput:
    path_input = PathInput(placeholder=f"photo.jpg{SEPARATOR}another.png", id=field_id)
    path_input.compact = True
    return path_input


def _job_row(job: Job, names: dict[int, str]) -> Row:
    source_id = int(job.params.get("source_id", 0))
    return str(job.id), (
        str(job.id),
        f"{source_id} {names.get(source_id, '(removed)')}",
        status_text(job),
        progress_bar(job),
        job_detail(job),
    )

