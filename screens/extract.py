"""Extract faces: pick sources, set the options of `swapdeck extract`, queue, watch progress.

The twin of `swapdeck extract`: the same settings (store/requests/extract.py, with their help
text), checked as they are typed, and the same jobs (`store.requests.extract.extract_jobs`).
A thin coordinator of three panels (screens/widgets/extract_*.py): the sources to pick, the
settings form and the extract jobs. Progress comes from the app's snapshot; whether a source
was extracted before is read from the store (store/views/extract.py) in a thread. Forcing
a source with faces placed by hand asks first whether to keep them (keep, drop or cancel).
"""
from __future__ import annotations

import sqlite3
from typing import cast

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Button, Checkbox, Header, Input, Select, Static

from store import jobs
from store.errors import RequestError
from store.faces import Extraction
from store.requests.extract import ExtractSettings, extract_jobs, manual_faces_at_stake
from store.views.extract import EXTRACT, extraction_jobs, read_extractions, ready_sources
from store.views.snapshot import Snapshot
from tui.host import Host
from tui.keymap import key_for
from tui.launcher import ensure_worker
from screens.dialogs.choose import ChooseDialog
from screens.widgets.extract_form import ExtractForm, FormReading
from screens.widgets.extract_jobs import ExtractJobs
from screens.widgets.extract_sources import ExtractSources, SourcePicker
from screens.widgets.keys_footer import KeysFooter


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

    class ManualFacesFound(Message):
        """A forced re-extraction would find faces placed by hand: ask before queueing."""

        def __init__(self, source_ids: list[int], settings: ExtractSettings,
                     skip_existing: bool, count: int) -> None:
            super().__init__()
            self.source_ids, self.settings = source_ids, settings
            self.skip_existing, self.count = skip_existing, count

    class ExtractionsRead(Message):
        """What the store says about each ready source's extraction (read in a thread)."""

        def __init__(self, extractions: dict[int, Extraction | None]) -> None:
            super().__init__()
            self.extractions = extractions

    def __init__(self) -> None:
        super().__init__()
        self._extractions: dict[int, Extraction | None] = {}
        self._read_key: object = None
        self.reading = FormReading(ExtractSettings(), (), frozenset())

    @property
    def host(self) -> Host:
        return cast(Host, self.app)

    @property
    def picker(self) -> SourcePicker:
        return self.query_one(SourcePicker)

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(id="main"):
            yield ExtractSources(f"{self._key('extract.pick', 'space')}: pick, "
                                 f"{self._key('extract.pick_all', 'a')}: all", id="sources-box")
            yield ExtractForm(id="settings-box")
        with Horizontal(id="actions"):
            yield Static(id="problems")
            queue = Button("Queue extraction", variant="primary", id="queue")
            queue.tooltip = "Queue one extract job per picked source (r, or ctrl+r in a field)"
            yield queue
        yield ExtractJobs(id="jobs-box")
        yield KeysFooter()

    def on_mount(self) -> None:
        self.picker.focus()
        self.update_form()
        self.watch(self.app, "snapshot", self.show_snapshot)

    def _key(self, binding_id: str, default: str) -> str:
        overrides: dict[str, str] = getattr(self.app, "key_overrides", {})
        key = overrides.get(binding_id, default).split(",")[0]
        return self.app.get_key_display(Binding(key, ""))

    def _pick_keys(self) -> str:
        return (f"{self._key('extract.pick', 'space')}, or "
                f"{self._key('extract.pick_all', 'a')} for all")

    # --- what the store says -------------------------------------------------------------

    def show_snapshot(self, snap: Snapshot | None) -> None:
        if snap is None:
            return
        ready = ready_sources(snap)
        read_key = (tuple(s.id for s in ready),
                    tuple((job.id, job.status) for job in extraction_jobs(snap)))
        if read_key != self._read_key:
            self._read_key = read_key
            self.read_extractions([source.id for source in ready])
        with self.app.batch_update():
            self.query_one(ExtractSources).show(snap, self._extractions)
            self.query_one(ExtractJobs).show(snap)
            self.update_form()

    @work(thread=True, group="extract-read", exclusive=True)
    def read_extractions(self, source_ids: list[int]) -> None:
        try:
            with self.host.store() as conn:
                found = read_extractions(conn, source_ids)
        except sqlite3.Error as exc:
            self.app.notify(f"could not read the extractions: {exc}", severity="error",
                            markup=False)
            return
        self.post_message(self.ExtractionsRead(found))

    def on_extract_screen_extractions_read(self, message: ExtractionsRead) -> None:
        self._extractions = message.extractions
        if self.host.snapshot is not None:
            self.query_one(ExtractSources).show(self.host.snapshot, self._extractions)

    # --- the form ------------------------------------------------------------------------

    @on(Input.Changed)
    @on(Select.Changed)
    @on(Checkbox.Changed)
    @on(SourcePicker.Changed)
    def update_form(self) -> None:
        """Check the settings as they change; show what is wrong, or what a queue would do."""
        self.reading = self.query_one(ExtractForm).check()
        problems = self.query_one("#problems", Static)
        if self.reading.problems:
            problems.update(Text("\n".join(self.reading.problems), style="bold red"))
            return
        picked = len(self.picker.picked)
        if picked:
            what = f"{picked} source{'s' if picked != 1 else ''} picked"
            problems.update(Text(f"{what}: {key_for(self, 'extract.queue', 'r')} queues one "
                                 "extract job each (ctrl+r while typing in a field)",
                                 style="green"))
        else:
            problems.update(Text(f"Pick the sources to extract ({self._pick_keys()}).",
                                 style="dim"))

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
        picked = self.picker.picked_ids
        if not picked:
            self.notify(f"nothing queued: pick the sources to extract first "
                        f"({self._pick_keys()})", severity="warning")
            self.picker.focus()
            return
        form = self.query_one(ExtractForm)
        self.queue_extraction(picked, settings, form.force, form.skip_existing)

    @work(thread=True, group="store")
    def queue_extraction(self, source_ids: list[int], settings: ExtractSettings, force: bool,
                         skip_existing: bool, drop_manual: bool | None = None) -> None:
        """Queue the jobs; a forced one over faces placed by hand asks first whether to keep
        them (`drop_manual` None), and is queued once the answer is given."""
        try:
            with self.host.store() as conn:
                params = extract_jobs(conn, [str(i) for i in source_ids], settings,
                                      force=force, skip_existing=skip_existing,
                                      drop_manual=bool(drop_manual))
                if drop_manual is None and (manual := manual_faces_at_stake(conn, params)):
                    self.post_message(self.ManualFacesFound(source_ids, settings,
                                                            skip_existing, manual))
                    return
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

    def on_extract_screen_manual_faces_found(self, message: ManualFacesFound) -> None:
        count = f"{message.count} face{'s' * (message.count != 1)}"

        def answered(choice: str | None) -> None:
            if choice in ("keep", "drop"):
                self.queue_extraction(message.source_ids, message.settings, True,
                                      message.skip_existing, drop_manual=choice == "drop")
            else:
                self.notify("nothing queued", severity="warning")

        self.app.push_screen(ChooseDialog(f"Keep {count} placed by hand?", [
            ("keep", f"keep: extract again around the {count} placed by hand"),
            ("drop", f"drop: throw the {count} placed by hand away too"),
            ("cancel", "cancel: queue nothing")]), answered)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Picking keys work (and show in the footer) only in the sources table."""
        if action in ("pick", "pick_all"):
            return isinstance(self.focused, SourcePicker)
        return True

    def on_descendant_focus(self) -> None:
        self.refresh_bindings()

    def action_pick(self) -> None:
        self.picker.toggle()

    def action_pick_all(self) -> None:
        self.picker.toggle_all()

    def action_back(self) -> None:
        self.app.pop_screen()

    def action_focus_sources(self) -> None:
        if self.picker.display:
            self.picker.focus()
