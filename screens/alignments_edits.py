"""The Alignments screen's edits: a box drawn (keys or mouse) or points nudged become an
align-edit job that the worker computes (crop, masks, quality, descriptor); a delete, an
undo or a redo is a review action written at once. The screen reloads what each changed."""
from __future__ import annotations

import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, cast

from textual import work
from textual.screen import Screen

from screens.widgets.frame_view import FrameView
from store import jobs, manual_faces, review
from store.identities import IdentityError
from store.jobs import JobStatus
from store.requests.align_edit import fill_track_edits
from store.views.alignments import FaceOnFrame
from tui.alignment_draft import BoxDraft, PointsDraft, box_between
from tui.alignments_nav import Navigator
from tui.frame_cache import ShownFrame
from tui.host import Host
from tui.launcher import ensure_worker

NEW_BOX_SHARE = 0.3     # a new box's side, as a share of the frame's height


@dataclass(frozen=True)
class Shown:
    idx: int
    frame: ShownFrame
    faces: list[FaceOnFrame]


class AlignmentEdits(Screen[None]):
    """The edit half of the Alignments screen (the screen itself shows and moves)."""

    source_id: int
    nav: Navigator | None = None
    shown: Shown | None = None
    selected: int | None = None
    draft: BoxDraft | PointsDraft | None = None
    redraw: Callable[[], None]
    show_frame: Callable[[], None]
    load_source: Callable[[], Any]

    def __init__(self) -> None:
        super().__init__()
        self.pending: set[int] = set()          # align-edit jobs not finished yet

    @property
    def host(self) -> Host:
        return cast(Host, self.app)

    def chosen_face(self) -> FaceOnFrame | None:
        faces = self.shown.faces if self.shown else []
        return next((face for face in faces if face.id == self.selected), None)

    def action_new_box(self) -> None:
        if self.shown is None:
            return
        width, height = self.shown.frame.size
        side = height * NEW_BOX_SHARE
        self.draft = BoxDraft(((width - side) / 2, (height - side) / 2,
                               (width + side) / 2, (height + side) / 2), (width, height))
        self.redraw()

    def action_edit_box(self) -> None:
        face = self.chosen_face()
        if face is None or self.shown is None:
            self.notify("no face chosen: up and down choose one", severity="warning")
            return
        self.draft = BoxDraft(tuple(face.box), self.shown.frame.size, replaces=face.id)
        self.redraw()

    def action_points(self) -> None:
        if isinstance(self.draft, PointsDraft):
            self.draft.next_group()
        else:
            face = self.chosen_face()
            if face is None or self.shown is None:
                self.notify("no face chosen: up and down choose one", severity="warning")
                return
            self.draft = PointsDraft(face.id, face.landmarks.astype(float).copy(),
                                     self.shown.frame.size)
        self.redraw()

    def action_point(self, step: int) -> None:
        if isinstance(self.draft, PointsDraft):
            self.draft.next_point(step)
            self.redraw()

    def action_grow(self, factor: float) -> None:
        if isinstance(self.draft, BoxDraft):
            self.draft.grow(factor)
            self.redraw()

    def on_frame_view_dragged(self, message: FrameView.Dragged) -> None:
        """A box dragged with the mouse: a new face's, or the chosen face's while its box
        is being drawn again."""
        if self.shown is None or isinstance(self.draft, PointsDraft):
            return
        replaces = self.draft.replaces if isinstance(self.draft, BoxDraft) else None
        size = self.shown.frame.size
        self.draft = BoxDraft(box_between(message.start, message.end, size), size, replaces)
        self.redraw()

    def on_frame_view_clicked(self, message: FrameView.Clicked) -> None:
        """A click on a face chooses it (the smallest box under the pointer)."""
        if self.shown is None or self.draft is not None:
            return
        x, y = message.point
        under = [f for f in self.shown.faces
                 if f.box[0] <= x <= f.box[2] and f.box[1] <= y <= f.box[3]]
        if under:
            smallest = min(under, key=lambda f: (f.box[2] - f.box[0]) * (f.box[3] - f.box[1]))
            self.selected = smallest.id
            self.redraw()

    def action_apply(self) -> None:
        draft, shown = self.draft, self.shown
        if draft is None or shown is None:
            return
        if isinstance(draft, PointsDraft) and not draft.moved:
            self.notify("the points have not moved: arrows nudge them", severity="warning")
            return
        self.draft = None
        self.queue_edit(draft.params(self.source_id, shown.idx))
        self.redraw()

    def action_copy(self, direction: int) -> None:
        """Add a face copied from the nearest frame before (-1) or after (1) that has one:
        of the person the filter looks for, when it looks for one."""
        nav = self.nav
        if nav is None or self.shown is None or self.draft is not None:
            return
        person = nav.filters[nav.chosen][1].person if nav.filters[nav.chosen][1] else None
        step = range(nav.position - 1, -1, -1) if direction < 0 else \
            range(nav.position + 1, len(nav.frames))
        donor = next((nav.frames[p] for p in step
                      if (person in nav.frames[p].people if person else nav.frames[p].faces)),
                     None)
        if donor is None:
            whose = f"of {person} " if person else ""
            self.notify(f"no {'earlier' if direction < 0 else 'later'} frame has a face "
                        f"{whose}to copy", severity="warning")
            return
        face = donor.face_ids[donor.people.index(person)] if person else None
        self.queue_edit({"source_id": self.source_id, "frame": self.shown.idx,
                         "action": "copy", "from": donor.idx, "face": face})

    def action_fill_track(self) -> None:
        """Copy the chosen face's track into every frame of its gaps."""
        face = self.chosen_face()
        if face is None or face.track_id is None or self.nav is None:
            self.notify("the chosen face is in no track", severity="warning")
            return
        edits = fill_track_edits(self.nav.frames, self.source_id, face.track_id)
        if edits:
            self.queue_edit(*edits)
        else:
            self.notify(f"track {face.track_id} has no gaps to fill")

    @work(thread=True, group="alignments-store")
    def queue_edit(self, *edits: dict[str, Any]) -> None:
        try:
            with self.host.store() as conn:
                job_ids = jobs.enqueue_many(conn, "align-edit", list(edits))
                if self.host.auto_start_worker:
                    ensure_worker(self.host.project, conn)
        except (sqlite3.Error, OSError) as exc:
            self.app.notify(f"could not queue the edit: {exc}", severity="error",
                            markup=False)
            return
        self.pending.update(job_ids)
        first = edits[0]
        what = f"{first['action']} in frame {first['frame']}" if len(edits) == 1 else \
            f"{len(edits)} copies into the track's gaps"
        self.app.notify(f"queued align-edit job {job_ids[0]} ({what})")

    @work(thread=True, exclusive=True, group="alignments-jobs")
    def check_jobs(self) -> None:
        """Say how each edit sent to the worker ended; reload when one did."""
        with self.host.store() as conn:
            ended = [job for job in (jobs.get(conn, i) for i in list(self.pending))
                     if job.status in jobs.FINISHED]
        for job in ended:
            self.pending.discard(job.id)
            failed = job.status != JobStatus.DONE
            self.app.notify(job.error or job.message or job.status.label,
                            severity="error" if failed else "information", markup=False)
        if ended:
            self.app.call_from_thread(self.load_source)

    def action_delete(self) -> None:
        face = self.chosen_face()
        if face is None or self.draft is not None:
            self.notify("no face chosen: up and down choose one", severity="warning")
            return
        self.change(lambda conn: manual_faces.delete_faces(conn, [face.id]))

    def action_undo(self) -> None:
        self.change(lambda conn: f"undid: {review.undo_last(conn)}")

    def action_redo(self) -> None:
        self.change(lambda conn: f"redid: {review.redo_last(conn)}")

    @work(thread=True, group="alignments-store")
    def change(self, action: Callable[[sqlite3.Connection], object]) -> None:
        """Apply a review action, say what happened, reload the frames' figures."""
        try:
            with self.host.store() as conn:
                done = action(conn)
                message = done if isinstance(done, str) else review.history(conn, 1)[0].summary
        except (IdentityError, review.NothingToUndo, review.NothingToRedo,
                sqlite3.Error) as exc:
            self.app.notify(str(exc), severity="warning", markup=False)
            return
        self.app.notify(message, markup=False)
        self.app.call_from_thread(self.load_source)
