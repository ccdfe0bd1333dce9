"""The Train screen's form: a session to resume (or a new one's name, people and model) and
the trainer's options (the train family of store/requests/catalogue.py, with their help).

The one place the Train screen shows and reads settings through screens/widgets/settings_form:
a blank field means the baseline (the chosen session's value, else the default), and only
values that differ are asked for, and a value the catalogue refuses is marked in its field. Choosing a session fills the form with its values, its
frozen ones locked, and says so with `SessionChosen`. The screen calls its methods from its
own handlers, so reading the store and filling the form take turns.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, cast

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical, VerticalScroll
from textual.message import Message
from textual.widgets import Input, Label, Select, Static

from store.identities import Identity
from store.requests.catalogue import load
from store.sessions import Session
from tui.printable import printable
from screens.widgets.focus_mark import MarksFocusWithin
from screens.widgets.form_row import form_row
from screens.widgets.settings_form import (UNSET, option_field, read_form, set_control,
                                           stored_values)

NEW = -1                      # the session picker's "new session" entry
DEFAULT_MODEL = "original"
NO_PERSON = "(nobody yet)"


@dataclass(frozen=True)
class FormReading:
    """The settings the form asks for (only those that differ from the baseline), and what
    is wrong with the others, by control id."""
    values: dict[str, object]
    model_options: dict[str, object]
    problems: dict[str, str]


class TrainForm(MarksFocusWithin, VerticalScroll):
    class SessionChosen(Message):
        """Another session (or NEW) is chosen, and the form shows it."""

        def __init__(self, session_id: int) -> None:
            super().__init__()
            self.session_id = session_id

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.border_title = "Session (as swapdeck train)"
        self.can_focus = False
        self.catalogue = load()
        self.session_id = NEW
        self.model = DEFAULT_MODEL
        self.pending_name = ""          # a new session queued: chosen once its job makes it
        self._people: list[Identity] = []
        self._listed: list[Session] = []

    def compose(self) -> ComposeResult:
        yield form_row("session", "session", "A new session, or one to resume",
                       Select([("new session", NEW)], value=NEW, allow_blank=False,
                              id="session", compact=True))
        yield form_row("name", "name", "The new session's name (blank: A-B-MODEL)",
                       Input(placeholder="A-B-MODEL", id="name", compact=True))
        for side in ("a", "b"):
            yield form_row(f"side-{side}", f"side {side.upper()}",
                           f"The person whose face the model learns as side {side.upper()} "
                           "(people come from curation)",
                           Select([], id=f"side-{side}", compact=True, prompt=NO_PERSON))
        yield form_row("model", "model", self.catalogue.model(DEFAULT_MODEL).help,
                       Select([(m, m) for m in sorted(self.catalogue.models)],
                              value=DEFAULT_MODEL, allow_blank=False, id="model", compact=True))
        yield Vertical(id="model-options")
        for group in self.catalogue.train.groups:
            frozen = " (frozen in the session)" if group.frozen else ""
            yield Label(f"{group.help}{frozen}", classes="group")
            for option in group.options:
                yield option_field("opt", option)

    async def on_mount(self) -> None:
        await self._show_model_options(DEFAULT_MODEL)

    @property
    def session(self) -> Session | None:
        """The chosen session (None: a new one)."""
        return next((s for s in self._listed if s.id == self.session_id), None)

    # --- what the store says -------------------------------------------------------------

    def show_people(self, people: list[Identity]) -> None:
        if people != self._people:
            self._people = people
            self._fill_people()

    async def show_sessions(self, listed: list[Session]) -> bool:
        """Offer `listed` in the picker; True when the chosen session's baseline changed."""
        entries = [_picker_entry(s) for s in listed]
        if entries != [_picker_entry(s) for s in self._listed]:
            # rebuilt only when sessions come or go: a rebuilt picker forgets its choice
            gone = self.session_id not in {s.id for s in listed}
            picker = self.query_one("#session", Select)
            with picker.prevent(Select.Changed):
                picker.set_options([("new session", NEW), *entries])
                picker.value = NEW if gone else self.session_id
            if gone and self.session_id != NEW:
                await self.choose(NEW)
        baseline_changed = listed != self._listed
        self._listed = listed
        pending = next((s for s in listed if s.name == self.pending_name), None)
        if pending is not None and self.session_id == NEW:
            self.pending_name = ""
            self.query_one("#session", Select).value = pending.id
        return baseline_changed

    def _fill_people(self) -> None:
        options = [(f"{p.name} ({p.faces} faces)", p.name) for p in self._people]
        names = {p.name for p in self._people}
        for side in ("a", "b"):
            select = self.query_one(f"#side-{side}", Select)
            current = select.value
            select.set_options(options)
            marked = next((p.name for p in self._people if p.side == side.upper()), None)
            chosen = current if current in names else marked
            if chosen is not None:
                select.value = chosen

    # --- choosing (called in the screen's message queue: a store read never lands mid-fill) --

    async def choose(self, picked: object) -> None:
        """Show the picked session's values (NEW: a blank form); say so with SessionChosen."""
        session_id = cast(int, picked)
        if session_id == self.session_id:
            return
        self.session_id = session_id
        await self._fill(self.session)
        self.post_message(self.SessionChosen(session_id))

    async def _fill(self, session: Session | None) -> None:
        """An existing session's values, its frozen ones locked; or a blank form."""
        values, model_options = stored_values(session) if session else ({}, {})
        picker = self.query_one("#model", Select)
        known = sorted(self.catalogue.models)
        if session is not None and session.model not in known:
            known.append(session.model)  # made by another version of swapdeck
        picker.set_options([(m, m) for m in known])
        model = session.model if session else DEFAULT_MODEL
        picker.value = model
        await self._show_model_options(model, model_options)
        for group in self.catalogue.train.groups:
            for option in group.options:
                control = self.query_one(f"#opt-{option.name}")
                set_control(control, option, values.get(option.name, UNSET))
                control.disabled = bool(session) and group.frozen
        for widget_id in ("name", "side-a", "side-b", "model"):
            self.query_one(f"#{widget_id}").disabled = session is not None
        self.query_one("#name", Input).value = session.name if session else ""
        if session is not None:
            self.query_one("#side-a", Select).value = session.name_a
            self.query_one("#side-b", Select).value = session.name_b
        else:
            self._fill_people()

    async def choose_model(self, picked: object) -> None:
        """A new session's model: show its options."""
        if picked != self.model and self.session_id == NEW:
            await self._show_model_options(cast(str, picked))

    async def _show_model_options(self, model: str,
                                  values: dict[str, object] | None = None) -> None:
        box = self.query_one("#model-options", Vertical)
        await box.remove_children()
        self.model = model
        entry = self.catalogue.models.get(model)
        help_text = self.query_one("#model-field .help", Static)
        if entry is None:
            options = ", ".join(f"{k}={v}" for k, v in (values or {}).items())
            await box.mount(Static(f"options: {options}", markup=False))
            help_text.update(f"{model} is not a model this version of swapdeck lists")
            return
        await box.mount_all([option_field("model", option,
                                           (values or {}).get(option.name, UNSET),
                                           disabled=self.session_id != NEW)
                             for option in entry.options])
        help_text.update(entry.help)

    # --- reading -------------------------------------------------------------------------

    def read(self) -> FormReading:
        """What the form asks for, against the chosen session's stored values."""
        session = self.session
        baseline, model_baseline = stored_values(session) if session else ({}, {})
        options = [o for g in self.catalogue.train.groups for o in g.options]
        values, problems = read_form(self, "opt", options, baseline)
        by_control = {f"opt-{name}": problem for name, problem in problems.items()}
        model_options: dict[str, object] = {}
        if (entry := self.catalogue.models.get(self.model)) is not None:
            model_options, model_problems = read_form(self, "model", entry.options,
                                                      model_baseline)
            by_control.update({f"model-{name}": p for name, p in model_problems.items()})
        return FormReading(values, model_options, by_control)

    def request(self, reading: FormReading) -> dict[str, Any]:
        """A start's request, as `new_session_params` takes it: the reading's settings and the
        new session's name, people and model (a resume uses only the settings)."""
        return {"settings": reading.values, "model_options": reading.model_options,
                "name": self.query_one("#name", Input).value.strip() or None,
                "a": _picked(self.query_one("#side-a", Select)),
                "b": _picked(self.query_one("#side-b", Select)),
                "model": self.model}

    def summary(self, reading: FormReading, start_key: str) -> Text:
        """What is wrong with the reading, or what `start_key` would do with it."""
        session = self.session
        if reading.problems:
            return Text("; ".join(reading.problems.values()), style="bold red")
        if session is None:
            return Text(f"{start_key}: start a new session with these settings", style="green")
        changed = ", ".join(f"{k}={v}" for k, v in reading.values.items()) or "no changes"
        return Text(f"{start_key}: resume {session.name} ({changed}); grey settings are frozen",
                    style="green")

    def show_rate(self, rate: float) -> None:
        """Show a learning rate the session now stores (its new baseline)."""
        option = self.catalogue.train.option("learning_rate")
        set_control(self.query_one("#opt-learning_rate"), option, rate)


def _picker_entry(session: Session) -> tuple[str, int]:
    return (printable(f"{session.name} ({session.model}, A {session.name_a}, B "
                      f"{session.name_b})"), session.id)


def _picked(select: Select) -> str | None:
    return None if select.is_blank() else cast(str, select.value)
