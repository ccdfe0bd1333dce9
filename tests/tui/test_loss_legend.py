"""The loss graph's legend has a row of its own: plotext writes its legend over the top left
corner of the curves, where a falling loss curve starts."""
from __future__ import annotations

import numpy as np
import pytest
from plotext import uncolorize
from plotext._figure import _figure_class
from textual_plotext import PlotextPlot

from screens.widgets.analysis_losses import LossGraph
from screens.widgets.graph_legend import GraphLegend
from store.project import Project
from store.views.loss_series import LossSeries
from tests.tui.preview_session import add_session, open_analysis
from tui.app import SwapdeckApp
from tui.loss_curves import LINE_COLOURS, Curve, Smoothing, draw_losses

LABELS = ("loss A", "loss B")


def canvas_rows(text: str) -> list[str]:
    """The rows between the graph's top and bottom frame lines."""
    rows = text.splitlines()
    top = next(i for i, row in enumerate(rows) if "┌" in row)
    bottom = next(i for i, row in enumerate(rows) if "└" in row)
    return rows[top + 1:bottom]


def falling_curve() -> Curve:
    iterations = np.arange(1, 401)
    return Curve("shown", LossSeries(iterations, np.exp(-iterations / 50.0),
                                     np.exp(-iterations / 40.0), 1, 1, 1, 400))


@pytest.mark.parametrize("legend", [True, False])
def test_without_plotexts_legend_the_keys_come_back_in_their_colours(legend: bool) -> None:
    figure = _figure_class()
    keys = draw_losses(figure, [falling_curve()], Smoothing.RAW, False, "shown", legend=legend)
    assert [(k.label, k.colour) for k in keys] == list(zip(LABELS, LINE_COLOURS))
    figure.plotsize(80, 20)
    canvas = "\n".join(canvas_rows(uncolorize(figure.build())))
    assert ("loss A" in canvas) is legend   # the CLI keeps plotext's; the screen does not


@pytest.mark.parametrize("size", [(80, 24), (120, 40), (200, 60)])
async def test_the_legend_and_the_curves_never_share_a_cell(project: Project, pair, wait_for,
                                                           size) -> None:
    add_session(project)
    app = SwapdeckApp(project, start_worker=False)
    async with app.run_test(size=size) as pilot:
        screen = await open_analysis(app, pilot, wait_for)
        graph = screen.query_one(LossGraph)
        await wait_for(pilot, lambda: graph.curves, what="the curves")
        await pilot.pause()
        legend = graph.query_one("#loss-legend", GraphLegend)
        plot = graph.query_one("#loss-plot", PlotextPlot)
        assert legend.region.area and plot.region.area
        assert not legend.region.overlaps(plot.region)
        shown = str(legend.render()).replace("\xa0", " ")
        assert shown.startswith("shown") and all(label in shown for label in LABELS)
        canvas = canvas_rows(plot.render().plain)
        assert canvas and not any("loss" in row for row in canvas)
        assert any(set(row) - set(" │┤├") for row in canvas[:2])   # the curve starts on top
