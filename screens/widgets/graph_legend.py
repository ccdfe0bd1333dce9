"""A graph's title and legend in a row of their own: plotext writes its legend inside the
graph, over the top left corner of the curves (where a loss curve starts), so graphs are
drawn without one (or a title) and this row, where plotext's title would be, names each
line in its colour."""
from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text
from textual.widgets import Static

from tui.loss_curves import LegendKey

SWATCH = "━━"
NBSP = "\u00a0"     # a key's swatch and label stay together when the row wraps


def legend_text(title: str, keys: Sequence[LegendKey]) -> Text:
    text = Text(title, style="bold")
    for key in keys:
        text.append("   ")
        text.append(SWATCH, style="rgb({},{},{})".format(*key.colour))
        text.append(NBSP + key.label.replace(" ", NBSP))
    return text


class GraphLegend(Static):
    """The title and the keys of the lines of the graph below it; wraps between keys when
    narrow."""

    DEFAULT_CSS = """
    GraphLegend { width: 100%; height: auto; }
    """

    def show(self, title: str, keys: Sequence[LegendKey]) -> None:
        self.update(legend_text(title, keys))
