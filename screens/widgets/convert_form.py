"""The Convert screen's form: the session, the source, the frame previewed, the output and
every option of the converter's catalogue (`load().convert`, store/requests/catalogue.py) with
its help. Any change posts `ConvertForm.Changed` with the form as read.

Each source says how many faces of the person swapped it has (the store's count, read with the
view), and until a source is picked by hand the one with the most is picked."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import cast

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.message import Message
from textual.widgets import Checkbox, Input, Label, Select, Static

from store.requests.catalogue import load
from store.requests.convert import side_from
from store.sessions import Session
from store.sources import Source
from store.training_faces import Person
from store.views.convert import ConvertView
from tui.printable import printable
from screens.widgets.focus_mark import MarksFocusWithin
from screens.widgets.form_row import form_row
from screens.widgets.settings_form import option_field, read_form


@dataclass(frozen=True)
class FormChoice:
    """The form as read: what a preview and a conversion are asked with, or what is wrong."""
    session_id: int | None
    source_id: int | None
    frame: int
    output_format: str
    values: dict[str, object]       # the settings that differ from their defaults
    problems: tuple[str, ...]
    output: Path | None             # None: the default output
    overwrite: bool

    @property
    def person(self) -> str | None:
        """The person named in the settings; None: the session's person of the side."""
        return cast("str | None", self.values.get("person"))

    @property
    def side(self) -> str:
        """The side whose person is swapped."""
        return side_from(str(self.values.get("direction")
                             or load().convert.option("direction").default))

    @property
    def read_key(self) -> tuple[int | None, int | None, str, str, str | None]:
        """What the store is read for: its outputs, the default output's name and the faces
        of the person swapped."""
        return self.session_id, self.source_id, self.output_format, self.side, self.person


def describe_choice(choice: FormChoice, convert_key: str) -> Text:
    """The line under the form: what is wrong with it, or what the convert key does."""
    if choice.problems:
        return Text("; ".join(choice.problems), style="bold red")
    changed = ", ".join(f"{k}={v}" for k, v in choice.values.items()) or "the defaults"
    return Text(f"{convert_key}: convert with {changed}", style="green")


def session_entry(session: Session) -> tuple[str, int]:
    return (printable(f"{session.name} (A {session.name_a} → B {session.name_b}, iteration "
                      f"{session.iteration:,})"), session.id)


def source_entry(source: Source, person: Person | None = None,
                 faces: int = 0) -> tuple[str, int]:
    """A source as offered: with how many faces of the person swapped it has, once known."""
    found = f", {faces:,} face{'s' * (faces != 1)} of {person.name}" if person else ""
    return (printable(f"{source.id}: {source.name} ({source.frame_count} frames{found})"),
            source.id)


def most_faces(view: ConvertView, chosen: int | None) -> int | None:
    """The source with the most faces of the person (the chosen one among equals)."""
    if not view.sources:
        return None
    counts = view.person_faces
    best = max(view.sources, key=lambda s: (counts.get(s.id, 0), s.id == chosen))
    return best.id


def refill(picker: Select, entries: list[tuple[str, int]],
           shown: list[tuple[str, int]]) -> None:
    """Rebuild a picker only when its entries change (a rebuilt one forgets its choice); the
    choice falls back to the first entry when it is gone."""
    if entries == shown:
        return
    ids = [key for _, key in entries]
    chosen = picker.value
    if chosen not in ids:
        chosen = ids[0] if ids else Select.NULL
    with picker.prevent(Select.Changed):
        picker.set_options(entries)
        picker.value = chosen


def picked(picker: Select) -> int | None:
    return None if picker.is_blank() else cast(int, picker.value)


