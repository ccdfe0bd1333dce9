"""Convert: swap a person's face in a video with a trained session, and see one frame before
and after while the settings change.

The twin of `swapdeck convert` and `swapdeck convert --preview FRAME`: the same options (the
converter's catalogue, store/requests/convert_catalogue.json, with their help) and the same jobs
(store/requests/convert.py). A change to the session, the source, the frame or a setting queues a
`convert_preview` job after a short pause (cancelling the one before while it still waits);
the screen reads its pictures, the conversion's progress and the finished outputs in a
thread whenever the app's snapshot says the store changed.
"""
from __future__ import annotations

import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import (Button, Checkbox, Footer, Header, Input, Label, OptionList,
                             ProgressBar, Select, Static)

from store import conversions, convert_previews, jobs, sessions, sources
from store.conversions import Conversion
from store.requests.convert_catalogue import groups
from store.requests.convert import (ConvertRequestError, convert_params, default_output,
                                preview_params)
from store.jobs import Job, JobStatus
from store.views.snapshot import Snapshot
from tui.format import cancel_outcome, human_age
from tui.host import Host
from tui.keymap import key_for
from tui.launcher import ensure_worker
from tui.printable import printable
from tui.thumbs import decode, widget_class
from screens.widgets.form_row import form_row
from screens.widgets.settings_form import control_value, option_field, read_values

DEBOUNCE_S = 0.3        # a preview is queued once the settings stop changing this long
FINISHED_SHOWN = 5      # the newest conversions of the session listed at the bottom
ACTIVE = (JobStatus.QUEUED, JobStatus.RUNNING)
NO_SESSION = "No session with a checkpoint yet: train one until it saves (t on the dashboard)."
NO_SOURCE = "No video source yet: add one (a on the dashboard) and extract it (x)."


@dataclass(frozen=True)
class PreviewRequest:
    session_id: int
    source_id: int
    frame: int
    settings: dict[str, object]


@dataclass(frozen=True)
class ConvertRequest:
    session_id: int
    source_id: int
    settings: dict[str, object]
    output: Path | None
    overwrite: bool


@dataclass(frozen=True)
class Wanted:
    """What a read of the store is for: the choices made on the screen when it began."""
    session_id: int | None
    source_id: int | None
    output_format: str
    preview_job: int | None
    pictures_of: int | None     # the preview job whose pictures are on screen
    convert_job: int | None


@dataclass(frozen=True)
class Reading:
    number: int
    sessions: list[sessions.Session]    # those with a checkpoint
    sources: list[sources.Source]       # ready videos
    preview_job: Job | None
    pictures: tuple[Any, Any] | None    # before and after, decoded; None: nothing new
    convert_job: Job | None
    finished: list[Conversion]
    default_output: str | None


def describe_preview(job: Job, worker_alive: bool, start_key: str) -> Text:
    """The caption over the pictures: what the preview job did, or that it is on its way."""
    frame = job.params.get("frame", "?")
    if job.status == JobStatus.DONE:
        message = (job.result or {}).get("message", f"frame {frame}")
        return Text(f"{message} · before | after (the after is marked synthetic)")
    if job.status == JobStatus.FAILED:
        return Text(f"frame {frame}: {job.error}", style="bold red")
    if job.status == JobStatus.CANCELLED:
        return Text(f"frame {frame}: the preview was cancelled; p renders it again")
    text = Text(f"rendering frame {frame}… (job {job.id}")
    text.append(", waiting for the worker)" if job.status == JobStatus.QUEUED else ")")
    if job.status == JobStatus.QUEUED and not worker_alive:
        text.append(f" · no worker is running: press {start_key} to start one",
                    style="bold yellow")
    return text


