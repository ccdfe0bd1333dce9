"""The trainer's settings as form rows: one control per catalogue option, with its help.

The Train screen's form and the Analysis screen's resume dialog show and read settings
the same way: a blank Input or an untouched control means the baseline (what a resume of the
session trains with, store/sessions_baseline.py; for a new session the option's default),
and a blank Input's placeholder shows that baseline; only values that differ are asked for.
"""
from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from textual.containers import Horizontal
from textual.widget import Widget
from textual.widgets import Checkbox, Input, Select

from store import sessions
from store.requests.catalogue import load
from store.sessions_baseline import resume_baseline
from store.requests.options import Option, OptionValueError
from screens.dialogs.choose import AskTextDialog
from screens.widgets.form_row import form_row

UNSET = object()              # a form control showing its option's default
CONTROLS = (Input, Select, Checkbox)


def read_values(typed: dict[str, object], options: Iterable[Option],
                baseline: dict[str, object]) -> tuple[dict[str, object], dict[str, str]]:
    """Typed text (Inputs; blank means the baseline) and picked values (checkboxes, selects)
    as option values, keeping only those that differ from `baseline`; and what is wrong with
    the others, by option name."""
    values: dict[str, object] = {}
    problems: dict[str, str] = {}
    for option in options:
        raw = typed.get(option.name)
        if raw is None or (isinstance(raw, str) and not raw.strip()):
            continue
        try:
            value = option.parse(raw) if isinstance(raw, str) else raw
        except OptionValueError as exc:
            problems[option.name] = str(exc)
            continue
        if value != baseline.get(option.name, option.default):
            values[option.name] = value
    return values, problems


def read_form(root: Widget, prefix: str, options: Iterable[Option],
              baseline: dict[str, object]) -> tuple[dict[str, object], dict[str, str]]:
    """read_values of the controls `#{prefix}-{name}` under `root`, marking the controls of
    the options with a problem (CSS class -invalid) and unmarking the others. One walk of
    the form: a form has dozens of fields and is read at every key typed, so it is walked by type: a CSS
    query matches each node's path and took tens of milliseconds here."""
    controls = {widget.id: widget for widget in root.walk_children(Widget)
                if isinstance(widget, CONTROLS) and widget.id is not None
                and widget.id.startswith(f"{prefix}-")}
    shown = {option.name: controls[f"{prefix}-{option.name}"] for option in options
             if f"{prefix}-{option.name}" in controls}
    values, problems = read_values({name: control_value(control)
                                    for name, control in shown.items()}, options, baseline)
    for name, control in shown.items():
        control.set_class(name in problems, "-invalid")
    return values, problems


def stored_values(session: sessions.Session) -> tuple[dict[str, object], dict[str, object]]:
    """A session's settings (the frozen ones, and the per-run ones a resume trains with) and
    its model options, flat by name, as the form shows them."""
    flat = {**load().train.flatten(session.config, {}), **resume_baseline(session)}
    return flat, dict(session.config.get("model_options", {}))


def placeholder(option: Option, value: object = UNSET) -> str:
    """What a blank Input stands for: `value` (the baseline), else the option's default."""
    return option.default_shown if value is UNSET else option.show(value)


def option_field(prefix: str, option: Option, value: object = UNSET,
                  disabled: bool = False) -> Horizontal:
    """One option of the catalogue as a form row showing `value` (UNSET: its default)."""
    control: Input | Select | Checkbox
    widget_id = f"{prefix}-{option.name}"
    shown = option.default if value is UNSET else value
    if option.type == "bool":
        control = Checkbox(option.name.replace("_", " "), bool(shown), id=widget_id,
                           compact=True)
    elif option.choices is not None:
        # a Select holds the values as typed, and the form parses them like an Input's
        choices = [option.show(c) for c in option.choices] + (["none"] if option.optional
                                                               else [])
        control = Select([(c, c) for c in choices], value=option.show(shown),
                         allow_blank=False, id=widget_id, compact=True)
    else:
        control = Input("" if value is UNSET else option.show(value),
                        placeholder=placeholder(option, value), id=widget_id, compact=True)
    control.disabled = disabled
    return form_row(widget_id, option.name.replace("_", " "), option.help, control)


def fields_by_name(root: Widget) -> dict[str, Widget]:
    """The fields of a form a user can move to now, by the name they read in it ("batch
    size" for #opt-batch_size, "side a" for #side-a)."""
    return {re.sub(r"^opt-", "", field.id).replace("_", " ").replace("-", " "): field
            for field in root.query("Input, Select, Checkbox")
            if field.id and field.focusable}


def ask_for_field(form: Widget) -> None:
    """Ask for a setting's name (completed from the form's) and move the cursor to it: a
    long form is a few keys from any of its fields."""
    fields = fields_by_name(form)

    def go_to(name: str | None) -> None:
        if not name:
            return
        field = fields.get(" ".join(name.lower().replace("_", " ").split()))
        if field is None:
            form.notify(f"no setting {name!r} in the form", severity="warning", markup=False)
            return
        field.focus()

    form.app.push_screen(AskTextDialog("Go to setting…", "a setting's name; right arrow "
                                       "completes", sorted(fields)), go_to)


def set_control(control: Any, option: Option, value: object) -> None:
    """Show `value`; for UNSET, the option's default (an Input is left blank for it)."""
    if isinstance(control, Checkbox):
        control.value = bool(option.default if value is UNSET else value)
    elif isinstance(control, Select):
        control.value = option.show(option.default if value is UNSET else value)
    else:
        control.value = "" if value is UNSET else option.show(value)
        control.placeholder = placeholder(option, value)


def control_value(control: Any) -> object:
    if isinstance(control, Select):
        return None if control.is_blank() else control.value
    return control.value
