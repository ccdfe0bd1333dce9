"""Small keyboard dialogs: pick one of a list, or type a name (with suggestions)."""
from __future__ import annotations

from collections.abc import Sequence

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.suggester import SuggestFromList
from textual.widgets import Input, Label, OptionList
from textual.widgets.option_list import Option

DIALOG_CSS = """
ChooseDialog, AskTextDialog { align: center middle; }
ChooseDialog > Vertical, AskTextDialog > Vertical {
    width: 64; height: auto; max-height: 80%; border: thick $accent; background: $surface;
    padding: 0 1;
}
ChooseDialog OptionList { height: auto; max-height: 20; }
.dialog-help { color: $text-muted; }
"""


class ChooseDialog(ModalScreen[str | None]):
    """Pick one of `options` (value, label); enter picks, escape cancels."""

    DEFAULT_CSS = DIALOG_CSS
    BINDINGS = [Binding("escape", "cancel", "Cancel", id="choose.cancel",
                        tooltip="Close the dialog without choosing")]

    def __init__(self, title: str, options: Sequence[tuple[str, str]],
                 current: str | None = None) -> None:
        super().__init__()
        self.title_text = title
        self.options = list(options)
        self.current = current

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(self.title_text)
            yield OptionList(*(Option(label, id=value) for value, label in self.options))
            yield Label("enter: choose · escape: cancel", classes="dialog-help")

    def on_mount(self) -> None:
        options = self.query_one(OptionList)
        values = [value for value, _label in self.options]
        if self.current in values:
            options.highlighted = values.index(self.current)
        options.focus()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)

    def action_cancel(self) -> None:
        self.dismiss(None)


class AskTextDialog(ModalScreen[str | None]):
    """Type a line (a person's name, photo paths); enter accepts, escape cancels."""

    DEFAULT_CSS = DIALOG_CSS
    BINDINGS = [Binding("escape", "cancel", "Cancel", id="ask.cancel",
                        tooltip="Close the dialog without changing anything")]

    def __init__(self, title: str, help_text: str, suggestions: Sequence[str] = (),
                 value: str = "") -> None:
        super().__init__()
        self.title_text = title
        self.help_text = help_text
        self.suggestions = list(suggestions)
        self.value = value

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(self.title_text)
            yield Input(self.value, suggester=SuggestFromList(self.suggestions,
                                                              case_sensitive=False))
            yield Label(self.help_text, classes="dialog-help")

    def on_mount(self) -> None:
        self.query_one(Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.value.strip():
            self.dismiss(event.value.strip())
        else:
            self.notify("type something, or escape to cancel", severity="warning")

    def action_cancel(self) -> None:
        self.dismiss(None)
