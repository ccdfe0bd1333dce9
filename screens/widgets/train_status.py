"""The Train screen's rate and iteration panel: what the chosen session is doing (training,
queued or not), how far it has got, its rate and ETA (its job's own progress message) and its
newest losses."""
from __future__ import annotations

from textual.widgets import Static

from store.jobs import JobStatus
from store.views.train import TrainView
from tui.printable import printable

BLANK_FORM = "Fill in the form and press ctrl+r to start."


def describe_view(view: TrainView) -> list[str]:
    """The panel's lines: what the session is doing and how far it has got."""
    session, job = view.session, view.job
    target = session.settings.get("iterations", 0)
    lines = [printable(f"session {session.name}: {session.model}, A {session.name_a} → B "
                       f"{session.name_b}"),
             f"iteration {session.iteration:,} of {target:,}"]
    if job is not None and job.status == JobStatus.RUNNING:
        lines.append(f"training (job {job.id}): {job.message or 'starting'}")
    elif job is not None:
        lines.append(f"queued (job {job.id}): waiting for the worker")
    elif view.last_run is not None:
        lines.append(f"not training; last run ended: {view.last_run.end_reason or 'killed'}")
    else:
        lines.append("not trained yet")
    if view.losses:
        _, loss_a, loss_b = view.losses[-1]
        lines.append(f"loss A {loss_a:.4f}  B {loss_b:.4f}")
    return lines


class TrainStatus(Static):
    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(BLANK_FORM, id=id, markup=False)

    def show(self, view: TrainView | None) -> None:
        """The session's state; with none chosen, how to start one."""
        self.update("\n".join(describe_view(view)) if view is not None else BLANK_FORM)
