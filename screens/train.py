"""Train: pick the two people, the model and its options; start, stop, save now; watch it learn.

The twin of `swapdeck train`, `save` and `stop SESSION`: the same options (the trainer's
catalogue, store/requests/train_catalogue.json, with their help text) and the same jobs
(store/requests/train.py). The live panel reads the chosen session from the store in a thread
whenever the app's snapshot changes: iteration, losses, examples/s and ETA (the job's own
progress message), loss sparklines, the newest preview and the swap metrics.

The twin of `swapdeck lr-find` too: a key sweeps the chosen session's learning rate
(faceswap's learning-rate finder), the newest sweep's curve is drawn with its suggested
rate marked, and another key makes that rate the session's and the form's.
"""
from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, cast

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Checkbox, Footer, Header, Input, Label, Select, Sparkline, Static
from textual_plotext import PlotextPlot

from store import identities, jobs, lr_sweeps, sessions
from store.identities import Identity
from store.jobs import JobStatus
from store.lr_sweeps import SweepRequestError, SweepSettings
from store.views.snapshot import Snapshot
from store.requests.train_catalogue import Option, load
from store.requests.train import TrainRequestError, new_session_params, resume_params
from store.views.train import TrainView, read_view
from tui.sweep_plot import describe_sweep, draw_sweep
from tui.format import cancel_outcome
from tui.host import Host
from tui.keymap import key_for
from tui.launcher import ensure_worker
from tui.printable import printable
from tui.thumbs import decode, widget_class
from screens.widgets.form_row import form_row
from screens.widgets.settings_form import (UNSET, control_value, option_field, read_values,
                                       set_control, stored_values)

NEW = -1                      # the session picker's "new session" entry
DEFAULT_MODEL = "original"
NO_PERSON = "(nobody yet)"
SWEEP = SweepSettings()       # what the Find LR key asks for: faceswap's defaults
NOT_DRAWN = -1                # no sweep curve drawn yet (None: "no sweep" drawn)


@dataclass(frozen=True)
class FormReading:
    """The settings the form asks for (only those that differ from the baseline), or why not."""
    values: dict[str, object]
    model_options: dict[str, object]
    problems: tuple[str, ...]


def describe_view(view: TrainView) -> list[str]:
    """The live panel's lines: what the session is doing and how far it has got."""
    session, job = view.session, view.job
    target = session.settings.get("iterations", 0)
    lines = [printable(f"session {session.name}: {session.model}, A {session.name_a} → B "
                       f"{session.name_b}"),
             f"iteration {session.iteration:,} of {target:,}"]
    if job is not None and job.status == JobStatus.RUNNING:
        lines.append(f"training (job {job.id}): {job.message or 'starting'}")
    elif job is not None:
        lines.append(f"queued (job {job.id}): waiting for the worker")
    elif view.last_run is not None:
        lines.append(f"not training; last run ended: {view.last_run.end_reason or 'killed'}")
    else:
        lines.append("not trained yet")
    if view.losses:
        _, loss_a, loss_b = view.losses[-1]
        lines.append(f"loss A {loss_a:.4f}  B {loss_b:.4f}")
    return lines


def describe_metrics(metrics: tuple[sessions.SwapMetrics, ...]) -> str:
    """The swap metrics at the first and the newest preview (identity: similarity of A-to-B
    outputs to B's descriptor centre against A's; pose in degrees; expression in inter-ocular
    units)."""
    measured = [m for m in metrics if m.faces]
    if not measured:
        return "swap metrics: none yet (measured at each save on held-out faces of A)"
    lines = ["swap metrics   iteration  →B id  →A id  pose°  expr"]
    for label, m in (("first", measured[0]), ("newest", measured[-1])):
        lines.append(f"  {label:<7} {m.iteration:>11,}  {_number(m.identity_b)}  "
                     f"{_number(m.identity_a)}  {_number(m.pose_error, 1)}  "
                     f"{_number(m.expression_error)}")
    return "\n".join(lines)


