"""The converter's settings, their catalogue, and which faces a conversion swaps."""
from __future__ import annotations

import numpy as np
import pytest

from pipeline.convert.alignments import is_person, targets
from pipeline.extract.alignment import align_to_mean_face
from pipeline.convert.settings import (ConvertSettings, ConvertSettingsError, frame_ranges,
                                       in_ranges)
from store.identities import SAME_PERSON_DISTANCE
from store.requests.catalogue import load
from store.views.convert_faces import FrameFace
from tests.pipeline.train.people import astronaut_landmarks


def test_every_option_has_help_and_round_trips() -> None:
    names = [option.name for group in load().convert.groups for option in group.options]
    assert len(names) == len(set(names)) and len(names) == len(ConvertSettings().flat())
    assert all(option.help for group in load().convert.groups for option in group.options)
    changed = {"direction": "b-to-a", "colour": "rct", "crf": 28, "frames": "0-9",
               "smoothing": 5, "blend": "seamless", "format": "gif"}
    settings = ConvertSettings.from_flat(changed)
    assert {name: settings.flat()[name] for name in changed} == changed


@pytest.mark.parametrize("values, message", [
    ({"crf": 52}, "crf is from 0 to 51, not 52"),
    ({"face_scale": 30.0}, "face_scale is from -20 to 20"),
    ({"colour": "sepia"}, "colour is one of"),
    ({"frames": "9-3"}, "ends before it starts"),
    ({"frames": "a-b"}, "frames takes ranges like 0-99,150-200"),
    ({"colr": "rct"}, "unknown convert setting(s): colr"),
])
def test_bad_settings_say_what_is_wrong(values: dict, message: str) -> None:
    with pytest.raises(ConvertSettingsError, match=message.replace("(", r"\(").replace(")", r"\)")):
        ConvertSettings.from_flat(values)


def test_frame_ranges() -> None:
    ranges = frame_ranges("150-200, 0-99,300")
    assert ranges == [(0, 99), (150, 200), (300, 300)]
    assert [in_ranges(i, ranges) for i in (0, 99, 100, 150, 300, 301)] == [
        True, True, False, True, True, False]
    assert in_ranges(12345, None)


def _face(face_id: int, frame: int, points: np.ndarray, identity: int | None = None,
          descriptor: np.ndarray | None = None, rejected: str | None = None) -> FrameFace:
    return FrameFace(face_id, frame, points, identity, rejected, descriptor,
                     align_to_mean_face(points), None)


def test_named_faces_follow_their_name_and_unnamed_ones_their_nearest_person() -> None:
    points = astronaut_landmarks()
    centres = {1: np.zeros(128), 2: np.full(128, 0.1)}
    near_1 = np.full(128, 0.01)
    assert is_person(_face(1, 0, points, identity=1), 1, centres)
    assert not is_person(_face(2, 0, points, identity=2, descriptor=near_1), 1, centres)
    assert is_person(_face(3, 0, points, descriptor=near_1), 1, centres)
    assert not is_person(_face(4, 0, points, descriptor=np.full(128, 0.09)), 1, centres)
    far = np.full(128, SAME_PERSON_DISTANCE)   # nearest to 1 but too far from everyone
    assert not is_person(_face(5, 0, points, descriptor=-far), 1, centres)
    assert not is_person(_face(6, 0, points, identity=1, rejected="too small"), 1, centres)
    assert not is_person(_face(7, 0, points), 1, centres)   # no descriptor, no name


def test_smoothing_averages_the_same_face_over_neighbouring_frames() -> None:
    base = astronaut_landmarks()
    rng = np.random.default_rng(0)
    jitter = [rng.normal(0, 2, base.shape) for _ in range(9)]
    other = base + 300   # someone far away in the same frames, not the same track
    faces = [_face(i, i, base + jitter[i], identity=1) for i in range(9)]
    faces += [_face(100 + i, i, other, identity=1) for i in range(9)]
    raw = targets(faces, 1, {}, smoothing=0)
    smooth = targets(faces, 1, {}, smoothing=5)
    middle = [t for t in smooth[4] if t.face_id == 4][0]
    assert np.allclose(middle.landmarks, base + np.mean(jitter[2:7], axis=0))
    assert np.abs(middle.landmarks - base).mean() < np.abs(raw[4][0].landmarks - base).mean()
    assert all(np.allclose(t.landmarks, other) for t in smooth[4] if t.face_id == 104)
    # the first frame averages only what exists: frames 0 to 2
    first = [t for t in smooth[0] if t.face_id == 0][0]
    assert np.allclose(first.landmarks, base + np.mean(jitter[0:3], axis=0))
