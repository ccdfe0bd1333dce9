"""Fix detection by hand, frame by frame: a source's frames with each face's box and 68
points drawn over them, a timeline of what each frame holds, faceswap's frame filters, and
the edits (draw a box, nudge points, copy a face from a neighbouring frame, delete one),
each an undoable review action computed by the worker."""
from __future__ import annotations

import sqlite3
from typing import Any

from textual import work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Header, Static
from textual.worker import get_current_worker

from screens.alignments_edits import AlignmentEdits, Shown
from screens.alignments_keys import ALIGNMENTS_BINDINGS
from screens.widgets.frame_strip import FrameStrip
from screens.widgets.frame_view import FrameView, Painted
from screens.widgets.keys_footer import KeysFooter
from store import pixel_limit, sources
from store.views.alignments import frame_faces, source_frames
from tui.alignment_draft import BoxDraft, PointsDraft
from tui.alignments_nav import Navigator, filter_choices
from tui.frame_cache import FrameCache, FrameUnreadable
from tui.frame_overlay import Marks

PLAY_FPS = 5


class AlignmentsScreen(AlignmentEdits, Screen[None]):
    CSS_PATH = "alignments.tcss"
    BINDINGS = ALIGNMENTS_BINDINGS

    class Loaded(Message, bubble=False):
        def __init__(self, nav: Navigator, cache: FrameCache) -> None:
            super().__init__()
            self.nav, self.cache = nav, cache

    class FramePainted(Message, bubble=False):
        """A frame read and painted in a thread: shown as it is, faces and all."""
        def __init__(self, shown: Shown, painted: Painted) -> None:
            super().__init__()
            self.shown, self.painted = shown, painted

    def __init__(self, source_id: int) -> None:
        super().__init__()
        self.source_id = source_id
        self.cache: FrameCache | None = None
        self.show_landmarks = True
        self._direction = 1          # the way the user steps: frames that way are decoded ahead
        self._player: Any = None

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(id="al-top"):
            yield FrameView(self.host.thumbnail_renderer, id="al-frame")
            with Vertical(id="al-side"):
                yield Static("loading…", id="al-facts", markup=False)
        yield FrameStrip(id="al-strip")
        yield Static("", id="al-status", markup=False)
        yield KeysFooter()

    def on_mount(self) -> None:
        self.load_source()
        self.set_interval(0.5, self._poll_jobs)

    def _poll_jobs(self) -> None:
        if self.pending:          # a thread only while edits are in the worker
            self.check_jobs()

    def on_unmount(self) -> None:
        if self.cache is not None:
            self.cache.close()

    # --- reading ---------------------------------------------------------------------

    @work(thread=True, exclusive=True, group="alignments-source")
    def load_source(self) -> None:
        """The frames' figures (again after an edit); the frame cache only the first time."""
        with self.host.store() as conn:
            nav = Navigator(source_frames(conn, self.source_id), filter_choices(_people(conn)))
            cache = self.cache or FrameCache(sources.get(conn, self.source_id),
                                             sources.frames(conn, self.source_id),
                                             pixel_limit.get(conn))
        self.post_message(self.Loaded(nav, cache))

    def on_alignments_screen_loaded(self, message: Loaded) -> None:
        if self.nav is not None:
            self.nav.replace(message.nav.frames, message.nav.filters)
        else:
            self.nav, self.cache = message.nav, message.cache
            self.title = f"Alignments: source {self.source_id}, {message.cache.source.name}"
        self.show_frame()

    def show_frame(self) -> None:
        if self.nav is not None and self.nav.current is not None:
            self.read_frame(self.nav.current.idx)
        else:
            self._facts("no extracted frames: extract this source first (dashboard x)")

    @work(thread=True, exclusive=True, group="alignments-frame")
    def read_frame(self, idx: int) -> None:
        """Read the frame and its faces, and paint it (everything slow, off the main thread)."""
        assert self.cache is not None
        try:
            frame = self.cache.get(idx)
        except FrameUnreadable as exc:
            self.app.call_from_thread(self._facts, str(exc))
            return
        with self.host.store() as conn:
            faces = frame_faces(conn, self.source_id, idx)
        ids = [face.id for face in faces]
        if self.selected not in ids:
            self.selected = ids[0] if ids else None
        self._paint(Shown(idx, frame, faces))

    @work(thread=True, exclusive=True, group="alignments-paint")
    def redraw(self) -> None:
        """Paint the frame shown again (a box moved, a face chosen) and the rest with it."""
        if self.shown is not None:
            self._paint(self.shown)

    def _paint(self, shown: Shown) -> None:
        painted = self.query_one(FrameView).paint(shown.frame, shown.faces, self._marks())
        if not get_current_worker().is_cancelled:
            self.post_message(self.FramePainted(shown, painted))

    def on_alignments_screen_frame_painted(self, message: FramePainted) -> None:
        nav = self.nav
        if nav is None or nav.current is None or nav.current.idx != message.shown.idx:
            return                       # painted for a frame the user has moved on from
        first = self.shown is None or self.shown.idx != message.shown.idx
        self.shown = message.shown
        self.query_one(FrameView).show(message.painted)
        self.query_one(FrameStrip).show(nav.frames, nav.matching_indices(), self.shown.idx)
        self._facts(_facts_text(self.shown, self.selected, nav))
        self.query_one("#al-status", Static).update(self._status())
        if first:
            self.prefetch(self.shown.idx)

    @work(thread=True, exclusive=True, group="alignments-prefetch")
    def prefetch(self, idx: int) -> None:
        if self.cache is not None and self.nav is not None:
            worker = get_current_worker()
            self.cache.prefetch(idx, [f.idx for f in self.nav.frames],
                                lambda: worker.is_cancelled, self._direction)

    def _marks(self) -> Marks:
        draft = self.draft
        if isinstance(draft, BoxDraft):
            return Marks(self.selected, draft_box=draft.box, landmarks=self.show_landmarks)
        if isinstance(draft, PointsDraft):
            return Marks(self.selected, draft_points=(draft.face_id, draft.points,
                                                      draft.chosen()))
        return Marks(self.selected, landmarks=self.show_landmarks)

    def _status(self) -> str:
        if isinstance(self.draft, BoxDraft):
            return ("drawing a box: arrows move it, + and - size it, enter places the face "
                    "(the aligner puts its points), escape cancels")
        if isinstance(self.draft, PointsDraft):
            return (f"nudging {self.draft.describe()}: arrows move them a pixel, g picks the "
                    "group, [ ] the point, enter keeps them, escape cancels")
        waiting = f"  ·  {len(self.pending)} edit(s) in the worker" if self.pending else ""
        return f"{'playing' if self._player else 'b box · g points · c copy · d delete'}" \
               f"{waiting}"

    def _facts(self, text: str) -> None:
        self.query_one("#al-facts", Static).update(text)

    # --- moving ----------------------------------------------------------------------

    def action_arrow(self, dx: int, dy: int) -> None:
        draft = self.draft
        if isinstance(draft, BoxDraft):
            draft.move(dx * draft.step, dy * draft.step)
        elif isinstance(draft, PointsDraft):
            draft.nudge(dx, dy)
        elif dy:
            self._choose_face(dy)
            return
        elif self.nav is not None and self.nav.step(dx):
            self._direction = dx
            self.show_frame()
            return
        self.redraw()

    def _choose_face(self, step: int) -> None:
        if self.shown is None or not self.shown.faces:
            return
        ids = [face.id for face in self.shown.faces]
        at = ids.index(self.selected) if self.selected in ids else -step
        self.selected = ids[(at + step) % len(ids)]
        self.redraw()

    def action_match(self, direction: int) -> None:
        if self.nav is None or self.draft is not None:
            return
        if self.nav.next_match(direction):
            self.show_frame()
        else:
            self.notify(f"no {'later' if direction > 0 else 'earlier'} frame with "
                        f"{self.nav.filter_name}", severity="warning")

    def action_ends(self, which: int) -> None:
        if self.nav is not None and self.draft is None and self.nav.to_end(which):
            self.show_frame()

    def action_filter(self) -> None:
        if self.nav is not None:
            self.nav.next_filter()
            self.notify(f"filter: {self.nav.filter_name} ({_frames(len(self.nav.matching))})")
            self.redraw()

    def action_play(self) -> None:
        if self._player is not None:
            self._player.stop()
            self._player = None
        elif self.draft is None:
            self._player = self.set_interval(1 / PLAY_FPS, self._play_step)
        self.redraw()

    def _play_step(self) -> None:
        if self.nav is None or not self.nav.step(1):
            self.action_play()
        else:
            self.show_frame()

    def action_landmarks(self) -> None:
        self.show_landmarks = not self.show_landmarks
        self.redraw()

    def action_back(self) -> None:
        if self.draft is not None:
            self.draft = None
            self.redraw()
        else:
            self.app.pop_screen()



