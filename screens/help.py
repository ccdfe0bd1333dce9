"""Every key the app and the open screens answer to, read from their bindings."""
from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, Keymap
from textual.containers import Vertical
from textual.dom import DOMNode
from textual.screen import ModalScreen, Screen
from textual.widgets import DataTable, Label

from screens.widgets.measured_table import MeasuredTable
from tui.keymap import BindingRow, binding_rows

COLUMNS = ("Where", "Key", "Id (for [keys] in config.toml)", "What it does", "More")


def scope_name(screen: Screen) -> str:
    return type(screen).__name__.removesuffix("Screen").removesuffix("Dialog") or "Screen"


def focused_chain(screen: Screen) -> list[DOMNode]:
    """The screen's focused widget and its ancestors below the screen that are ours and
    declare their own bindings (the review grid's moves, for instance)."""
    chain: list[DOMNode] = []
    node = screen.focused
    while node is not None and node is not screen:
        ours = type(node).__module__.split(".")[0] in ("tui", "screens")
        if ours and type(node).__dict__.get("BINDINGS"):
            chain.append(node)
        node = node.parent
    return chain


class HelpScreen(ModalScreen[None]):
    CSS_PATH = "help.tcss"
    BINDINGS = [
        Binding("escape,q,question_mark", "close", "Close", id="help.close",
                tooltip="Close the help and go back"),
    ]

    def __init__(self, keymap: Keymap) -> None:
        super().__init__()
        self.keymap = keymap

    def compose(self) -> ComposeResult:
        with Vertical(id="help"):
            yield Label("Keys: remap any of them by id in the [keys] table of your config file "
                        "(e.g. \"dashboard.add_media\" = \"ctrl+a\"); ctrl+p opens the command "
                        "palette, which has every action.", id="intro", markup=False)
            table: DataTable = MeasuredTable(cursor_type="row", zebra_stripes=True, id="bindings")
            table.tooltip = "Every binding of swapdeck and of the screens open now"
            table.add_columns(*(Text(label) for label in COLUMNS))
            for row in self.rows():
                table.add_row(row.scope, row.keys, row.id, row.description, row.tooltip)
            yield table

    def rows(self) -> list[BindingRow]:
        """Bindings of the screens beneath this one (top first), the app's, then the help's."""
        rows: list[BindingRow] = []
        for screen in reversed(self.app.screen_stack):
            if screen is not self and type(screen) is not Screen:
                rows += binding_rows(scope_name(screen), screen, self.keymap)
                for node in focused_chain(screen):
                    rows += binding_rows(f"{scope_name(screen)} ({type(node).__name__})", node,
                                         self.keymap)
        rows += binding_rows("Everywhere", self.app, self.keymap)
        return rows + binding_rows("Help", self, self.keymap)

    def action_close(self) -> None:
        self.dismiss(None)