def describe_sweeping(view: TrainView, find_key: str, use_key: str) -> str:
    """The lines under the sweep's curve: a sweep job under way, and what the newest sweep
    found (with the keys that sweep and use its rate)."""
    lines = []
    job = view.sweep_job
    if job is not None and job.status == JobStatus.RUNNING:
        lines.append(f"sweeping the learning rate (job {job.id}): {job.message or 'starting'}")
    elif job is not None:
        lines.append(f"learning-rate sweep queued (job {job.id}): waiting for the worker")
    if view.sweep is None:
        if job is None:
            lines.append(f"no learning-rate sweep yet: {find_key} sweeps it (faceswap's "
                         "learning-rate finder)")
        return "\n".join(lines)
    rate = view.session.settings.get("learning_rate")
    lines += describe_sweep(view.sweep, rate)
    if view.sweep.suggested is not None and view.sweep.suggested != rate:
        lines[-1] += f"; {use_key} uses it"
    return "\n".join(lines)


def _picker_entry(session: sessions.Session) -> tuple[str, int]:
    return (printable(f"{session.name} ({session.model}, A {session.name_a}, B "
                      f"{session.name_b})"), session.id)


def _number(value: float | None, digits: int = 3) -> str:
    return f"{value:5.{digits}f}" if value is not None else "    -"


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
        Binding("escape", "back", "Back", id="train.back",
                tooltip="Go back to the dashboard (training goes on in the worker)"),
    ]

    class Read(Message):
        """The people, the sessions and the chosen session's state, read in a thread."""

        def __init__(self, people: list[Identity], listed: list[sessions.Session],
                     view: TrainView | None) -> None:
            super().__init__()
            self.people, self.listed, self.view = people, listed, view

    class RateSet(Message):
        """A sweep's suggested rate became its session's learning rate."""

        def __init__(self, session_id: int, rate: float) -> None:
            super().__init__()
            self.session_id, self.rate = session_id, rate

    def __init__(self) -> None:
        super().__init__()
        self.catalogue = load()
        self.session_id = NEW
        self.view: TrainView | None = None
        self.reading = FormReading({}, {}, ())
        self._people: list[Identity] = []
        self._listed: list[sessions.Session] = []
        self._model = DEFAULT_MODEL
        self._read_version: int | None = None
        self._pending_name = ""
        self._drawn_sweep: int | None = NOT_DRAWN

    @property
    def host(self) -> Host:
        return cast(Host, self.app)

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(id="main"):
            with VerticalScroll(id="form-box") as box:
                box.border_title = "Session (as swapdeck train)"
                box.can_focus = False
                yield form_row("session", "session", "A new session, or one to resume",
                                  Select([("new session", NEW)], value=NEW, allow_blank=False,
                                         id="session", compact=True))
                yield form_row("name", "name", "The new session's name (blank: A-B-MODEL)",
                                  Input(placeholder="A-B-MODEL", id="name", compact=True))
                for side in ("a", "b"):
                    yield form_row(f"side-{side}", f"side {side.upper()}",
                                      f"The person whose face the model learns as side "
                                      f"{side.upper()} (people come from curation)",
                                      Select([], id=f"side-{side}", compact=True,
                                             prompt=NO_PERSON))
                yield form_row("model", "model", self.catalogue.model(DEFAULT_MODEL).help,
                                  Select([(m, m) for m in sorted(self.catalogue.models)],
                                         value=DEFAULT_MODEL, allow_blank=False, id="model",
                                         compact=True))
                yield Vertical(id="model-options")
                for group in self.catalogue.groups:
                    frozen = " (frozen in the session)" if group.frozen else ""
                    yield Label(f"{group.help}{frozen}", classes="group")
                    for option in group.options:
                        yield option_field("opt", option)
            with Vertical(id="live-box") as box:
                box.border_title = "Training"
                yield Static("Fill in the form and press ctrl+r to start.", id="status",
                             markup=False)
                yield Label("loss A", classes="spark-label")
                yield Sparkline([], id="loss-a")
                yield Label("loss B", classes="spark-label")
                yield Sparkline([], id="loss-b")
                yield widget_class(self.host.thumbnail_renderer)(id="preview")
                yield Static("", id="preview-caption", markup=False)
                yield Static("", id="metrics", markup=False)
                yield PlotextPlot(id="lr-plot")
                yield Static("", id="lr-caption", markup=False)
        yield Static(id="problems")
        yield Footer()

    async def on_mount(self) -> None:
        await self._show_model_options(DEFAULT_MODEL)
        self.query_one("#session", Select).focus()
        self.watch(self.app, "snapshot", self.show_snapshot)
        self.refresh_state()

    # --- what the store says -------------------------------------------------------------

    def show_snapshot(self, snap: Snapshot | None) -> None:
        if snap is not None and snap.data_version != self._read_version:
            self._read_version = snap.data_version
            self.refresh_state()

    @work(thread=True, group="train-read", exclusive=True)
    def refresh_state(self) -> None:
        shown = self.view.preview_iteration if self.view is not None else None
        try:
            with self.host.store() as conn:
                people = identities.list_identities(conn)
                listed = sessions.list_sessions(conn)
                view = (read_view(conn, self.session_id, shown)
                        if self.session_id != NEW else None)
        except (sqlite3.Error, sessions.SessionError) as exc:
            self.app.notify(f"could not read the sessions: {exc}", severity="error",
                            markup=False)
            return
        self.post_message(self.Read(people, listed, view))

    async def on_train_screen_read(self, message: Read) -> None:
        if message.people != self._people:
            self._people = message.people
            self._fill_people()
        entries = [_picker_entry(s) for s in message.listed]
        if entries != [_picker_entry(s) for s in self._listed]:
            # rebuilt only when sessions come or go: a rebuilt picker forgets its choice
            gone = self.session_id not in {s.id for s in message.listed}
            picker = self.query_one("#session", Select)
            with picker.prevent(Select.Changed):
                picker.set_options([("new session", NEW), *entries])
                picker.value = NEW if gone else self.session_id
            if gone and self.session_id != NEW:
                self.session_id, self.view = NEW, None
                await self._fill_form(None)
        baseline_changed = message.listed != self._listed
        self._listed = message.listed
        pending = next((s for s in message.listed if s.name == self._pending_name), None)
        if pending is not None and self.session_id == NEW:
            self._pending_name = ""
            self.query_one("#session", Select).value = pending.id
        if message.view is not None and message.view.session.id == self.session_id:
            self._show_view(message.view)
        if baseline_changed:   # the form reads its dozens of controls: not at every progress
            self.update_form()

    def _fill_people(self) -> None:
        options = [(f"{p.name} ({p.faces} faces)", p.name) for p in self._people]
        for side in ("a", "b"):
            select = self.query_one(f"#side-{side}", Select)
            current = select.value
            select.set_options(options)
            marked = next((p.name for p in self._people if p.side == side.upper()), None)
            names = {p.name for p in self._people}
            chosen = current if current in names else marked
            if chosen is not None:
                select.value = chosen

    def _show_view(self, view: TrainView) -> None:
        self.view = view
        self.query_one("#status", Static).update("\n".join(describe_view(view)))
        self.query_one("#loss-a", Sparkline).data = [a for _, a, _ in view.losses]
        self.query_one("#loss-b", Sparkline).data = [b for _, _, b in view.losses]
        self.query_one("#metrics", Static).update(describe_metrics(view.metrics))
        if view.preview_png is not None:
            cast(Any, self.query_one("#preview")).image = decode(view.preview_png)
        elif view.preview_iteration is None:
            cast(Any, self.query_one("#preview")).image = None
        caption = (f"preview at iteration {view.preview_iteration:,}: A, A→A, A→B | B, B→B, "
                   "B→A (marked synthetic)" if view.preview_iteration is not None
                   else "no preview yet (one is made at every save)")
        self.query_one("#preview-caption", Static).update(caption)
        self._show_sweep(view)
        self.refresh_bindings()

    def _show_sweep(self, view: TrainView | None) -> None:
        """The newest sweep's caption; its curve redrawn only when it is another sweep."""
        caption = (describe_sweeping(view, key_for(self, "train.find_lr", "ctrl+l"),
                                     key_for(self, "train.use_lr", "ctrl+g"))
                   if view is not None else "")
        self.query_one("#lr-caption", Static).update(caption)
        sweep = view.sweep if view is not None else None
        if (sweep.id if sweep is not None else None) != self._drawn_sweep:
            self._drawn_sweep = sweep.id if sweep is not None else None
            plot = self.query_one("#lr-plot", PlotextPlot)
            draw_sweep(plot.plt, sweep)
            plot.refresh()

    # --- the form ------------------------------------------------------------------------

    @on(Select.Changed, "#session")
    async def _session_chosen(self, event: Select.Changed) -> None:
        chosen = cast(int, event.value)
        if chosen == self.session_id:
            return
        self.session_id = chosen
        self.view = None
        session = next((s for s in self._listed if s.id == chosen), None)
        await self._fill_form(session)
        self.refresh_state()

    async def _fill_form(self, session: sessions.Session | None) -> None:
        """An existing session's values, its frozen ones locked; or a blank form."""
        values, model_options = stored_values(session) if session else ({}, {})
        picker = self.query_one("#model", Select)
        known = sorted(self.catalogue.models)
        if session is not None and session.model not in known:
            known.append(session.model)  # made by another version of swapdeck
        picker.set_options([(m, m) for m in known])
        model = session.model if session else DEFAULT_MODEL
        picker.value = model
        await self._show_model_options(cast(str, model), model_options)
        for group in self.catalogue.groups:
            for option in group.options:
                set_control(self.query_one(f"#opt-{option.name}"), option,
                             values.get(option.name, UNSET))
                self.query_one(f"#opt-{option.name}").disabled = bool(session) and group.frozen
        for widget_id in ("name", "side-a", "side-b", "model"):
            self.query_one(f"#{widget_id}").disabled = session is not None
        self.query_one("#name", Input).value = session.name if session else ""
        if session is not None:
            self.query_one("#side-a", Select).value = session.name_a
            self.query_one("#side-b", Select).value = session.name_b
        else:
            self._fill_people()
            self.query_one("#status", Static).update(
                "Fill in the form and press ctrl+r to start.")
            self._show_sweep(None)
        self.update_form()

    @on(Select.Changed, "#model")
    async def _model_chosen(self, event: Select.Changed) -> None:
        if event.value != self._model and self.session_id == NEW:
            await self._show_model_options(cast(str, event.value))
        self.update_form()

    async def _show_model_options(self, model: str,
                                  values: dict[str, object] | None = None) -> None:
        box = self.query_one("#model-options", Vertical)
        await box.remove_children()
        self._model = model
        entry = self.catalogue.models.get(model)
        if entry is None:
            options = ", ".join(f"{k}={v}" for k, v in (values or {}).items())
            await box.mount(Static(f"options: {options}", markup=False))
            self.query_one("#model-field .help", Static).update(
                f"{model} is not a model this version of swapdeck lists")
            return
        await box.mount_all([option_field("model", option,
                                           (values or {}).get(option.name, UNSET),
                                           disabled=self.session_id != NEW)
                             for option in entry.options])
        self.query_one("#model-field .help", Static).update(entry.help)

    def _typed(self, prefix: str, options: Iterable[Option]) -> dict[str, object]:
        """What the form's controls hold (those on screen now); one walk of the screen, not
        one per option (the form has dozens and reads them at every change)."""
        controls = {widget.id: widget for widget in self.query("Input, Select, Checkbox")
                    if widget.id is not None}
        return {option.name: control_value(controls[f"{prefix}-{option.name}"])
                for option in options if f"{prefix}-{option.name}" in controls}

    @on(Input.Changed)
    @on(Checkbox.Changed)
    @on(Select.Changed)
    def update_form(self) -> None:
        session = next((s for s in self._listed if s.id == self.session_id), None)
        baseline, model_baseline = stored_values(session) if session else ({}, {})
        options = [o for g in self.catalogue.groups for o in g.options]
        values, problems = read_values(self._typed("opt", options), options, baseline)
        model_options: dict[str, object] = {}
        if (entry := self.catalogue.models.get(self._model)) is not None:
            model_options, model_problems = read_values(self._typed("model", entry.options),
                                                        entry.options, model_baseline)
            problems += model_problems
        self.reading = FormReading(values, model_options, tuple(problems))
        shown = self.query_one("#problems", Static)
        if problems:
            shown.update(Text("; ".join(problems), style="bold red"))
        elif session is None:
            shown.update(Text(f"{key_for(self, 'train.start', 'ctrl+r')}: start a new "
                              "session with these settings", style="green"))
        else:
            changed = ", ".join(f"{k}={v}" for k, v in values.items()) or "no changes"
            shown.update(Text(f"{key_for(self, 'train.start', 'ctrl+r')}: resume "
                              f"{session.name} ({changed}); grey settings are frozen",
                              style="green"))

    @on(Input.Submitted)
    def next_field(self) -> None:
        self.focus_next()

    # --- actions -------------------------------------------------------------------------

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
        self.update_form()
        if self.reading.problems:
            self.notify("not started: " + "; ".join(self.reading.problems), severity="error",
                        markup=False)
            return
        request = {"values": self.reading.values, "model_options": self.reading.model_options,
                   "name": self.query_one("#name", Input).value.strip() or None,
                   "a": _picked(self.query_one("#side-a", Select)),
                   "b": _picked(self.query_one("#side-b", Select)),
                   "model": self._model}
        self.queue_training(self.session_id, request)

    @work(thread=True, group="store")
    def queue_training(self, session_id: int, request: dict[str, Any]) -> None:
        try:
            with self.host.store() as conn:
                if session_id == NEW:
                    params = new_session_params(
                        conn, model=request["model"], model_options=request["model_options"],
                        settings=request["values"], a=request["a"], b=request["b"],
                        name=request["name"])
                else:
                    params = resume_params(conn, self.host.project.models,
                                           sessions.get(conn, session_id),
                                           request["values"])
                job_id = jobs.enqueue(conn, "train", params)
                pid = (ensure_worker(self.host.project, conn)
                       if self.host.auto_start_worker else None)
        except (TrainRequestError, sessions.SessionError, sqlite3.Error, OSError) as exc:
            self.app.notify(f"not started: {exc}", severity="error", markup=False)
            return
        what = (f"new session {params['new_session']['name']}" if session_id == NEW
                else "the session")
        self.app.notify(f"queued train job {job_id} for {what}", markup=False)
        if pid is not None:
            self.app.notify(f"started a background worker (pid {pid})")
        if session_id == NEW:
            self._pending_name = params["new_session"]["name"]  # shown once its job makes it

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
                job_id = jobs.enqueue(conn, lr_sweeps.KIND, params)
                pid = (ensure_worker(self.host.project, conn)
                       if self.host.auto_start_worker else None)
        except (SweepRequestError, sessions.SessionError, sqlite3.Error, OSError) as exc:
            self.app.notify(f"no sweep: {exc}", severity="error", markup=False)
            return
        self.app.notify(f"queued learning-rate sweep job {job_id} ({SWEEP.iterations:,} "
                        "steps)", markup=False)
        if pid is not None:
            self.app.notify(f"started a background worker (pid {pid})")

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
        if message.session_id == self.session_id:
            _, option = self.catalogue.setting("learning_rate")
            set_control(self.query_one("#opt-learning_rate"), option, message.rate)
            self.notify(f"learning rate {message.rate:.3g}: the session's next run trains "
                        "at it", markup=False)
        self.refresh_state()

    def action_back(self) -> None:
        self.app.pop_screen()


def _picked(select: Select) -> str | None:
    return None if select.value is Select.BLANK else cast(str, select.value)
