"""Convert: swap a person's face in a video with a trained session, and see one frame before
and after while the settings change.

The twin of `swapdeck convert` and `swapdeck convert --preview FRAME`: the same options (the
converter's catalogue, `load().convert` in store/requests/catalogue.py, with their help) and the
same jobs (store/requests/convert.py). The screen lays out its panels (the form, the preview, the
conversion and the finished outputs), reads the store's view for them in a thread whenever
the app's snapshot says the store changed, and hands each panel its part on the main thread.
A conversion is checked as the CLI checks it, then confirmed in a dialog (frames, time,
output) before it is queued.
"""
from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from typing import Any, cast

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Button, Header, Input, OptionList, Static
from textual.worker import Worker, get_current_worker

from store import jobs
from store.requests.convert import default_output
from store.views.convert import ConvertView, Wanted, read_view
from store.views.snapshot import Snapshot
from tui.host import Host
from tui.keymap import key_for, refresh_footer
from tui.thumbs import decode
from screens.widgets.convert_form import ConvertForm, FormChoice, describe_choice
from screens.widgets.convert_outputs import ConvertOutputs
from screens.widgets.convert_preview import NO_SESSION, NO_SOURCE, ConvertPreview
from screens.widgets.convert_progress import ConvertProgress, ConvertRequest
from screens.widgets.keys_footer import KeysFooter


@dataclass(frozen=True)
class Reading:
    """A view of the store and what the reading thread made of it."""
    view: ConvertView
    pictures: tuple[Any, Any] | None    # the preview's before and after, decoded
    default_output: str | None          # what a blank output becomes


