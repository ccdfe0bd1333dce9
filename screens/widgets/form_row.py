"""One row of a settings form: the setting's name, its control and its help text."""
from __future__ import annotations

from textual.containers import Horizontal, Vertical
from textual.widget import Widget
from textual.widgets import Checkbox, Label, Static


def form_row(field_id: str, name: str, help_text: str, control: Widget) -> Horizontal:
    """The row `#<field_id>-field`; the help is also the control's tooltip.

    A checkbox that only repeats the row's name shows no label of its own: the name is
    beside it, and a narrow form cut the repeat mid-word ("keep unchang")."""
    control.tooltip = help_text
    if isinstance(control, Checkbox) and str(control.label) == name:
        control.label = ""
        control.styles.width = "100%"   # Textual sizes a label-less checkbox 2 cells short
    return Horizontal(Label(name, classes="name"), Vertical(control, classes="control"),
                      Static(help_text, classes="help", markup=False),
                      classes="field", id=f"{field_id}-field")
