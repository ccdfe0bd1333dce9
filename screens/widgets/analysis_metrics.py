"""The Analysis screen's swap metrics: identity similarity, and pose and expression errors,
of the chosen session's swaps over its iterations (drawn as `swapdeck session plot
--metrics` draws them)."""
from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Vertical
from textual_plotext import PlotextPlot

from store.views.analysis import SessionDetail
from tui.loss_curves import METRIC_GRAPHS, draw_metrics


class MetricsGraphs(Vertical):
    """One graph per entry of METRIC_GRAPHS, one above the other."""

    def compose(self) -> ComposeResult:
        for graph in METRIC_GRAPHS:
            yield PlotextPlot(id=f"{graph}-plot")

    def show(self, detail: SessionDetail | None) -> None:
        metrics = detail.metrics if detail is not None else ()
        for graph in METRIC_GRAPHS:
            plot = self.query_one(f"#{graph}-plot", PlotextPlot)
            draw_metrics(plot.plt, metrics, graph)
            plot.refresh()
