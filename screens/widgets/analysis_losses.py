"""The Analysis screen's loss graph: the chosen session's loss A and B, smoothed, on a linear
or log axis, over all its iterations or the newest few, with another session's drawn over
them to compare.

Smoothing and the axis only redraw the curves it has. A zoom or a comparison needs other
curves read from the store: the graph posts `LossGraph.CurvesWanted` and the screen reads
them (downsampled in SQLite, store/views/loss_series.py) for the graph's `zoom` and
`compare_id`.
"""
from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import Static
from textual_plotext import PlotextPlot

from screens.dialogs.choose import ChooseDialog
from screens.widgets.graph_legend import GraphLegend
from tui.loss_curves import Curve, Smoothing, draw_losses

ZOOM_STEP = 4          # each zoom shows a quarter (or four times) the iterations
MIN_ZOOM = 50          # iterations: the closest zoom
SMOOTHINGS = tuple(Smoothing)
NO_COMPARE = "none"


class LossGraph(Vertical):
    """A line saying what the graph shows and which keys change it, the graph's title and
    legend in a row of their own (plotext's legend would cover the start of the curves),
    and the graph."""

    class CurvesWanted(Message):
        """The zoom or the compared session changed: read the curves again."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.curves: list[Curve] = []    # the chosen session's, then the compared one's
        self.smoothing = Smoothing.EMA
        self.log_scale = False
        self.zoom_level = 0              # each level shows a quarter of the one before
        self.zoom: int | None = None     # the newest N iterations; None: all
        self.compare_id: int | None = None

    def compose(self) -> ComposeResult:
        yield Static("", id="graph-state", markup=False)
        yield GraphLegend("", id="loss-legend", markup=False)
        yield PlotextPlot(id="loss-plot")

    def show(self, curves: list[Curve]) -> None:
        self.curves = curves
        self._draw()

    def cycle_smoothing(self) -> None:
        self.smoothing = SMOOTHINGS[(SMOOTHINGS.index(self.smoothing) + 1) % len(SMOOTHINGS)]
        self._draw()

    def toggle_log_scale(self) -> None:
        self.log_scale = not self.log_scale
        self._draw()

    def zoom_by(self, closer: bool, length: int) -> None:
        """One zoom level closer or further, over a session of `length` iterations."""
        if closer and length // ZOOM_STEP ** self.zoom_level <= MIN_ZOOM:
            return   # as close as it goes
        self.zoom_level = max(0, self.zoom_level + (1 if closer else -1))
        self.zoom = (max(MIN_ZOOM, length // ZOOM_STEP ** self.zoom_level)
                     if self.zoom_level else None)
        self.post_message(self.CurvesWanted())

    def choose_compare(self, others: list[tuple[str, str]]) -> None:
        """Ask which of `others` (id, label) to draw over the chosen session, if any."""
        if not others:
            self.notify("there is no other session to compare with")
            return
        current = str(self.compare_id) if self.compare_id is not None else NO_COMPARE
        self.app.push_screen(ChooseDialog("Compare the losses with",
                                          [(NO_COMPARE, "(no other session)"), *others],
                                          current), self._compare_chosen)

    def _compare_chosen(self, chosen: str | None) -> None:
        if chosen is None:
            return
        self.compare_id = None if chosen == NO_COMPARE else int(chosen)
        self.post_message(self.CurvesWanted())

    def forget(self, session_id: int | None) -> None:
        """`session_id` is now the chosen one: it is no longer compared with itself."""
        if self.compare_id == session_id:
            self.compare_id = None

    def _draw(self) -> None:
        curves = self.curves
        plot = self.query_one("#loss-plot", PlotextPlot)
        title = " vs ".join(curve.label for curve in curves) or "losses"
        keys = draw_losses(plot.plt, curves, self.smoothing, self.log_scale, title, legend=False)
        self.query_one("#loss-legend", GraphLegend).show(title, keys)
        plot.refresh()
        shown = f"the newest {self.zoom:,} iterations" if self.zoom else "all iterations"
        span = curves[0].series.span if curves else 1
        averaged = f", each point the mean of {span:,} iterations" if span > 1 else ""
        compared = f" · compared with {curves[1].label}" if len(curves) > 1 else ""
        self.query_one("#graph-state", Static).update(
            f"{shown}{averaged} · smoothing {self.smoothing.value} · "
            f"{'log' if self.log_scale else 'linear'} scale{compared} · "
            "s smoothing, z/Z zoom, l log, c compare")
