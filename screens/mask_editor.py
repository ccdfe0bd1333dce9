"""Label one face's mask by hand, as DeepFaceLab's XSeg editor does: include and exclude
polygons drawn by mouse or keys over the face, large, on nothing or on one of its masks."""
from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, cast

from textual import work
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Header, Static
from textual.worker import get_current_worker

from screens.dialogs.confirm import ConfirmDialog
from screens.mask_editor_keys import MASK_EDITOR_BINDINGS
from screens.widgets.keys_footer import KeysFooter
from screens.widgets.mask_canvas import MaskCanvas
from screens.widgets.painted_view import Painted
from store import faces, mask_labels
from store.mask_labels import LabelError, MaskLabel, Polygon
from tui.format import human_age
from tui.host import Host
from tui.label_raster import Scene
from tui.mask_draft import DraftError, LabelView, MaskDraft, Shape
from tui.thumbs import decode

LABEL = "label"     # what `shown` holds while the label itself is tinted


@dataclass(frozen=True)
class EditedFace:
    """A face's crop, its masks by kind and its label (if it has one), read in a thread."""
    crop: Any               # a Pillow RGB image
    masks: dict[str, bytes]
    label: MaskLabel | None
    size: int


class MaskEditorScreen(Screen[bool]):
    """Dismissed with whether a label was saved."""

    CSS_PATH = "mask_editor.tcss"
    BINDINGS = MASK_EDITOR_BINDINGS

    class Read(Message, bubble=False):
        def __init__(self, face: EditedFace) -> None:
            super().__init__()
            self.face = face

    class Drawn(Message, bubble=False):
        """The scene painted in a thread, ready to show."""

        def __init__(self, painted: Painted) -> None:
            super().__init__()
            self.painted = painted

    class Saved(Message, bubble=False):
        def __init__(self, label: MaskLabel, shapes: tuple[Shape, ...]) -> None:
            super().__init__()
            self.label, self.shapes = label, shapes

    def __init__(self, face_id: int) -> None:
        super().__init__()
        self.face_id = face_id
        self.face: EditedFace | None = None
        self.draft: MaskDraft | None = None
        self.view: LabelView | None = None
        self.shown: str | None = LABEL
        self.saved_at: float | None = None
        self.saved_any = False

    @property
    def host(self) -> Host:
        return cast(Host, self.app)

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(id="me-top"):
            yield MaskCanvas(self.host.thumbnail_renderer, id="me-canvas")
            yield Static("loading…", id="me-facts", markup=False)
        yield Static("", id="me-status", markup=False)
        yield KeysFooter()

    def on_mount(self) -> None:
        self.title = f"Mask editor: face {self.face_id}"
        self.load()

    @work(thread=True, exclusive=True, group="mask-editor-load")
    def load(self) -> None:
        try:
            with self.host.store() as conn:
                crop = decode(faces.face_image(conn, self.face_id).data)
                masks = {kind: faces.face_mask(conn, self.face_id, kind).data
                         for kind in faces.mask_kinds(conn, self.face_id)}
                label = mask_labels.get_label(conn, self.face_id)
                size = mask_labels.label_size(conn, self.face_id)
        except (OSError, ValueError, TypeError) as exc:   # gone, damaged, unreadable
            self.app.call_from_thread(self._unreadable, str(exc))
            return
        self.post_message(self.Read(EditedFace(crop, masks, label, size)))

    def _unreadable(self, why: str) -> None:
        self.notify(f"face {self.face_id} cannot be labelled: {why or 'it is gone'}",
                    severity="error")
        self.dismiss(False)

    def on_mask_editor_screen_read(self, message: Read) -> None:
        face = self.face = message.face
        label = face.label
        self.draft = MaskDraft(face.size, label.polygons if label else (),
                               label.base if label else None)
        self.view = LabelView(face.size)
        self.saved_at = label.updated_at if label else None
        self.shown = LABEL if label or not face.masks else next(iter(face.masks))
        self.redraw()

    # --- painting ------------------------------------------------------------------------

    def redraw(self) -> None:
        """Paint what is drawn now, in a thread; the facts at once."""
        face, draft, view = self.face, self.draft, self.view
        if face is None or draft is None or view is None:
            return
        scene = Scene(face.crop, face.size, draft.shapes, draft.selected, view.window(),
                      face.masks.get(self.shown or ""), self.shown == LABEL, draft.state.base)
        self.paint(scene)
        self.query_one("#me-facts", Static).update(self._facts())
        self.query_one("#me-status", Static).update(_status(draft))

    @work(thread=True, exclusive=True, group="mask-editor-paint")
    def paint(self, scene: Scene) -> None:
        painted = self.query_one(MaskCanvas).paint(scene)
        if not get_current_worker().is_cancelled:
            self.post_message(self.Drawn(painted))

    def on_mask_editor_screen_drawn(self, message: Drawn) -> None:
        self.query_one(MaskCanvas).show(message.painted)

    def on_resize(self) -> None:
        self.redraw()

    def _facts(self) -> str:
        draft, view = self.draft, self.view
        assert draft is not None and view is not None
        saved = "never saved" if self.saved_at is None else \
            f"saved {human_age(max(0.0, time.time() - self.saved_at))} ago"
        lines = [f"face {self.face_id}, label of {draft.size} px",
                 f"{saved}{', unsaved edits' if draft.dirty else ''}", "",
                 f"shown: {self.shown or 'no mask'} (k)",
                 f"base: {'a mask' if draft.state.base is not None else 'none (empty)'} (b)",
                 f"zoom: {view.zoom:g}x (+ - 0)", "", f"{len(draft.shapes)} polygon(s):"]
        for index, shape in enumerate(draft.shapes):
            mark = "▶" if draft.selected and draft.selected[0] == index else " "
            state = "" if shape.closed else ", open"
            lines.append(f"{mark} {index + 1} {shape.mode}, {len(shape.points)} points{state}")
        point = draft.selected_point()
        if point is not None and draft.selected is not None:
            lines += ["", f"point {draft.selected[1] + 1}: ({point[0]:.1f}, {point[1]:.1f})"]
        return "\n".join(lines)

    # --- editing -------------------------------------------------------------------------

    def _edit(self, change: Callable[[MaskDraft], object], shows_label: bool = True) -> None:
        """Make a change to the draft, follow its chosen point, and paint it again; an edit
        (not a choice) shows the label it draws."""
        draft = self.draft
        if draft is None:
            return
        try:
            change(draft)
        except DraftError as exc:
            self.notify(str(exc), severity="warning")
            return
        if self.view is not None:
            self.view.follow(draft.selected_point())
        if shows_label:
            self.shown = LABEL
        self.redraw()

    def on_mask_canvas_clicked(self, message: MaskCanvas.Clicked) -> None:
        self._edit(lambda draft: draft.add(message.point))

    def action_start(self, mode: str) -> None:
        self._edit(lambda draft: draft.start(mode), shows_label=False)

    def action_close(self) -> None:
        self._edit(MaskDraft.close)

    def action_choose_shape(self, step: int) -> None:
        self._edit(lambda draft: draft.choose_shape(step), shows_label=False)

    def action_choose_point(self, step: int) -> None:
        self._edit(lambda draft: draft.choose_point(step), shows_label=False)

    def action_nudge(self, dx: int, dy: int) -> None:
        self._edit(lambda draft: draft.nudge(dx, dy))

    def action_insert(self) -> None:
        self._edit(MaskDraft.insert)

    def action_delete_point(self) -> None:
        self._edit(MaskDraft.delete_point)

    def action_delete_shape(self) -> None:
        self._edit(MaskDraft.delete_shape)

    def action_history(self, step: int) -> None:
        """Undo (step -1) or redo (1) an edit."""
        if self.draft is not None and not (self.draft.redo() if step > 0 else self.draft.undo()):
            self.notify(f"nothing to {'redo' if step > 0 else 'undo'}")
        self.redraw()

    def action_from_shown(self) -> None:
        mask = self.face.masks.get(self.shown or "") if self.face else None
        if mask is None:
            self.notify("k: show the mask to start from first", severity="warning")
            return
        self._edit(lambda draft: draft.set_base(mask))

    def action_mask(self) -> None:
        if self.face is not None:
            kinds: list[str | None] = [LABEL, *self.face.masks, None]
            self.shown = kinds[(kinds.index(self.shown) + 1) % len(kinds)]
            self.redraw()

    def action_zoom(self, step: int) -> None:
        """Zoom in (step 1, on the chosen point) or out (-1); 0 shows the whole face."""
        if self.view is not None and self.draft is not None:
            if step:
                self.view.zoom_step(step, self.draft.selected_point())
            else:
                self.view.fit()
            self.redraw()

    def action_pan(self, dx: int, dy: int) -> None:
        if self.view is not None:
            self.view.pan(dx, dy)
            self.redraw()

    # --- saving and leaving --------------------------------------------------------------

    def action_save(self) -> None:
        draft = self.draft
        if draft is None:
            return
        try:
            polygons = draft.finish()
        except DraftError as exc:
            self.notify(f"not saved: {exc}", severity="warning")
            return
        self.save(draft.shapes, polygons, draft.state.base)
        self.redraw()

    @work(thread=True, exclusive=True, group="mask-editor-save")
    def save(self, shapes: tuple[Shape, ...], polygons: list[Polygon],
             base: bytes | None) -> None:
        """Store the label; `shapes` are what was drawn, for the draft to know it saved."""
        assert self.draft is not None
        try:
            with self.host.store() as conn:
                label = mask_labels.save_label(conn, self.face_id, self.draft.size, polygons,
                                               base)
        except LabelError as exc:
            self.app.call_from_thread(self.notify, f"not saved: {exc}", severity="error")
            return
        self.post_message(self.Saved(label, shapes))

    def on_mask_editor_screen_saved(self, message: Saved) -> None:
        if self.draft is not None:
            self.draft.saved(message.shapes, message.label.base)
        self.saved_at, self.saved_any = message.label.updated_at, True
        self.notify(f"saved the label of face {self.face_id} "
                    f"({len(message.label.polygons)} polygon(s))")
        self.redraw()

    def action_back(self) -> None:
        if self.draft is None or not self.draft.dirty:
            self.dismiss(self.saved_any)
            return

        def answered(leave: bool | None) -> None:
            if leave:
                self.dismiss(self.saved_any)

        self.app.push_screen(ConfirmDialog(
            "Leave without saving?", "The label has edits that are not saved: leaving "
            "drops them (s saves).", "y: leave"), answered)


def _status(draft: MaskDraft) -> str:
    open_shape = draft.open_shape
    if open_shape is not None:
        return (f"drawing an {open_shape.mode} polygon, {len(open_shape.points)} point(s): "
                "clicks add points, enter closes it, u undoes")
    return (f"clicks start an {draft.state.mode} polygon (i include, x exclude) · tab, [ ] "
            "choose a point, arrows nudge it · s saves")
