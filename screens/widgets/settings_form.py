"""The trainer's settings as form rows: one control per catalogue option, with its help.

The Train screen's form and the Analysis screen's resume dialog show and read settings
the same way: a blank Input or an untouched control means the baseline (the session's
stored value, else the option's default); only values that differ are asked for.
"""
from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from textual.containers import Horizontal
from textual.widgets import Checkbox, Input, Select

from store import sessions
from store.requests.train_catalogue import Option, OptionValueError
from store.requests.train import FROZEN_GROUPS, NESTED_GROUPS
from screens.widgets.form_row import form_row

UNSET = object()              # a form control showing its option's default


def read_values(typed: dict[str, object], options: Iterable[Option],
                baseline: dict[str, object]) -> tuple[dict[str, object], list[str]]:
    """Typed text (Inputs; blank means the baseline) and picked values (checkboxes, selects)
    as option values, keeping only those that differ from `baseline`."""
    values: dict[str, object] = {}
    problems = []
    for option in options:
        raw = typed.get(option.name)
        if raw is None or (isinstance(raw, str) and not raw.strip()):
            continue
        try:
            value = option.parse(raw) if isinstance(raw, str) else raw
        except OptionValueError as exc:
            problems.append(str(exc))
            continue
        if value != baseline.get(option.name, option.default):
            values[option.name] = value
    return values, problems


def stored_values(session: sessions.Session) -> tuple[dict[str, object], dict[str, object]]:
    """A session's settings and model options, flat by name, as the form shows them."""
    config, settings = session.config, session.settings
    flat: dict[str, object] = {}
    for group in FROZEN_GROUPS:
        flat.update(config.get(group, {}))
    flat.update({k: v for k, v in settings.items() if k not in NESTED_GROUPS})
    for group in NESTED_GROUPS:
        flat.update(settings.get(group, {}))
    return flat, dict(config.get("model_options", {}))


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
                        placeholder=option.default_shown, id=widget_id, compact=True)
    control.disabled = disabled
    return form_row(widget_id, option.name.replace("_", " "), option.help, control)


def set_control(control: Any, option: Option, value: object) -> None:
    """Show `value`; for UNSET, the option's default (an Input is left blank for it)."""
    if isinstance(control, Checkbox):
        control.value = bool(option.default if value is UNSET else value)
    elif isinstance(control, Select):
        control.value = option.show(option.default if value is UNSET else value)
    else:
        control.value = "" if value is UNSET else option.show(value)


def control_value(control: Any) -> object:
    if isinstance(control, Select):
        return None if control.value is Select.BLANK else control.value
    return control.value
