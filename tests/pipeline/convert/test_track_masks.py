"""Convert's masks read per face: stored masks warped into the model's face, averaged over a
track's neighbouring frames by the faces' alignments, and intersected with a second mask."""
from __future__ import annotations

from types import SimpleNamespace

import cv2
import numpy as np
import pytest

from pipeline.convert.alignments import Target
from pipeline.convert.compose import Composer
from pipeline.convert.masks import cut_mask, decode_mask, face_mask, smoothing_window
from pipeline.convert.settings import ConvertSettings, ConvertSettingsError, MaskSettings
from pipeline.convert.track_masks import TrackMasks, chosen_masks, smooth_mask, track_masks
from pipeline.extract.alignment import align_to_mean_face, transform_points
from pipeline.extract.mean_face import MEAN_FACE_68
from store.faces import crop_matrix
from store.views.convert_faces import FrameFace

CROP = 128          # the stored masks' side in these tests
FRAME = (360, 480)  # rows, columns


def points_at(x: float, y: float, scale: float = 120.0) -> np.ndarray:
    """The mean face's 68 points placed in a frame."""
    return MEAN_FACE_68 * scale + (x, y)


def face_at(face_id: int, frame: int, x: float, y: float, scale: float = 120.0,
            track: int | None = 1) -> FrameFace:
    points = points_at(x, y, scale)
    return FrameFace(face_id, frame, points, 1, None, None, align_to_mean_face(points), track)


def frame_blob(face: FrameFace, top_extra: int = 0) -> np.ndarray:
    """A head-shaped blob in the frame around the face (`top_extra` px more at its top, like a
    hairline that jumps), float32 frame-sized."""
    mask = np.zeros(FRAME, np.float32)
    centre = face.landmarks.mean(axis=0)
    width = np.ptp(face.landmarks[:, 0])
    axes = (int(width * 0.6), int(width * 0.8) + top_extra)
    cv2.ellipse(mask, (int(centre[0]), int(centre[1] - top_extra)), axes, 0, 0, 360, 1, -1)
    return mask


def crop_of(face: FrameFace, frame_mask: np.ndarray) -> np.ndarray:
    """A frame-space mask as stored for the face: over its CROP aligned crop."""
    return cv2.warpAffine(frame_mask, crop_matrix(face.matrix, CROP), (CROP, CROP),
                          flags=cv2.INTER_LINEAR)


def jitter(masks: list[np.ndarray]) -> float:
    """Mean 1 - IoU of consecutive masks (> 0.5), each over its face's aligned crop."""
    losses = [1 - ((a > 0.5) & (b > 0.5)).sum() / ((a > 0.5) | (b > 0.5)).sum()
              for a, b in zip(masks, masks[1:])]
    return float(np.mean(losses))


def reading(masks: dict[int, np.ndarray], reads: list[int] | None = None):
    def read(faces: list[FrameFace]) -> dict[int, np.ndarray]:
        if reads is not None:
            reads.extend(face.face_id for face in faces)
        return {face.face_id: masks[face.face_id] for face in faces if face.face_id in masks}
    return read


