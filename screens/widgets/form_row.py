"""One row of a settings form: the setting's name, its control and its help text."""
from __future__ import annotations

from textual.containers import Horizontal, Vertical
from textual.widget import Widget
from textual.widgets import Label, Static


def form_row(field_id: str, name: str, help_text: str, control: Widget) -> Horizontal:
    """The row `#<field_id>-field`; the help is also the control's tooltip."""
    control.tooltip = help_text
    return Horizontal(Label(name, classes="name"), Vertical(control, classes="control"),
                      Static(help_text, classes="help", markup=False),
                      classes="field", id=f"{field_id}-field")
