"""Train: pick the two people, the model and its options; start, stop, save now; watch it learn.

The twin of `swapdeck train`, `save`, `stop SESSION` and `lr-find`: the same options (the
train family of store/requests/catalogue.py, with their help text) and the same
jobs (store/requests/train.py, store/lr_sweeps.py). The panels (screens/widgets/train_*.py)
show what a thread reads (store/views/train.py) whenever the app's snapshot changes: the
session's state, losses, previews, swap metrics and its newest learning-rate sweep, drawn with
its suggested rate marked, which a key makes the session's and the form's.
"""
from __future__ import annotations

import sqlite3
from typing import Any, cast

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Checkbox, Header, Input, Select, Static

from store import jobs, lr_sweeps, sessions
from store.lr_sweeps import SweepRequestError, SweepSettings
from store.requests.train import TrainRequestError, new_session_params, resume_params
from store.views.snapshot import Snapshot
from store.views.train import TrainState, TrainView, read_state
from tui.format import cancel_outcome
from tui.host import Host
from tui.keymap import key_for, refresh_footer
from tui.launcher import ensure_worker
from screens.widgets.keys_footer import KeysFooter
from screens.widgets.settings_form import ask_for_field
from screens.widgets.train_form import NEW, FormReading, TrainForm
from screens.widgets.train_loss import LossGraph
from screens.widgets.train_preview import TrainPreview
from screens.widgets.train_status import TrainStatus
from screens.widgets.train_sweep import SweepPanel

SWEEP = SweepSettings()       # what the Find LR key asks for: faceswap's defaults