class ConvertForm(MarksFocusWithin, VerticalScroll):
    class Changed(Message):
        def __init__(self, choice: FormChoice) -> None:
            super().__init__()
            self.choice = choice

    def __init__(self) -> None:
        super().__init__(id="form-box")
        self.border_title = "Conversion (as swapdeck convert)"
        self.can_focus = False
        self.options = [option for group in load().convert.groups for option in group.options]
        self.frame = 0                      # the last whole number typed as the frame
        self._sessions: tuple[Session, ...] = ()
        self._sources: list[tuple[str, int]] = []   # the source entries offered
        self._source_list: tuple[Source, ...] = ()
        self.source_by_hand = False         # a source picked by hand stays picked
        self._source_set_here: int | None = None    # the source this form last showed picked

    def compose(self) -> ComposeResult:
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
        for group in load().convert.groups:
            yield Label(group.help, classes="group")
            for option in group.options:
                yield option_field("opt", option)

    @property
    def session_id(self) -> int | None:
        return picked(self.query_one("#session", Select))

    @property
    def source_id(self) -> int | None:
        return picked(self.query_one("#source", Select))

    @property
    def source(self) -> Source | None:
        return next((s for s in self._source_list if s.id == self.source_id), None)

    @on(Input.Changed)
    @on(Checkbox.Changed)
    @on(Select.Changed)
    def _changed(self, event: Input.Changed | Checkbox.Changed | Select.Changed) -> None:
        if isinstance(event, Select.Changed) and event.select.id == "source":
            self.source_by_hand = True
        self.post_message(self.Changed(self.read()))

    @on(Input.Submitted)
    def _next_field(self) -> None:
        self.screen.focus_next()

    def read(self) -> FormChoice:
        """What the form asks for and what is wrong with it (the wrong fields marked)."""
        values, wrong = read_form(self, "opt", self.options, {})
        frame_problems = self._frame_problems()
        self.query_one("#frame", Input).set_class(bool(frame_problems), "-invalid")
        problems = [*wrong.values(), *frame_problems]
        output = self.query_one("#output", Input).value.strip()
        return FormChoice(self.session_id, self.source_id, self.frame,
                          cast(str, self.query_one("#opt-format", Select).value), values,
                          tuple(problems), Path(output) if output else None,
                          self.query_one("#overwrite", Checkbox).value)

    def _frame_problems(self) -> list[str]:
        try:
            self.frame = int(self.query_one("#frame", Input).value.strip())
        except ValueError:
            return ["type the frame to preview, a whole number from 0"]
        source = self.source
        if source is not None and not 0 <= self.frame < source.frame_count:
            return [f"frame {self.frame} is not in {source.name}: it has frames "
                    f"0 to {source.frame_count - 1}"]
        return []

    def show(self, view: ConvertView, default_output: str | None) -> bool:
        """Offer the view's sessions and sources; True when the session or the source picked
        changed (the one picked is gone, or there was none)."""
        before = (self.session_id, self.source_id)
        if self.source_id != self._source_set_here:
            self.source_by_hand = True      # picked since: its Changed may still be on its way
        refill(self.query_one("#session", Select), [session_entry(s) for s in view.sessions],
               [session_entry(s) for s in self._sessions])
        entries = [source_entry(s, view.person, view.person_faces.get(s.id, 0))
                   for s in view.sources]
        picker = self.query_one("#source", Select)
        refill(picker, entries, self._sources)
        self._sessions, self._sources, self._source_list = view.sessions, entries, view.sources
        best = most_faces(view, self.source_id)
        if view.person is not None and not self.source_by_hand and best != self.source_id:
            with picker.prevent(Select.Changed):
                picker.value = best
        self._source_set_here = self.source_id
        source = self.source
        self.query_one("#frame-field .help", Static).update(
            f"The frame previewed, 0 to {source.frame_count - 1} (outside a text field: ←/→ "
            "one, shift+←/→ ten, home/end the first and last)" if source is not None
            else "The frame previewed, from 0")
        self.query_one("#output", Input).placeholder = (Path(default_output).name
                                                        if default_output else "")
        self.query_one("#output-field .help", Static).update(
            f"The file (png: a folder) to write; blank: {default_output} (numbered if taken)"
            if default_output else "The file (png: a folder) to write")
        return (self.session_id, self.source_id) != before

    def step_frame(self, delta: int) -> None:
        self.show_frame(self.frame + delta)

    def jump_frame(self, to_end: bool) -> None:
        source = self.source
        self.show_frame(source.frame_count - 1 if to_end and source is not None else 0)

    def show_frame(self, frame: int) -> None:
        """Put a frame of the source in the frame field (which posts Changed)."""
        if (source := self.source) is not None:
            self.query_one("#frame", Input).value = str(max(0, min(source.frame_count - 1,
                                                                   frame)))