def _people(conn: sqlite3.Connection) -> list[str]:
    return [row[0] for row in conn.execute("SELECT name FROM identities ORDER BY name")]


def _facts_text(shown: Shown, selected: int | None, nav: Navigator) -> str:
    frame = nav.current
    position = f"frame {shown.idx} ({nav.position + 1} of {len(nav.frames)})"
    seconds = f" at {frame.time:.2f} s" if frame is not None and frame.time is not None else ""
    lines = [position + seconds, f"filter: {nav.filter_name}", f"  {_frames(len(nav.matching))}",
             "", f"{len(shown.faces)} face(s):"]
    for face in shown.faces:
        mark = "▶" if face.id == selected else " "
        who = face.person or "nobody"
        extra = "".join([" hand" if face.manual else "", " flagged" if face.flag else "",
                         f" t{face.track_id}" if face.track_id is not None else ""])
        lines.append(f"{mark} {face.id} {who} {face.score:.2f}{extra}")
    chosen = next((f for f in shown.faces if f.id == selected), None)
    if chosen is not None and chosen.track_id is not None:
        lines += ["", _track_line(nav, chosen.track_id)]
    return "\n".join(lines)


def _frames(count: int) -> str:
    return f"{count} frame{'s' * (count != 1)}"


def _track_line(nav: Navigator, track: int) -> str:
    """Where the chosen face's track runs, and its gaps (which T fills)."""
    having = [f.idx for f in nav.frames if track in f.tracks]
    gaps = sum(track in f.gaps for f in nav.frames)
    span = f"frames {having[0]}-{having[-1]}" if having else "no frames"
    return f"track {track}: {span}, {gaps} gap{'s' * (gaps != 1)}" + \
        (" (T fills)" if gaps else "")
