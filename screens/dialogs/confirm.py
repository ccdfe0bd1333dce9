"""Ask before something that cannot be taken back: y confirms, n or escape cancels."""
from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Label, Static


class ConfirmDialog(ModalScreen[bool]):
    DEFAULT_CSS = """
    ConfirmDialog { align: center middle; }
    ConfirmDialog > Vertical {
        width: 72; height: auto; border: thick $error; background: $surface; padding: 0 1;
    }
    ConfirmDialog .title { text-style: bold; }
    ConfirmDialog .dialog-help { color: $text-muted; }
    """
    BINDINGS = [
        Binding("y", "answer(True)", "Yes", id="confirm.yes", tooltip="Go ahead"),
        Binding("n,escape", "answer(False)", "No", id="confirm.no",
                tooltip="Close the dialog and change nothing"),
    ]

    def __init__(self, title: str, body: str, yes: str = "y: yes") -> None:
        super().__init__()
        self.title_text, self.body, self.yes = title, body, yes

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(self.title_text, classes="title", markup=False)
            yield Static(self.body, markup=False)
            yield Label(f"{self.yes} · n or escape: no", classes="dialog-help", markup=False)

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes)