class TrainScreen(Screen[None]):
    CSS_PATH = "train.tcss"
    BINDINGS = [
        Binding("ctrl+r", "start", "Start", id="train.start",
                tooltip="Start training: a new session from the form, or resume the chosen "
                        "one with the per-run settings changed"),
        Binding("ctrl+t", "stop", "Stop", id="train.stop",
                tooltip="Stop the chosen session's training; it saves first"),
        Binding("ctrl+s", "save_now", "Save now", id="train.save_now",
                tooltip="Ask the chosen session to save (model, preview, metrics) within a "
                        "few iterations"),
        Binding("ctrl+l", "find_lr", "Find LR", id="train.find_lr",
                tooltip="Sweep the chosen session's learning rate (faceswap's learning-rate "
                        "finder: its weights train in memory at rising rates; its files are "
                        "left alone); the curve and the suggested rate show below"),
        Binding("ctrl+g", "use_lr", "Use LR", id="train.use_lr",
                tooltip="Make the newest sweep's suggested rate the learning rate of the "
                        "form and of the session (its next run trains at it)"),
        Binding("ctrl+o", "go_to", "Go to", id="train.go_to",
                tooltip="Move to a setting of the form by typing its name (right arrow "
                        "completes)"),
        Binding("escape", "back", "Back", id="train.back",
                tooltip="Go back to the dashboard (training goes on in the worker)"),
    ]

    def action_go_to(self) -> None:
        ask_for_field(self.form)

    class Read(Message):
        """The people, the sessions and the chosen session's state, read in a thread."""

        def __init__(self, state: TrainState) -> None:
            super().__init__()
            self.state = state

    class Queued(Message):
        """A new session's train job was queued (its session is made when the job starts)."""

        def __init__(self, session_name: str) -> None:
            super().__init__()
            self.session_name = session_name

    class RateSet(Message):
        """A sweep's suggested rate became its session's learning rate."""

        def __init__(self, session_id: int, rate: float) -> None:
            super().__init__()
            self.session_id, self.rate = session_id, rate

    def __init__(self) -> None:
        super().__init__()
        self.form = TrainForm(id="form-box")
        self.view: TrainView | None = None
        self._read_version: int | None = None

    @property
    def host(self) -> Host:
        return cast(Host, self.app)

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(id="main"):
            yield self.form
            with Vertical(id="live-box") as box:
                box.border_title = "Training"
                yield TrainStatus(id="status")
                yield LossGraph(id="losses")
                yield TrainPreview(self.host.thumbnail_renderer, id="preview-box")
                yield SweepPanel(id="sweep-box")
        yield Static(id="problems")
        yield KeysFooter()

    def on_mount(self) -> None:
        self.query_one("#session", Select).focus()
        self.watch(self.app, "snapshot", self.show_snapshot)
        self._refresh()

    def show_snapshot(self, snap: Snapshot | None) -> None:
        if snap is not None and snap.data_version != self._read_version:
            self._read_version = snap.data_version
            self._refresh()

    def _refresh(self) -> None:
        chosen = self.form.session_id
        self.refresh_state(chosen if chosen != NEW else None,
                        self.view.preview_iteration if self.view is not None else None)

    @work(thread=True, group="train-read", exclusive=True)
    def refresh_state(self, session_id: int | None, shown_preview: int | None) -> None:
        try:
            with self.host.store() as conn:
                state = read_state(conn, session_id, shown_preview)
        except (sqlite3.Error, sessions.SessionError) as exc:
            self.app.notify(f"could not read the sessions: {exc}", severity="error",
                            markup=False)
            return
        self.post_message(self.Read(state))

    async def on_train_screen_read(self, message: Read) -> None:
        state = message.state
        self.form.show_people(state.people)
        baseline_changed = await self.form.show_sessions(state.listed)
        if state.view is not None and state.view.session.id == self.form.session_id:
            self.view = state.view
            for panel in (TrainStatus, LossGraph, TrainPreview, SweepPanel):
                self.query_one(panel).show(state.view)
            refresh_footer(self)
        if baseline_changed:   # the form reads its dozens of controls: not at every progress
            self.update_form()

    def on_train_form_session_chosen(self, message: TrainForm.SessionChosen) -> None:
        self.view = None
        if message.session_id == NEW:
            for panel in (TrainStatus, SweepPanel):
                self.query_one(panel).show(None)
        self.update_form()
        self._refresh()

    @on(Select.Changed, "#session, #model")
    async def _picked(self, event: Select.Changed) -> None:
        """The form's pickers, answered here: reading the store and filling take turns."""
        chosen = self.form.choose if event.select.id == "session" else self.form.choose_model
        await chosen(event.value)

    @on(Input.Changed)
    @on(Checkbox.Changed)
    @on(Select.Changed)
    def update_form(self) -> FormReading:
        """Read the form; show what is wrong, or what a start would do."""
        reading = self.form.read()
        self.query_one("#problems", Static).update(
            self.form.summary(reading, key_for(self, "train.start", "ctrl+r")))
        return reading

    @on(Input.Submitted)
    def next_field(self) -> None:
        self.focus_next()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Stop and save now only for a chosen session that is training; a sweep only
        for one that is neither training nor being swept; use only a suggested rate."""
        view = self.view
        if action in ("stop", "save_now"):
            return view is not None and view.job is not None
        if action == "find_lr":
            return view is not None and view.job is None and view.sweep_job is None
        if action == "use_lr":
            return (view is not None and view.sweep is not None
                    and view.sweep.suggested is not None)
        return True

    def action_start(self) -> None:
        reading = self.update_form()
        if reading.problems:
            self.notify("not started: " + "; ".join(reading.problems.values()), severity="error",
                        markup=False)
            return
        self.queue_training(self.form.session_id, self.form.request(reading))

    @work(thread=True, group="store")
    def queue_training(self, session_id: int, request: dict[str, Any]) -> None:
        try:
            with self.host.store() as conn:
                params = (new_session_params(conn, **request) if session_id == NEW else
                          resume_params(conn, self.host.project.models,
                                        sessions.get(conn, session_id), request["settings"]))
                new_name = params["new_session"]["name"] if session_id == NEW else ""
                what = f"new session {new_name}" if new_name else "the session"
                self._enqueue(conn, "train", params, "train", f"for {what}")
        except (TrainRequestError, sessions.SessionError, sqlite3.Error, OSError) as exc:
            self.app.notify(f"not started: {exc}", severity="error", markup=False)
            return
        if new_name:
            self.post_message(self.Queued(new_name))

    def on_train_screen_queued(self, message: Queued) -> None:
        self.form.pending_name = message.session_name  # chosen once its job makes it

    def _enqueue(self, conn: sqlite3.Connection, kind: str, params: dict[str, Any],
                 label: str, about: str) -> None:
        """Queue a job, start a worker for it unless one is alive, and say what was done."""
        job_id = jobs.enqueue(conn, kind, params)
        pid = ensure_worker(self.host.project, conn) if self.host.auto_start_worker else None
        self.app.notify(f"queued {label} job {job_id} {about}", markup=False)
        if pid is not None:
            self.app.notify(f"started a background worker (pid {pid})")

    def action_stop(self) -> None:
        if self.view is not None and self.view.job is not None:
            self.stop_training(self.view.job.id)

    @work(thread=True, group="store")
    def stop_training(self, job_id: int) -> None:
        with self.host.store() as conn:
            outcome = cancel_outcome(job_id, jobs.request_cancel(conn, job_id))
        self.app.notify(f"{outcome}; a running session saves before it stops")

    def action_save_now(self) -> None:
        if self.view is not None and self.view.job is not None:
            self.ask_save(self.view.session.id)

    @work(thread=True, group="store")
    def ask_save(self, session_id: int) -> None:
        with self.host.store() as conn:
            sessions.request_save(conn, session_id)
        self.app.notify("asked the session to save within a few iterations")

    def action_find_lr(self) -> None:
        if self.view is not None:
            self.queue_sweep(self.view.session.id)

    @work(thread=True, group="store")
    def queue_sweep(self, session_id: int) -> None:
        try:
            with self.host.store() as conn:
                params = lr_sweeps.sweep_params(conn, sessions.get(conn, session_id), SWEEP)
                self._enqueue(conn, lr_sweeps.KIND, params, "learning-rate sweep",
                              f"({SWEEP.iterations:,} steps)")
        except (SweepRequestError, sessions.SessionError, sqlite3.Error, OSError) as exc:
            self.app.notify(f"no sweep: {exc}", severity="error", markup=False)

    def action_use_lr(self) -> None:
        if self.view is not None and self.view.sweep is not None:
            self.use_sweep(self.view.sweep.id)

    @work(thread=True, group="store")
    def use_sweep(self, sweep_id: int) -> None:
        try:
            with self.host.store() as conn:
                sweep = lr_sweeps.apply(conn, sweep_id)
        except (SweepRequestError, sqlite3.Error) as exc:
            self.app.notify(f"not set: {exc}", severity="error", markup=False)
            return
        if sweep.suggested is not None:
            self.post_message(self.RateSet(sweep.session_id, sweep.suggested))

    def on_train_screen_rate_set(self, message: RateSet) -> None:
        """Show the stored rate in the form (it is the session's baseline now)."""
        if message.session_id == self.form.session_id:
            self.form.show_rate(message.rate)
            self.notify(f"learning rate {message.rate:.3g}: the session's next run trains "
                        "at it", markup=False)
        self._refresh()

    def action_back(self) -> None:
        self.app.pop_screen()
