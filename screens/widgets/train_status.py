"""The Train screen's rate and iteration panel: what the chosen session is doing (training,
queued or not), how far it has got, how fast and how long is left, and its newest losses.

Every figure comes from the store's view (store/views/training_figures.py): the iteration
the store recorded (the losses end there), and the run's examples/s as the Analysis
screen's Runs table shows it. The train job's own progress message is shown only while the
job prepares (caching faces): it runs a few iterations ahead and measures its own speed.
"""
from __future__ import annotations

from textual.widgets import Static

from store.jobs import JobStatus
from store.views.train import TrainView
from tui.format import examples_rate, human_age
from tui.printable import printable

BLANK_FORM = "Fill in the form and press ctrl+r to start."


def describe_view(view: TrainView) -> list[str]:
    """The panel's lines: what the session is doing and how far it has got."""
    session, figures = view.session, view.progress
    lines = [printable(f"session {session.name}: {session.model}, A {session.name_a} → B "
                       f"{session.name_b}"),
             f"iteration {figures.iteration:,} of {figures.target:,}",
             describe_activity(view)]
    if view.losses:
        at, loss_a, loss_b = view.losses[-1]
        where = "" if at == figures.iteration else f" (at iteration {at:,})"
        lines.append(f"loss A {loss_a:.4f}  B {loss_b:.4f}{where}")
    return lines


def describe_activity(view: TrainView) -> str:
    """Training (how fast, how long left), preparing, queued, or at rest."""
    job, figures = view.job, view.progress
    if job is not None and job.status == JobStatus.RUNNING and figures.running is not None:
        left = (f", {human_age(figures.seconds_left)} left"
                if figures.seconds_left is not None else "")
        return f"training (job {job.id}): {examples_rate(figures.examples_per_second)}{left}"
    if job is not None and job.status == JobStatus.RUNNING:
        return f"training (job {job.id}): {printable(job.message) or 'starting'}"
    if job is not None:
        return f"queued (job {job.id}): waiting for the worker"
    last = figures.last_run
    if last is not None:
        return (f"not training; last run ended: {printable(last.end_reason or 'killed')} "
                f"({examples_rate(figures.examples_per_second)})")
    return "not trained yet"


class TrainStatus(Static):
    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(BLANK_FORM, id=id, markup=False)

    def show(self, view: TrainView | None) -> None:
        """The session's state; with none chosen, how to start one."""
        self.update("\n".join(describe_view(view)) if view is not None else BLANK_FORM)