def test_a_mask_that_holds_still_comes_back_unchanged() -> None:
    faces = [face_at(i, i, 240, 150) for i in range(7)]
    mask = crop_of(faces[0], frame_blob(faces[0]))
    tracked = TrackMasks(2, faces, reading({face.face_id: mask for face in faces}))
    for face in faces:
        assert np.allclose(tracked.crop_mask(face), mask, atol=1e-6)
    # a neighbour stored at another size is resized to this face's
    half = cv2.resize(mask, (CROP // 2, CROP // 2), interpolation=cv2.INTER_AREA)
    assert np.abs(smooth_mask(mask, [half]) - mask).mean() < 0.01


def test_a_mask_that_moves_with_the_face_is_not_blurred() -> None:
    # the head moves 6 px a frame and grows: each stored mask is the same blob around it
    faces = [face_at(i, i, 180 + 6 * i, 140 + 2 * i, 110 + 3 * i) for i in range(7)]
    masks = {face.face_id: crop_of(face, frame_blob(face)) for face in faces}
    tracked = TrackMasks(2, faces, reading(masks))
    middle = tracked.crop_mask(faces[3])
    assert np.abs(middle - masks[3]).mean() < 0.004
    # the same average without the alignment smears the edge
    unaligned = np.mean([crop_of(faces[3], frame_blob(face)) for face in faces[1:6]], axis=0)
    assert np.abs(unaligned - masks[3]).mean() > 5 * np.abs(middle - masks[3]).mean()


def test_a_one_frame_jump_is_damped() -> None:
    faces = [face_at(i, i, 200 + 4 * i, 150, 120) for i in range(9)]
    masks = {face.face_id: crop_of(face, frame_blob(face, 14 if face.frame_idx == 4 else 0))
             for face in faces}
    smoothed = [TrackMasks(2, faces, reading(masks)).crop_mask(face) for face in faces]
    raw = [masks[face.face_id] for face in faces]
    before, after = jitter(raw), jitter(smoothed)
    assert before > 0.02 and after < before / 5, (before, after)
    steady = crop_of(faces[4], frame_blob(faces[4]))
    assert (np.abs((smoothed[4] > 0.5) ^ (steady > 0.5)).mean()
            < np.abs((raw[4] > 0.5) ^ (steady > 0.5)).mean() / 3)


def test_untracked_faces_keep_their_own_and_faces_without_the_mask_are_counted() -> None:
    faces = [face_at(i, i, 240, 150) for i in range(5)]
    alone = face_at(10, 2, 240, 150, track=None)
    masks = {face.face_id: np.full((CROP, CROP), face.frame_idx / 10, np.float32)
             for face in faces + [alone]}
    del masks[3]
    reads: list[int] = []
    tracked = TrackMasks(1, faces + [alone], reading(masks, reads))
    assert np.allclose(tracked.crop_mask(faces[2]), (0.1 + 0.2) / 2)   # frame 3 has none
    assert np.allclose(tracked.crop_mask(alone), 0.2)
    assert tracked.crop_mask(faces[3]) is None and tracked.missing == {3}
    for face in faces[4:]:
        tracked.crop_mask(face)
    assert sorted(reads) == [1, 2, 3, 4, 10]      # each face read once
    assert min(frame for frame, _ in tracked.cache.values()) >= 3   # what is behind is gone


def test_smoothing_defaults_follow_the_kind() -> None:
    assert [smoothing_window(kind, None) for kind in
            ("bisenet-face", "bisenet-head", "xseg-hands", "components", "extended",
             "learned", "none")] == [5, 5, 5, 0, 0, 0, 0]
    assert smoothing_window("components", 3) == 3 and smoothing_window("bisenet-hair", 0) == 0
    assert smoothing_window("learned", 7) == 0
    assert chosen_masks(MaskSettings(), learns_mask=True) == ("learned",)
    assert chosen_masks(MaskSettings(), learns_mask=False) == ("extended",)
    assert chosen_masks(MaskSettings("xseg-a", "components"), False) == ("xseg-a",
                                                                          "components")
    assert chosen_masks(MaskSettings("xseg-a", "xseg-a"), False) == ("xseg-a",)


def test_mask_settings_are_checked() -> None:
    settings = ConvertSettings.from_flat({"mask": "bisenet-head", "mask_and": "components",
                                          "mask_smoothing": 7, "erosion": -10})
    assert settings.mask == MaskSettings("bisenet-head", "components", -10, 3.0, 7)
    # any stored kind is a mask (the request checks the source has it)
    assert ConvertSettings.from_flat({"mask": "xseg-hands"}).mask.mask == "xseg-hands"
    for values, message in (({"mask_smoothing": 16}, "mask_smoothing is from 0 to 15"),
                            ({"mask_and": "auto"}, "mask_and is a mask kind, not auto"),
                            ({"erosion": 60}, "erosion is from -50 to 50")):
        with pytest.raises(ConvertSettingsError, match=message):
            ConvertSettings.from_flat(values)


def test_a_stored_mask_lands_where_the_frame_has_it_in_the_models_face() -> None:
    face = face_at(1, 0, 240, 150)
    blob = frame_blob(face)
    to_cut = crop_matrix(face.matrix, 96, span=1.6, head_room=0.05)   # a model's own window
    direct = cv2.warpAffine(blob, to_cut, (96, 96), flags=cv2.INTER_LINEAR)
    cut = cut_mask(crop_of(face, blob), face.matrix, to_cut, 96)
    assert np.abs(cut - direct).mean() < 0.01
    encoded = cv2.imencode(".png", np.uint8(crop_of(face, blob) * 255))[1].tobytes()
    assert np.abs(decode_mask(encoded) - crop_of(face, blob)).max() <= 1 / 255 + 1e-6


def stub_swapper(size: int = 96) -> SimpleNamespace:
    return SimpleNamespace(size=size, learns_mask=False)


def test_two_masks_are_intersected_and_a_missing_stored_mask_falls_back() -> None:
    faces = [face_at(i, i, 240, 150) for i in range(3)]
    top_half = np.zeros((CROP, CROP), np.float32)
    top_half[:CROP // 2] = 1
    settings = ConvertSettings.from_flat({"mask": "xseg-a", "mask_and": "components"})
    tracks = {"xseg-a": TrackMasks(0, faces, reading({0: top_half, 1: top_half}))}
    composer = Composer(stub_swapper(), settings, tracks)      # type: ignore[arg-type]
    to_cut = crop_matrix(faces[0].matrix, 96, span=1.6, head_room=0.05)
    target = Target(0, faces[0].landmarks, faces[0].matrix, faces[0])
    points = transform_points(to_cut, faces[0].landmarks)
    components = face_mask("components", 96, points, None)
    both = composer.mask(target, to_cut, None)
    assert np.array_equal(both, np.minimum(components, cut_mask(top_half, faces[0].matrix,
                                                                to_cut, 96)))
    assert 0 < both.sum() < 0.8 * components.sum()
    lacking = Target(2, faces[2].landmarks, faces[2].matrix, faces[2])
    assert np.array_equal(composer.mask(lacking, to_cut, None), np.minimum(
        face_mask("extended", 96, points, None), components))
    assert composer.missing() == {"xseg-a": 1}
    with pytest.raises(ValueError, match="no stored masks given for xseg-a"):
        Composer(stub_swapper(), settings)                    # type: ignore[arg-type]


def test_landmark_masks_are_read_per_face_only_when_averaged() -> None:
    faces = [face_at(i, i, 240, 150) for i in range(3)]
    no_store = None   # landmark masks are drawn, never read from the store

    def tracks(settings: MaskSettings) -> dict[str, TrackMasks]:
        return track_masks(no_store, settings, False, faces)   # type: ignore[arg-type]

    assert tracks(MaskSettings("components")) == {}
    mask = tracks(MaskSettings("components", mask_smoothing=3))["components"].crop_mask(faces[1])
    assert mask is not None and mask.shape == (256, 256) and 0.1 < mask.mean() < 0.6
    assert set(tracks(MaskSettings("bisenet-face", "extended"))) == {"bisenet-face"}