def describe_convert(job: Job, worker_alive: bool, start_key: str) -> Text:
    """The conversion's state: waiting, its progress message, the output written or why not."""
    if job.status == JobStatus.QUEUED:
        text = Text(f"queued (job {job.id}): waiting for the worker")
        if not worker_alive:
            text.append(f" · no worker is running: press {start_key} to start one",
                        style="bold yellow")
        return text
    if job.status == JobStatus.RUNNING:
        doing = "cancelling" if job.cancel_requested else "converting"
        return Text(f"{doing} (job {job.id}): {job.message or 'starting'}", style="yellow")
    if job.status == JobStatus.DONE:
        output = (job.result or {}).get("output", job.params.get("output"))
        return Text(f"done (job {job.id}): {(job.result or {}).get('message', output)}",
                    style="green")
    if job.status == JobStatus.FAILED:
        return Text(f"failed (job {job.id}): {job.error}", style="bold red")
    return Text(f"cancelled (job {job.id}): {job.message}")


def describe_finished(finished: list[Conversion], now: float) -> str:
    if not finished:
        return "no conversions with this session yet"
    return "\n".join(f"{c.output}  {c.frames or 0:,} frames ({c.swapped or 0:,} swapped)  "
                     f"{human_age(now - (c.finished_at or now))} ago" for c in finished)


def session_entry(session: sessions.Session) -> tuple[str, int]:
    return (printable(f"{session.name} (A {session.name_a} → B {session.name_b}, iteration "
                      f"{session.iteration:,})"), session.id)


