"""The Analysis screen's swap metrics: identity similarity, and pose and expression errors,
of the chosen session's swaps over its iterations (drawn as `swapdeck session plot
--metrics` draws them), under a line that says what was measured, and when nothing was, why
(store/views/training_figures.py: a save whose outputs held no face the detector found)."""
from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Static
from textual_plotext import PlotextPlot

from store.views.analysis import SessionDetail
from store.views.training_figures import metrics_note
from tui.loss_curves import METRIC_GRAPHS, draw_metrics


class MetricsGraphs(Vertical):
    """What was measured, then one graph per entry of METRIC_GRAPHS, one above the other."""
    DEFAULT_CSS = """
    MetricsGraphs #metrics-note { height: auto; padding: 0 1; color: $text-muted; }
    """

    def compose(self) -> ComposeResult:
        yield Static("", id="metrics-note", markup=False)
        for graph in METRIC_GRAPHS:
            yield PlotextPlot(id=f"{graph}-plot")

    def show(self, detail: SessionDetail | None) -> None:
        metrics = detail.metrics if detail is not None else ()
        note = metrics_note(metrics, detail.session.name_a) if detail is not None else ""
        self.query_one("#metrics-note", Static).update(note)
        measured = any(m.faces for m in metrics)
        for graph in METRIC_GRAPHS:
            plot = self.query_one(f"#{graph}-plot", PlotextPlot)
            if measured:
                draw_metrics(plot.plt, metrics, graph)
            else:   # the note above says why: the graph does not say "none yet" beside it
                plot.plt.clear_figure()
                plot.plt.title(METRIC_GRAPHS[graph][0])
                plot.plt.xlabel("iteration")
            plot.refresh()
