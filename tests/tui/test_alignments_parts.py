"""The parts of the Alignments screen on their own: the frame cache (real video decode), the
overlay (boxes must survive the half-block renderer), the timeline, the filters' navigation
and the drafts of a box and of nudged points."""
from __future__ import annotations

import types
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from skimage.data import astronaut

from screens.widgets.frame_strip import strip_cells
from store.sources import FrameRow
from store.views.alignments import FaceOnFrame, FrameFaces, FrameFilter
from tests.media import write_video
from tui.alignment_draft import BoxDraft, PointsDraft, box_between
from tui.alignments_nav import Navigator, filter_choices
from tui.frame_cache import FrameCache, FrameUnreadable, ShownFrame
from tui.frame_overlay import DRAFT, NOBODY, Marks, frame_overlay

FRAMES = 30


def numbered(index: int) -> np.ndarray:
    """A frame whose brightness says its index, so a decoded frame can be told apart."""
    return np.full((64, 96, 3), index * 8, np.uint8)


def video_source(path: Path) -> types.SimpleNamespace:
    return types.SimpleNamespace(id=1, kind="video", path=str(path), rotation=0, name="v")


def frame_rows(path: Path) -> list[FrameRow]:
    import av

    with av.open(str(path)) as container:
        return [FrameRow(i, frame.pts, None) for i, frame in
                enumerate(container.decode(container.streams.video[0]))]


def brightness(shown: ShownFrame) -> int:
    return round(float(shown.image.mean()) / 8)


def test_the_cache_gives_each_frame_forward_backward_and_after_a_jump(tmp_path) -> None:
    path = write_video(tmp_path / "n.mp4", FRAMES, pictures=numbered)
    cache = FrameCache(video_source(path), frame_rows(path), 10**8, capacity=24)
    order = list(range(FRAMES))
    for idx in (0, 1, 2, 25, 24, 3, 29):                 # steps, a jump and jumps back
        assert brightness(cache.get(idx)) == idx
    cache.prefetch(29, order, lambda: False, direction=-1)
    assert all(cache.cached(i) for i in range(19, 29))   # the frames before, decoded ahead
    cache.get(5)
    cache.prefetch(5, order, lambda: False)
    assert all(cache.cached(i) for i in range(6, 16))
    assert sum(cache.cached(i) for i in order) <= 24      # nothing kept past the capacity
    assert not cache.cached(29)                           # the farthest went first
    with pytest.raises(FrameUnreadable, match="no frame 99"):
        cache.get(99)
    cache.close()


def test_a_big_frame_is_kept_scaled_and_a_bad_file_is_a_clear_error(tmp_path) -> None:
    folder = tmp_path / "stills"
    folder.mkdir()
    Image.fromarray(astronaut()).save(folder / "a.png")
    (folder / "b.png").write_bytes(b"not a picture")
    source = types.SimpleNamespace(id=2, kind="folder", path=str(folder), rotation=0)
    rows = [FrameRow(0, None, None, "a.png"), FrameRow(1, None, None, "b.png"),
            FrameRow(2, None, None, "../outside.png")]
    cache = FrameCache(source, rows, 10**8, max_side=256)
    shown = cache.get(0)
    assert shown.size == (512, 512) and shown.image.shape == (256, 256, 3)
    assert shown.scale == 0.5
    with pytest.raises(FrameUnreadable, match="frame 1"):
        cache.get(1)
    with pytest.raises(FrameUnreadable):
        cache.get(2)                                      # outside the source's folder
    with pytest.raises(FrameUnreadable, match="above this project's limit"):
        FrameCache(source, rows, 1000).get(0)


def face(face_id: int, box: tuple[float, ...], person: str | None = None) -> FaceOnFrame:
    x0, y0, x1, y1 = box
    points = np.stack([np.linspace(x0, x1, 68), np.linspace(y0, y1, 68)], axis=1)
    return FaceOnFrame(face_id, box, points, 0.9, person, None, None, False)


def test_boxes_stay_visible_at_half_block_size() -> None:
    shown = ShownFrame(np.zeros((540, 960, 3), np.uint8), 0.5, (1920, 1080))
    image = np.asarray(frame_overlay(shown, [face(1, (400, 300, 700, 600))], (80, 45),
                                     Marks(draft_box=(1000, 100, 1400, 500))))
    assert image.shape == (45, 80, 3)
    assert (image == NOBODY).all(axis=2).sum() >= 20     # the face's box, a pixel wide
    assert (image == DRAFT).all(axis=2).sum() >= 20      # the box being drawn


def frames_of(counts: list[int]) -> list[FrameFaces]:
    return [FrameFaces(i, i / 25, n, ("Ann",) * n, 0, None, None) for i, n in enumerate(counts)]


def test_the_strip_shows_each_frame_and_marks_where_the_filter_finds() -> None:
    frames = frames_of([1, 0, 2, 1])
    states, marks = strip_cells(frames, {1}, 3, 10)
    assert states == [3, 0, 1, 3] and marks == [" ", "•", " ", "▲"]
    states, marks = strip_cells(frames, {1}, 0, 2)        # two frames to a cell
    assert states == [0, 1] and marks == ["▲", " "]


def test_navigation_jumps_to_the_frames_the_filter_finds() -> None:
    nav = Navigator(frames_of([1, 0, 1, 0, 2]), filter_choices(["Ann"]))
    assert [name for name, _ in nav.filters][-1] == "no face of Ann"
    nav.next_filter()
    assert nav.filter_name == "no face" and nav.matching == [1, 3]
    assert nav.next_match(1) and nav.position == 1
    assert nav.next_match(1) and nav.position == 3
    assert not nav.next_match(1) and nav.position == 3
    assert nav.next_match(-1) and nav.position == 1
    nav.replace(frames_of([1, 1, 1, 0, 2]), nav.filters)   # the missed face added
    assert nav.position == 1 and nav.matching == [3] and nav.filter_name == "no face"
    assert nav.to_end(-1) and nav.position == 4 and not nav.step(1)
    assert FrameFilter(track_gaps=True) in [f for _, f in nav.filters]


def test_a_box_moves_and_grows_within_the_frame() -> None:
    draft = BoxDraft((10, 10, 50, 50), (100, 80))
    draft.move(-30, 0)
    assert draft.box == (0, 10, 40, 50)                  # stopped at the edge
    draft.grow(10)
    assert draft.box == (0, 0, 100, 80)                  # no larger than the frame
    draft.grow(0.01)
    assert draft.box[2] - draft.box[0] == 8              # no smaller than the worker takes
    assert draft.params(1, 4)["box"] == [46.0, 36.0, 8.0, 8.0]
    assert box_between((90, 70), (-5, 200), (100, 80)) == (0.0, 70.0, 90.0, 80.0)


def test_points_move_by_group_or_one_at_a_time() -> None:
    points = np.stack([np.arange(68.0) + 10, np.full(68, 20.0)], axis=1)
    draft = PointsDraft(7, points.copy(), (200, 100))
    draft.next_group()
    assert draft.group == "jaw" and draft.chosen() == list(range(17))
    draft.nudge(2, -1)
    assert np.allclose(draft.points[:17], points[:17] + [2, -1])
    assert np.allclose(draft.points[17:], points[17:])
    draft.next_point(1)                                  # switches to one point: 0
    draft.next_point(-1)
    assert draft.group == "point" and draft.point == 67 and "mouth" in draft.describe()
    draft.nudge(500, 0)                                  # stops at the frame's edge
    assert draft.points[67, 0] == 199
    params = draft.params(1, 4)
    assert params["action"] == "set-points" and params["face"] == 7
    assert len(params["points"]) == 68
