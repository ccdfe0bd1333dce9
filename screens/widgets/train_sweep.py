"""The Train screen's learning-rate sweep panel: the newest sweep's curve with its suggested
rate marked, and a caption that follows the sweep's job and names the keys that sweep and use
the rate (faceswap's learning-rate finder)."""
from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Static
from textual_plotext import PlotextPlot

from store.jobs import JobStatus
from store.views.train import TrainView
from tui.keymap import key_for
from tui.sweep_plot import describe_sweep, draw_sweep

NOT_DRAWN = -1                # no sweep curve drawn yet (None: "no sweep" drawn)


def describe_sweeping(view: TrainView, find_key: str, use_key: str) -> str:
    """The lines under the sweep's curve: a sweep job under way, and what the newest sweep
    found (with the keys that sweep and use its rate)."""
    lines = []
    job = view.sweep_job
    if job is not None and job.status == JobStatus.RUNNING:
        lines.append(f"sweeping the learning rate (job {job.id}): {job.message or 'starting'}")
    elif job is not None:
        lines.append(f"learning-rate sweep queued (job {job.id}): waiting for the worker")
    if view.sweep is None:
        if job is None:
            lines.append(f"no learning-rate sweep yet: {find_key} sweeps it (faceswap's "
                         "learning-rate finder)")
        return "\n".join(lines)
    rate = view.session.settings.get("learning_rate")
    lines += describe_sweep(view.sweep, rate)
    if view.sweep.suggested is not None and view.sweep.suggested != rate:
        lines[-1] += f"; {use_key} uses it"
    return "\n".join(lines)


class SweepPanel(Vertical):
    DEFAULT_CSS = """
    SweepPanel { height: auto; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._drawn_sweep: int | None = NOT_DRAWN

    def compose(self) -> ComposeResult:
        yield PlotextPlot(id="lr-plot")
        yield Static("", id="lr-caption", markup=False)

    def show(self, view: TrainView | None) -> None:
        """The newest sweep's caption; its curve redrawn only when it is another sweep."""
        caption = (describe_sweeping(view, key_for(self.screen, "train.find_lr", "ctrl+l"),
                                     key_for(self.screen, "train.use_lr", "ctrl+g"))
                   if view is not None else "")
        self.query_one("#lr-caption", Static).update(caption)
        sweep = view.sweep if view is not None else None
        if (sweep.id if sweep is not None else None) != self._drawn_sweep:
            self._drawn_sweep = sweep.id if sweep is not None else None
            plot = self.query_one("#lr-plot", PlotextPlot)
            draw_sweep(plot.plt, sweep)
            plot.refresh()