def source_entry(source: sources.Source) -> tuple[str, int]:
    return printable(f"{source.id}: {source.name} ({source.frame_count} frames)"), source.id


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
        """The pickers' entries, the preview, the conversion and the finished outputs."""

        def __init__(self, reading: Reading) -> None:
            super().__init__()
            self.reading = reading

        def can_replace(self, message: Message) -> bool:
            return isinstance(message, ConvertScreen.Read)

    class PreviewQueued(Message):
        def __init__(self, number: int, job: Job) -> None:
            super().__init__()
            self.number, self.job = number, job

    class PreviewRefused(Message):
        def __init__(self, number: int, error: str) -> None:
            super().__init__()
            self.number, self.error = number, error

    class ConvertQueued(Message):
        def __init__(self, job: Job) -> None:
            super().__init__()
            self.job = job

    def __init__(self) -> None:
        super().__init__()
        self.options = [option for group in groups() for option in group.options]
        self.session_id: int | None = None
        self.source_id: int | None = None
        self.frame = 0
        self.values: dict[str, object] = {}
        self.problems: list[str] = []
        self.preview_job: Job | None = None
        self.preview_error: str | None = None
        self.pictures_of: int | None = None
        self.convert_job: Job | None = None
        self._sessions: list[sessions.Session] = []
        self._sources: list[sources.Source] = []
        self._timer: Timer | None = None
        self._last_request: PreviewRequest | None = None
        self._requests = 0            # preview requests made (numbers them)
        self._shown_request = 0       # the newest whose answer is on screen
        self._queued: tuple[int, int | None] = (0, None)  # (request, job): the newest queued
        self._reads = 0
        self._shown_read = 0
        self._read_version: int | None = None

    @property
    def host(self) -> Host:
        return cast(Host, self.app)

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(id="main"):
            with VerticalScroll(id="form-box") as box:
                box.border_title = "Conversion (as swapdeck convert)"
                box.can_focus = False
                yield form_row("session", "session", "The trained session whose model swaps "
                               "(sessions with a checkpoint)",
                               Select([], prompt="(none)", id="session", compact=True))
                yield form_row("source", "source", "The video whose faces are swapped",
                               Select([], prompt="(none)", id="source", compact=True))
                yield form_row("frame", "preview frame", "The frame previewed, from 0",
                               Input("0", type="integer", id="frame", compact=True))
                yield form_row("output", "output", "The file (png: folder) to write",
                               Input(id="output", compact=True))
                yield form_row("overwrite", "overwrite", "Replace the output if it exists "
                               "(only once the new one is whole)",
                               Checkbox("overwrite", False, id="overwrite", compact=True))
                for group in groups():
                    yield Label(group.help, classes="group")
                    for option in group.options:
                        yield option_field("opt", option)
            with Vertical(id="side"):
                with Vertical(id="preview-box") as box:
                    box.border_title = "Preview"
                    box.can_focus = True
                    box.tooltip = ("One frame before and after, rendered again whenever a "
                                   "setting changes. ←/→ step a frame, shift+←/→ ten, "
                                   "home/end go to the first and last, p renders again.")
                    yield Static("", id="preview-caption", markup=False)
                    with Horizontal(id="pictures"):
                        for side in ("before", "after"):
                            with Vertical(classes="picture"):
                                yield Label(side, classes="picture-label")
                                yield widget_class(self.host.thumbnail_renderer)(id=side)
                with Vertical(id="convert-box") as box:
                    box.border_title = "Convert"
                    with Horizontal(id="convert-row"):
                        yield Button("Convert", id="convert-button", variant="primary",
                                     compact=True)
                        yield Static("", id="convert-status", markup=False)
                    yield ProgressBar(id="convert-progress", show_eta=False)
                    yield Label("finished with this session", classes="group")
                    yield Static("", id="finished", markup=False)
        yield Static(id="problems")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#convert-progress").display = False
        self.query_one("#preview-box").focus()
        self.watch(self.app, "snapshot", self.show_snapshot)
        self.update_form()
        self.refresh_state()

    # --- what the store says -------------------------------------------------------------

    def show_snapshot(self, snap: Snapshot | None) -> None:
        if snap is None:
            return
        if snap.data_version != self._read_version:
            self._read_version = snap.data_version
            self.refresh_state()
        self._show_preview_caption()
        self._show_convert()

    @property
    def worker_alive(self) -> bool:
        return bool(self.host.snapshot and self.host.snapshot.worker_alive)

    def refresh_state(self) -> None:
        self._reads += 1
        output_format = cast(str, self.query_one("#opt-format", Select).value)
        self.read_state(self._reads, Wanted(
            self.session_id, self.source_id, output_format,
            self.preview_job.id if self.preview_job else None, self.pictures_of,
            self.convert_job.id if self.convert_job else None))

    @work(thread=True, group="convert-read", exclusive=True)
    def read_state(self, number: int, wanted: Wanted) -> None:
        try:
            with self.host.store() as conn:
                listed = [s for s in sessions.list_sessions(conn)
                          if sessions.checkpoints(conn, s.id)]
                videos = [s for s in sources.list_sources(conn, ready_only=True)
                          if s.kind == "video"]
                preview_job = (jobs.get(conn, wanted.preview_job)
                               if wanted.preview_job is not None else None)
                preview = (convert_previews.get(conn, preview_job.id)
                           if preview_job is not None and preview_job.status == JobStatus.DONE
                           and preview_job.id != wanted.pictures_of else None)
                convert_job = (jobs.get(conn, wanted.convert_job)
                               if wanted.convert_job is not None else
                               next((j for j in jobs.list_jobs(conn, statuses=ACTIVE)
                                     if j.kind == "convert"), None))
                finished = [c for c in conversions.finished(conn)
                            if c.session_id == wanted.session_id][:FINISHED_SHOWN]
        except (sqlite3.Error, jobs.JobNotFoundError) as exc:
            self.app.notify(f"could not read the project: {exc}", severity="error",
                            markup=False)
            return
        session = next((s for s in listed if s.id == wanted.session_id), None)
        source = next((s for s in videos if s.id == wanted.source_id), None)
        default = (str(default_output(self.host.project.outputs, source, session,
                                      wanted.output_format))
                   if session is not None and source is not None else None)
        pictures = (decode(preview.before), decode(preview.after)) if preview else None
        self.post_message(self.Read(Reading(number, listed, videos, preview_job, pictures,
                                            convert_job, finished, default)))

    def on_convert_screen_read(self, message: Read) -> None:
        reading = message.reading
        if reading.number < self._shown_read:
            return   # a newer reading is on screen already
        self._shown_read = reading.number
        with self.app.batch_update():
            self._fill_pickers(reading)
            if (reading.preview_job is not None and self.preview_job is not None
                    and reading.preview_job.id == self.preview_job.id):
                self.preview_job = reading.preview_job
                if reading.preview_job.status == JobStatus.FAILED:
                    self.pictures_of = None     # no stale pictures under its error
                    self._show_pictures(None, None)
                elif reading.pictures is not None:
                    self.pictures_of = reading.preview_job.id
                    self._show_pictures(*reading.pictures)
            self._show_preview_caption()
            if reading.convert_job is not None and (
                    self.convert_job is None or reading.convert_job.id == self.convert_job.id):
                self.convert_job = reading.convert_job
            self._show_convert()
            self.query_one("#finished", Static).update(
                describe_finished(reading.finished, time.time()))
            output = self.query_one("#output", Input)
            output.placeholder = Path(reading.default_output).name if reading.default_output \
                else ""
            self.query_one("#output-field .help", Static).update(
                f"The file (png: a folder) to write; blank: {reading.default_output} "
                "(numbered if taken)" if reading.default_output
                else "The file (png: a folder) to write")

    def _fill_pickers(self, reading: Reading) -> None:
        session_id = _refill(self.query_one("#session", Select), self.session_id,
                             [session_entry(s) for s in reading.sessions],
                             [session_entry(s) for s in self._sessions])
        source_id = _refill(self.query_one("#source", Select), self.source_id,
                            [source_entry(s) for s in reading.sources],
                            [source_entry(s) for s in self._sources])
        self._sessions, self._sources = reading.sessions, reading.sources
        source = self._source
        self.query_one("#frame-field .help", Static).update(
            f"The frame previewed, 0 to {source.frame_count - 1} (outside a text field: ←/→ "
            "one, shift+←/→ ten, home/end the first and last)" if source is not None
            else "The frame previewed, from 0")
        if (session_id, source_id) != (self.session_id, self.source_id):
            self.session_id, self.source_id = session_id, source_id
            self.update_form()
            self.refresh_state()

    @property
    def _source(self) -> sources.Source | None:
        return next((s for s in self._sources if s.id == self.source_id), None)

    # --- the form ------------------------------------------------------------------------

    @on(Select.Changed, "#session")
    def _session_picked(self, event: Select.Changed) -> None:
        self.session_id = None if event.value is Select.BLANK else cast(int, event.value)
        self.update_form()
        self.refresh_state()   # its finished outputs, the default output's name

    @on(Select.Changed, "#source")
    def _source_picked(self, event: Select.Changed) -> None:
        self.source_id = None if event.value is Select.BLANK else cast(int, event.value)
        self.update_form()     # the frame must be one of its frames
        self.refresh_state()

    @on(Select.Changed, "#opt-format")
    def _format_picked(self) -> None:
        self.refresh_state()   # the default output's extension

    def _typed(self) -> dict[str, object]:
        typed = {}
        for option in self.options:
            control = self.query_one(f"#opt-{option.name}")
            typed[option.name] = control_value(control)
        return typed

    @on(Input.Changed)
    @on(Checkbox.Changed)
    @on(Select.Changed)
    def update_form(self) -> None:
        """Read the form, say what is wrong with it or what ctrl+s does, and schedule a
        preview of the settings read."""
        self.values, problems = read_values(self._typed(), self.options, {})
        frame_text = self.query_one("#frame", Input).value.strip()
        source = self._source
        try:
            self.frame = int(frame_text)
        except ValueError:
            problems.append("type the frame to preview, a whole number from 0")
        else:
            if source is not None and not 0 <= self.frame < source.frame_count:
                problems.append(f"frame {self.frame} is not in {source.name}: it has frames "
                                f"0 to {source.frame_count - 1}")
        self.problems = problems
        shown = self.query_one("#problems", Static)
        if problems:
            shown.update(Text("; ".join(problems), style="bold red"))
            self._show_preview_caption()
            return
        changed = ", ".join(f"{k}={v}" for k, v in self.values.items()) or "the defaults"
        shown.update(Text(f"{key_for(self, 'convert.start', 'ctrl+s')}: convert with "
                          f"{changed}", style="green"))
        self._schedule_preview()

    @on(Input.Submitted)
    def next_field(self) -> None:
        self.focus_next()

    # --- the preview ---------------------------------------------------------------------

    def _preview_request(self) -> PreviewRequest | None:
        if self.problems or self.session_id is None or self.source_id is None:
            return None
        return PreviewRequest(self.session_id, self.source_id, self.frame, dict(self.values))

    def _schedule_preview(self) -> None:
        if self._timer is not None:
            self._timer.stop()
        self._timer = self.set_timer(DEBOUNCE_S, self._request_preview)

    def _request_preview(self, again: bool = False) -> None:
        request = self._preview_request()
        if request is None or (request == self._last_request and not again):
            self._show_preview_caption()
            return
        self._last_request = request
        self._requests += 1
        self.queue_preview(self._requests, request)

    @work(thread=True, group="convert-preview")
    def queue_preview(self, number: int, request: PreviewRequest) -> None:
        refused = None
        try:
            with self.host.store() as conn:
                if number < self._queued[0]:
                    return   # a newer request went first
                previous = self._queued[1]
                if previous is not None and jobs.get(conn, previous).status == JobStatus.QUEUED:
                    jobs.request_cancel(conn, previous)
                try:
                    params = preview_params(conn, sessions.get(conn, request.session_id),
                                            sources.get(conn, request.source_id),
                                            request.settings, request.frame)
                except ConvertRequestError as exc:
                    refused, job = str(exc), None
                    self._queued = (number, None)
                else:
                    job = jobs.get(conn, jobs.enqueue(conn, "convert_preview", params))
                    self._queued = (number, job.id)
                    if self.host.auto_start_worker:
                        ensure_worker(self.host.project, conn)
        except (sessions.SessionError, sources.SourceNotFoundError, jobs.JobNotFoundError,
                sqlite3.Error, OSError) as exc:
            self.app.notify(f"no preview: {exc}", severity="error", markup=False)
            return
        if job is None:
            self.post_message(self.PreviewRefused(number, refused or ""))
        else:
            self.post_message(self.PreviewQueued(number, job))

    def on_convert_screen_preview_queued(self, message: PreviewQueued) -> None:
        if message.number >= self._shown_request:
            self._shown_request = message.number
            self.preview_job, self.preview_error = message.job, None
            self._show_preview_caption()

    def on_convert_screen_preview_refused(self, message: PreviewRefused) -> None:
        if message.number >= self._shown_request:
            self._shown_request = message.number
            self.preview_job, self.preview_error = None, message.error
            self.pictures_of = None
            self._show_pictures(None, None)
            self._show_preview_caption()

    def _show_pictures(self, before: Any, after: Any) -> None:
        cast(Any, self.query_one("#before")).image = before
        cast(Any, self.query_one("#after")).image = after

    def _show_preview_caption(self) -> None:
        caption = self.query_one("#preview-caption", Static)
        if not self._shown_read:
            caption.update("reading the project…")
        elif self.problems:
            caption.update(Text("not previewed: the form has a problem (below)",
                                style="bold red"))
        elif self.session_id is None:
            caption.update(NO_SESSION)
        elif self.source_id is None:
            caption.update(NO_SOURCE)
        elif self.preview_error is not None:
            caption.update(Text(self.preview_error, style="bold red"))
        elif self.preview_job is not None:
            caption.update(describe_preview(self.preview_job, self.worker_alive,
                                            key_for(self, "convert.start_worker", "w")))

    # --- the conversion ------------------------------------------------------------------

    def _show_convert(self) -> None:
        status = self.query_one("#convert-status", Static)
        bar = self.query_one("#convert-progress", ProgressBar)
        job = self.convert_job
        if job is None:
            status.update(f"{key_for(self, 'convert.start', 'ctrl+s')} or enter on Convert: "
                          "convert the whole source with these settings (every output is "
                          "marked synthetic)")
            bar.display = False
        else:
            status.update(describe_convert(job, self.worker_alive,
                                           key_for(self, "convert.start_worker", "w")))
            bar.display = job.status in (JobStatus.RUNNING, JobStatus.DONE)
            total = job.total or (job.progress if job.status == JobStatus.DONE else None)
            bar.update(total=total, progress=job.progress)
        self.refresh_bindings()

    @on(Button.Pressed, "#convert-button")
    def _convert_pressed(self) -> None:
        self.action_convert()

    def action_convert(self) -> None:
        self.update_form()
        if self.problems:
            self.notify("not converted: " + "; ".join(self.problems), severity="error",
                        markup=False)
            return
        if self.session_id is None or self.source_id is None:
            self.notify(NO_SESSION if self.session_id is None else NO_SOURCE,
                        severity="warning")
            return
        output = self.query_one("#output", Input).value.strip()
        self.queue_convert(ConvertRequest(self.session_id, self.source_id, dict(self.values),
                                          Path(output) if output else None,
                                          self.query_one("#overwrite", Checkbox).value))

    @work(thread=True, group="store")
    def queue_convert(self, request: ConvertRequest) -> None:
        try:
            with self.host.store() as conn:
                params = convert_params(conn, self.host.project.outputs,
                                        sessions.get(conn, request.session_id),
                                        sources.get(conn, request.source_id),
                                        request.settings, request.output, request.overwrite)
                job = jobs.get(conn, jobs.enqueue(conn, "convert", params))
                pid = (ensure_worker(self.host.project, conn)
                       if self.host.auto_start_worker else None)
        except (ConvertRequestError, sessions.SessionError, sources.SourceNotFoundError,
                jobs.JobNotFoundError, sqlite3.Error, OSError) as exc:
            self.app.notify(f"not converted: {exc}", severity="error", markup=False)
            return
        self.app.notify(f"queued convert job {job.id}: {params['person']}'s face is swapped "
                        f"into {params['output']}", markup=False)
        if pid is not None:
            self.app.notify(f"started a background worker (pid {pid})")
        self.post_message(self.ConvertQueued(job))

    def on_convert_screen_convert_queued(self, message: ConvertQueued) -> None:
        self.convert_job = message.job
        self._show_convert()

    # --- actions -------------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Frame keys and single letters are left to a text field or an open list; stop
        only while a conversion waits or runs."""
        if action in self.TYPING_ACTIONS and isinstance(self.focused, (Input, OptionList)):
            return False
        if action == "stop":
            return self.convert_job is not None and self.convert_job.status in ACTIVE
        return True

    def action_step(self, delta: int) -> None:
        self._show_frame(self.frame + delta)

    def action_jump(self, to_end: bool) -> None:
        source = self._source
        self._show_frame(source.frame_count - 1 if to_end and source is not None else 0)

    def _show_frame(self, frame: int) -> None:
        if (source := self._source) is not None:
            shown = max(0, min(source.frame_count - 1, frame))
            self.query_one("#frame", Input).value = str(shown)

    def action_preview(self) -> None:
        self.update_form()
        if self._timer is not None:
            self._timer.stop()
        self._request_preview(again=True)

    def action_stop(self) -> None:
        if self.convert_job is not None and self.convert_job.status in ACTIVE:
            self.stop_conversion(self.convert_job.id)

    @work(thread=True, group="store")
    def stop_conversion(self, job_id: int) -> None:
        with self.host.store() as conn:
            outcome = cancel_outcome(job_id, jobs.request_cancel(conn, job_id))
        self.app.notify(outcome)

    def action_start_worker(self) -> None:
        self.host.start_worker()

    def action_back(self) -> None:
        queued = self._queued[1]
        if queued is not None:   # nobody will look at it now
            self.app.run_worker(lambda: self._drop_preview(queued), thread=True,
                                group="store")
        self.app.pop_screen()

    def _drop_preview(self, job_id: int) -> None:
        with self.host.store() as conn:
            if jobs.get(conn, job_id).status == JobStatus.QUEUED:
                jobs.request_cancel(conn, job_id)


def _refill(picker: Select, chosen: int | None, entries: list[tuple[str, int]],
            shown: list[tuple[str, int]]) -> int | None:
    """Rebuild a picker only when its entries change (a rebuilt one forgets its choice);
    returns the choice, which falls back to the first entry when it is gone."""
    if entries == shown:
        return chosen
    ids = [key for _, key in entries]
    if chosen not in ids:
        chosen = ids[0] if ids else None
    with picker.prevent(Select.Changed):
        picker.set_options(entries)
        picker.value = Select.BLANK if chosen is None else chosen
    return chosen
