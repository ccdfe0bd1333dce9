"""One face up close: the aligned crop with landmarks and mask over it, and its numbers."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, cast

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Static
from textual.worker import get_current_worker

from screens.widgets.keys_footer import KeysFooter
from screens.mask_editor import MaskEditorScreen
from store import faces, mask_labels, sources
from store.views import face_query
from store.faces import Face, crop_matrix
from store.mask_labels import MaskLabel
from tui.host import Host
from tui.thumbs import decode, face_overlay, widget_class

DETAIL_WIDTH = 44
DETAIL_HEIGHT = 22


@dataclass(frozen=True)
class FaceDetail:
    face: Face
    listing: face_query.FaceListing
    source: sources.Source
    crop: Any             # the decoded aligned crop (a Pillow image), square
    masks: dict[str, bytes]
    label: MaskLabel | None


class FaceDetailScreen(ModalScreen[None]):
    CSS_PATH = "face_detail.tcss"
    BINDINGS = [
        Binding("escape,enter,backspace", "close", "Close", id="detail.close",
                tooltip="Back to the grid"),
        Binding("left,h", "step(-1)", "Previous", id="detail.previous",
                tooltip="The previous face in the grid's order"),
        Binding("right,l", "step(1)", "Next", id="detail.next",
                tooltip="The next face in the grid's order"),
        Binding("k", "mask", "Mask", id="detail.mask",
                tooltip="Show the next mask kind over the face (or none)"),
        Binding("L", "landmarks", "Landmarks", id="detail.landmarks",
                tooltip="Show or hide the 68 landmarks"),
        Binding("e", "edit_label", "Edit mask label", id="detail.edit_label",
                tooltip="Draw the face's mask label (include and exclude polygons) in the "
                        "Mask editor"),
    ]

    class Read(Message, bubble=False):
        """A face and its images, read in a thread worker."""

        def __init__(self, detail: FaceDetail) -> None:
            super().__init__()
            self.detail = detail

    def __init__(self, ids: list[int], index: int) -> None:
        super().__init__()
        self.ids = ids
        self.index = index
        self.detail: FaceDetail | None = None
        self.mask_kind: str | None = None
        self.show_landmarks = True

    @property
    def host(self) -> Host:
        return cast(Host, self.app)

    def compose(self) -> ComposeResult:
        image_class = widget_class(self.host.thumbnail_renderer)
        with Vertical(id="detail-box"):
            with Horizontal():
                yield image_class(id="detail-image")
                yield Static("loading…", id="detail-facts", markup=False)
            yield KeysFooter()

    def on_mount(self) -> None:
        self.load(self.ids[self.index])

    @work(thread=True, exclusive=True, group="face-detail")
    def load(self, face_id: int) -> None:
        with self.host.store() as conn:
            face = faces.get_face(conn, face_id)
            if face is None:
                self.app.call_from_thread(self.notify, f"face {face_id} is gone",
                                          severity="warning")
                return
            listing = face_query.listings(conn, [face_id])[face_id]
            source = sources.get(conn, face.source_id)
            crop = faces.face_image(conn, face_id).data
            masks = {kind: faces.face_mask(conn, face_id, kind).data
                     for kind in faces.mask_kinds(conn, face_id)}
            label = mask_labels.get_label(conn, face_id)
        detail = FaceDetail(face, listing, source, decode(crop), masks, label)
        if not get_current_worker().is_cancelled:
            self.post_message(self.Read(detail))

    def on_face_detail_screen_read(self, message: FaceDetailScreen.Read) -> None:
        """Show the face read; its mask kind stays shown when this face has that mask too."""
        if self.mask_kind not in message.detail.masks:
            self.mask_kind = next(iter(message.detail.masks), None)
        self._show(message.detail)

    def _show(self, detail: FaceDetail) -> None:
        self.detail = detail
        self._draw()
        face, listing, source = detail.face, detail.listing, detail.source
        seconds = f" at {listing.time:.2f} s" if listing.time is not None else ""
        lines = [
            f"face {face.id}  ({self.index + 1} of {len(self.ids)})",
            f"source {source.id}: {source.name}",
            f"file {listing.source_file}",
            f"frame {face.frame_idx}{seconds}, face {face.face_idx + 1} in it",
            f"box {', '.join(f'{v:.0f}' for v in face.box)}",
            "",
            f"person     {listing.identity or '-'}",
            f"cluster    {listing.cluster_id or '-'}",
            f"distance   {'-' if listing.distance is None else f'{listing.distance:.3f}'}"
            "  (from its cluster centre)",
            f"detection  {face.score:.2f}",
            f"sharpness  {face.blur:.1f}  (blur score: lower is blurrier)",
            f"yaw        {face.yaw:+.1f}°",
            f"pitch      {face.pitch:+.1f}°",
            f"roll       {face.roll:+.1f}°",
            f"size       {face.size * 100:.1f}% of the frame",
            "",
            "EXCLUDED from training" if face.excluded else (
                "left out of training while flagged" if listing.flag else "included in training"),
        ]
        if face.rejected:
            lines.append(f"rejected at extraction: {face.rejected}")
        if listing.flag:
            lines.append(f"flagged, {listing.flag} (in the grid: r restores, K confirms)")
        if listing.track_id is not None:
            placed = ", placed by tracking where detection missed it" if listing.tracked else ""
            lines.append(f"track {listing.track_id}{placed} (in the grid: t shows it)")
        if face.filter_distance is not None:
            lines.append(f"distance to the --filter faces {face.filter_distance:.3f}")
        lines += ["", f"mask shown: {self.mask_kind or 'none'} (k)",
                  f"landmarks: {'shown' if self.show_landmarks else 'hidden'} (L)",
                  f"mask label: {_label_text(detail.label)} (e)"]
        self.query_one("#detail-facts", Static).update("\n".join(lines))

    def _draw(self) -> None:
        detail = self.detail
        if detail is None:
            return
        points = None
        if self.show_landmarks:
            matrix = crop_matrix(detail.face.matrix, detail.crop.width)
            points = detail.face.landmarks @ matrix[:, :2].T + matrix[:, 2]
        mask = detail.masks.get(self.mask_kind) if self.mask_kind else None
        image = self.query_one("#detail-image")
        cast(Any, image).image = face_overlay(detail.crop, points, mask)

    def action_close(self) -> None:
        self.dismiss(None)

    def action_step(self, step: int) -> None:
        self.index = min(max(self.index + step, 0), len(self.ids) - 1)
        self.load(self.ids[self.index])

    def action_mask(self) -> None:
        if self.detail is None:
            return
        kinds: list[str | None] = [*self.detail.masks, None]
        self.mask_kind = kinds[(kinds.index(self.mask_kind) + 1) % len(kinds)]
        self._show(self.detail)

    def action_edit_label(self) -> None:
        """Open the Mask editor on the face shown; back here, show what it saved."""
        if self.detail is None:
            return

        def edited(saved: bool | None) -> None:
            if saved:
                self.load(self.ids[self.index])

        self.app.push_screen(MaskEditorScreen(self.detail.face.id), edited)

    def action_landmarks(self) -> None:
        self.show_landmarks = not self.show_landmarks
        if self.detail is not None:
            self._show(self.detail)


def _label_text(label: MaskLabel | None) -> str:
    if label is None:
        return "none"
    base = " over a mask" if label.base is not None else ""
    return f"{len(label.polygons)} polygon(s){base}"
