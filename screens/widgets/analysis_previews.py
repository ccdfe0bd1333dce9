"""The Analysis screen's previews: the chosen session's timelapse, one preview at a time
(A, A→A, A→B | B, B→B, B→A), the newest first, older and newer by key.

Only the iterations come with the session's detail; the image on screen is read in a thread
worker through the analysis view, which posts it back as `PreviewPanel.PreviewRead`.
"""
from __future__ import annotations

from textual import work
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import Static
from textual.worker import get_current_worker

from store.views.analysis import PreviewImage, SessionDetail, read_preview
from tui.host import Host
from tui.thumbs import decode
from screens.widgets.picture import Picture

NO_PREVIEW = "no previews yet (one is made at every save)"


class PreviewPanel(Vertical):
    """A caption (which preview of how many, at which iteration) over the image."""

    class PreviewRead(Message, bubble=False):
        """A preview's image, read in a thread worker."""

        def __init__(self, image: PreviewImage) -> None:
            super().__init__()
            self.image = image

    def __init__(self, host: Host, *, id: str = "preview-box") -> None:
        super().__init__(id=id)
        self.host = host
        self.detail: SessionDetail | None = None
        self.preview_index: int | None = None   # into the timelapse; None: the newest
        self.shown_preview: tuple[int, int] | None = None   # (session, iteration) on screen

    def compose(self) -> ComposeResult:
        yield Static("", id="preview-caption", markup=False)
        yield Picture(self.host.thumbnail_renderer, id="preview")

    def restart(self) -> None:
        """Another session was chosen: its timelapse starts at the newest preview."""
        self.preview_index = None

    def show(self, detail: SessionDetail | None) -> None:
        self.detail = detail
        caption = self.query_one("#preview-caption", Static)
        if detail is None or not detail.preview_iterations:
            caption.update(NO_PREVIEW)
            self._set_image(None)
            self.shown_preview = None
            return
        timelapse = detail.preview_iterations
        index = (len(timelapse) - 1 if self.preview_index is None
                 else min(self.preview_index, len(timelapse) - 1))
        wanted = (detail.session.id, timelapse[index])
        caption.update(f"preview {index + 1} of {len(timelapse)}, iteration {wanted[1]:,}: "
                       "A, A→A, A→B | B, B→B, B→A (marked synthetic) · [ older, ] newer")
        if wanted != self.shown_preview:
            self.read_image(*wanted)

    def step(self, step: int) -> bool:
        """Show the preview `step` older (negative) or newer; False when there is none."""
        detail = self.detail
        if detail is None or not detail.preview_iterations:
            return False
        last = len(detail.preview_iterations) - 1
        current = last if self.preview_index is None else self.preview_index
        self.preview_index = max(0, min(last, current + step))
        self.show(detail)
        return True

    @work(thread=True, group="analysis-preview", exclusive=True)
    def read_image(self, session_id: int, iteration: int) -> None:
        with self.host.store() as conn:
            found = read_preview(conn, session_id, iteration)
        if found is not None and not get_current_worker().is_cancelled:
            self.post_message(self.PreviewRead(found))

    def on_preview_panel_preview_read(self, message: PreviewPanel.PreviewRead) -> None:
        image = message.image
        if self.detail is None or image.session_id != self.detail.session.id:
            return   # read for a session no longer chosen
        self._set_image(decode(image.png))
        self.shown_preview = (image.session_id, image.iteration)

    def _set_image(self, image: object) -> None:
        self.query_one("#preview", Picture).image = image
