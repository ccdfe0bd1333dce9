"""The Train screen's previews: the newest preview image (made at every save) with its
caption, and the swap metrics measured at the first and the newest save."""
from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Static

from store import sessions
from store.views.train import TrainView
from store.views.training_figures import metrics_note
from tui.thumbs import decode
from screens.widgets.picture import Picture


def describe_metrics(metrics: tuple[sessions.SwapMetrics, ...], name_a: str) -> str:
    """The swap metrics at the first and the newest preview (identity: similarity of A-to-B
    outputs to B's descriptor centre against A's; pose in degrees; expression in inter-ocular
    units); without a measured face, why (the note the Analysis screen shows)."""
    measured = [m for m in metrics if m.faces]
    if not measured:
        return metrics_note(metrics, name_a)
    lines = ["swap metrics   iteration  →B id  →A id  pose°  expr"]
    for label, m in (("first", measured[0]), ("newest", measured[-1])):
        lines.append(f"  {label:<7} {m.iteration:>11,}  {_number(m.identity_b)}  "
                     f"{_number(m.identity_a)}  {_number(m.pose_error, 1)}  "
                     f"{_number(m.expression_error)}")
    return "\n".join(lines)


def preview_caption(iteration: int | None) -> str:
    if iteration is None:
        return "no preview yet (one is made at every save)"
    return f"preview at iteration {iteration:,}: A, A→A, A→B | B, B→B, B→A (marked synthetic)"


class TrainPreview(Vertical):
    """`renderer` is the app's resolved thumbnail renderer (kitty, sixel, halfcell, unicode)."""
    DEFAULT_CSS = """
    TrainPreview { height: 1fr; min-height: 12; }
    """

    def __init__(self, renderer: str, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.renderer = renderer

    def compose(self) -> ComposeResult:
        yield Picture(self.renderer, id="preview")
        yield Static("", id="preview-caption", markup=False)
        yield Static("", id="metrics", markup=False)

    def show(self, view: TrainView) -> None:
        """The view's preview: its PNG comes only when it is not the one shown already."""
        image = self.query_one("#preview", Picture)
        if view.preview_png is not None:
            image.image = decode(view.preview_png)
        elif view.preview_iteration is None:
            image.image = None
        caption = preview_caption(view.preview_iteration)
        self.query_one("#preview-caption", Static).update(caption)
        self.query_one("#metrics", Static).update(describe_metrics(view.metrics, view.session.name_a))


def _number(value: float | None, digits: int = 3) -> str:
    return f"{value:5.{digits}f}" if value is not None else "    -"