class ConvertScreen(Screen[None]):
    CSS_PATH = "convert.tcss"
    BINDINGS = [
        Binding("ctrl+s", "convert", "Convert", id="convert.start",
                tooltip="Convert the source with the chosen session and these settings"),
        Binding("left", "step(-1)", "Frame -1", priority=True, id="convert.previous_frame",
                tooltip="Preview the frame before (outside a text field)"),
        Binding("right", "step(1)", "Frame +1", priority=True, id="convert.next_frame",
                tooltip="Preview the frame after (outside a text field)"),
        Binding("shift+left", "step(-10)", "Frame -10", show=False, priority=True,
                id="convert.back_ten", tooltip="Preview the frame ten before"),
        Binding("shift+right", "step(10)", "Frame +10", show=False, priority=True,
                id="convert.forward_ten", tooltip="Preview the frame ten after"),
        Binding("home", "jump(False)", "First frame", show=False, priority=True,
                id="convert.first_frame", tooltip="Preview the source's first frame"),
        Binding("end", "jump(True)", "Last frame", show=False, priority=True,
                id="convert.last_frame", tooltip="Preview the source's last frame"),
        Binding("p", "preview", "Preview", priority=True, id="convert.preview",
                tooltip="Render the preview again now"),
        Binding("ctrl+t", "stop", "Stop", id="convert.stop",
                tooltip="Cancel the conversion (a running one stops at its next frame)"),
        Binding("w", "start_worker", "Start worker", show=False, priority=True,
                id="convert.start_worker", tooltip="Start a background worker if none runs"),
        Binding("escape", "back", "Back", id="convert.back",
                tooltip="Go back to the dashboard (a conversion goes on in the worker)"),
    ]
    # keys that a text field or an open list needs for itself
    TYPING_ACTIONS = ("step", "jump", "preview", "start_worker")

    class Read(Message):
        """A view of the store, read by `reader`."""

        def __init__(self, reader: Worker, reading: Reading) -> None:
            super().__init__()
            self.reader, self.reading = reader, reading

        def can_replace(self, message: Message) -> bool:
            return isinstance(message, ConvertScreen.Read)

    def __init__(self) -> None:
        super().__init__()
        self._reader: Worker | None = None      # the newest read; older ones are dropped
        self._read_version: int | None = None   # the store's data_version last read
        self._read_for: tuple[int | None, int | None, str, str, str | None] | None = None

    @property
    def host(self) -> Host:
        return cast(Host, self.app)

    @property
    def form(self) -> ConvertForm:
        return self.query_one(ConvertForm)

    @property
    def preview(self) -> ConvertPreview:
        return self.query_one(ConvertPreview)

    @property
    def progress(self) -> ConvertProgress:
        return self.query_one(ConvertProgress)

    @property
    def session_id(self) -> int | None:
        return self.form.session_id

    @property
    def source_id(self) -> int | None:
        return self.form.source_id

    @property
    def pictures_of(self) -> int | None:
        return self.preview.pictures_of

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(id="main"):
            yield ConvertForm()
            with Vertical(id="side"):
                yield ConvertPreview()
                with Vertical(id="convert-box") as box:
                    box.border_title = "Convert"
                    yield ConvertProgress()
                    yield ConvertOutputs()
        yield Static(id="problems")
        yield KeysFooter()

    def on_mount(self) -> None:
        self.preview.focus()
        self.watch(self.app, "snapshot", self.show_snapshot)
        self.show_choice(self.form.read())

    # --- what the store says -------------------------------------------------------------

    def show_snapshot(self, snap: Snapshot | None) -> None:
        if snap is None:
            return
        if snap.data_version != self._read_version:
            self._read_version = snap.data_version
            self.refresh_state()
        self.preview.show_worker(snap.worker_alive)
        self.progress.show_worker(snap.worker_alive)
        refresh_footer(self)

    def refresh_state(self) -> None:
        form, preview, progress = self.form, self.preview, self.progress
        choice = form.read()
        self._read_for = choice.read_key
        self._reader = self.read_state(Wanted(
            choice.session_id, choice.source_id, preview.job.id if preview.job else None,
            preview.pictures_of, progress.job.id if progress.job else None, choice.side,
            choice.person), choice.output_format)

    @work(thread=True, group="convert-read", exclusive=True)
    def read_state(self, wanted: Wanted, output_format: str) -> None:
        try:
            with self.host.store() as conn:
                view = read_view(conn, wanted)
        except (sqlite3.Error, jobs.JobNotFoundError) as exc:
            self.app.notify(f"could not read the project: {exc}", severity="error",
                            markup=False)
            return
        default = (str(default_output(self.host.project.outputs, view.source, view.session,
                                      output_format))
                   if view.session is not None and view.source is not None else None)
        pictures = (decode(view.pictures[0]), decode(view.pictures[1])) if view.pictures \
            else None
        self.post_message(self.Read(get_current_worker(), Reading(view, pictures, default)))

    def on_convert_screen_read(self, message: Read) -> None:
        if message.reader is not self._reader:
            return   # a newer read is on its way
        reading = message.reading
        with self.app.batch_update():
            if self.form.show(reading.view, reading.default_output):
                self.show_choice(self.form.read())
            self.preview.show(reading.view, reading.pictures)
            self.progress.show(reading.view)
            self.query_one(ConvertOutputs).show(reading.view.finished)
        refresh_footer(self)

    # --- the panels' messages ------------------------------------------------------------

    def on_convert_form_changed(self, message: ConvertForm.Changed) -> None:
        self.show_choice(message.choice)

    def show_choice(self, choice: FormChoice) -> None:
        """Say what is wrong with the form or what the convert key does, schedule a preview
        of it, and read the store again when its session, source or format changed."""
        self.query_one("#problems", Static).update(
            describe_choice(choice, key_for(self, "convert.start", "ctrl+s")))
        self.preview.want(choice)
        if choice.read_key != self._read_for:
            self.refresh_state()   # its finished outputs, the default output's name

    def on_convert_progress_queued(self) -> None:
        refresh_footer(self)    # stop is possible now

    @on(Button.Pressed, "#convert-button")
    def _convert_pressed(self) -> None:
        self.action_convert()

    # --- actions -------------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Frame keys and single letters are left to a text field or an open list; stop
        only while a conversion waits or runs."""
        if action in self.TYPING_ACTIONS and isinstance(self.focused, (Input, OptionList)):
            return False
        if action == "stop":
            return any(panel.active for panel in self.query(ConvertProgress))
        return True

    def action_convert(self) -> None:
        choice = self.form.read()
        self.show_choice(choice)
        if choice.problems:
            self.notify("not converted: " + "; ".join(choice.problems), severity="error",
                        markup=False)
            return
        if choice.session_id is None or choice.source_id is None:
            self.notify(NO_SESSION if choice.session_id is None else NO_SOURCE,
                        severity="warning")
            return
        # checked in a thread, then confirmed in a dialog before anything is queued
        self.progress.plan(ConvertRequest(choice.session_id, choice.source_id,
                                          dict(choice.values), choice.output,
                                          choice.overwrite))

    def action_step(self, delta: int) -> None:
        self.form.step_frame(delta)

    def action_jump(self, to_end: bool) -> None:
        self.form.jump_frame(to_end)

    def action_preview(self) -> None:
        self.show_choice(self.form.read())
        self.preview.render_again()

    def action_stop(self) -> None:
        self.progress.stop()

    def action_start_worker(self) -> None:
        self.host.start_worker()

    def action_back(self) -> None:
        self.preview.drop_waiting()   # nobody will look at it now
        self.app.pop_screen()
