"""The Train screen's live loss graph: a sparkline of each side's newest losses."""
from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Label, Sparkline

from store.views.train import TrainView


class LossGraph(Vertical):
    DEFAULT_CSS = """
    LossGraph { height: auto; }
    """

    def compose(self) -> ComposeResult:
        for side in ("a", "b"):
            yield Label(f"loss {side.upper()}", classes="spark-label")
            yield Sparkline([], id=f"loss-{side}")

    def show(self, view: TrainView) -> None:
        self.query_one("#loss-a", Sparkline).data = [a for _, a, _ in view.losses]
        self.query_one("#loss-b", Sparkline).data = [b for _, _, b in view.losses]
