"""Tracks: linking faces through frames, shot cuts, clustering by track, flags and gaps."""
from __future__ import annotations

import math

import numpy as np
import pytest

from pipeline.curate.cluster import cluster, cluster_units
from pipeline.curate.track_flags import NO_FACE, NO_LIFE, flag_all
from pipeline.curate.tracks import MAX_GAP, Sighting, cut_frames, frame_signature, link
from store.tracks import TrackedFace

RNG = np.random.default_rng(7)
SHAPE = RNG.uniform(0, 100, (68, 2)).astype(np.float32)


def person(seed: int) -> np.ndarray:
    vector = np.random.default_rng(seed).normal(size=128).astype(np.float32)
    return vector / np.linalg.norm(vector) * 0.6   # people about 0.85 apart, as dlib's are


def sighting(face_id: int, frame: int, x: float, who: np.ndarray, y: float = 50) -> Sighting:
    box = np.array([x, y, x + 100, y + 100], np.float32)
    jitter = np.random.default_rng(face_id).normal(scale=0.02, size=128).astype(np.float32)
    return Sighting(face_id, frame, box, SHAPE + [x, y], who + jitter)


def test_two_people_crossing_keep_their_own_tracks() -> None:
    ann, bob = person(1), person(2)
    faces = []
    for frame in range(20):   # Ann walks right, Bob left: they pass each other
        faces += [sighting(2 * frame, frame, 10 + 15 * frame, ann),
                  sighting(2 * frame + 1, frame, 300 - 15 * frame, bob, y=60)]
    tracks = link(faces, cuts=set())
    assert len(tracks) == 2
    for track in tracks:
        assert len(track) == 20 and len({faces[i].face_id % 2 for i in track}) == 1


def test_a_short_gap_is_bridged_and_a_long_one_is_not() -> None:
    ann = person(1)
    frames = [*range(0, 5), *range(5 + MAX_GAP - 1, 12 + MAX_GAP),   # a gap of MAX_GAP - 1
              *range(13 + 3 * MAX_GAP, 16 + 3 * MAX_GAP)]            # then a long one
    faces = [sighting(n, frame, 10 + frame, ann) for n, frame in enumerate(frames)]
    tracks = link(faces, cuts=set())
    assert [len(t) for t in tracks] == [len(frames) - 3, 3]


def test_every_n_extraction_stretches_the_gap() -> None:
    ann = person(1)
    faces = [sighting(n, frame, 10 + frame, ann) for n, frame in enumerate(range(0, 400, 20))]
    assert len(link(faces, cuts=set(), step=20)) == 1
    assert len(link(faces, cuts=set(), step=1)) == len(faces)


def test_across_a_cut_only_the_descriptor_links() -> None:
    ann, bob = person(1), person(2)
    before = [sighting(n, n, 100, ann) for n in range(5)]
    # after the cut, Bob stands where Ann stood and Ann is across the frame
    after = [sighting(10 + n, 5 + n, 100, bob) for n in range(5)] + \
            [sighting(20 + n, 5 + n, 400, ann) for n in range(5)]
    faces = before + after
    tracks = link(faces, cuts={5})
    ann_track = next(t for t in tracks if faces[t[0]].face_id == 0)
    assert {faces[i].face_id for i in ann_track} == {0, 1, 2, 3, 4, 20, 21, 22, 23, 24}
    assert len(tracks) == 2


def test_someone_else_in_the_same_place_is_not_linked() -> None:
    faces = [sighting(0, 0, 100, person(1)), sighting(1, 1, 100, person(2))]
    assert len(link(faces, cuts=set())) == 2


def frame_with_square(x: int, brightness: float = 1.0) -> np.ndarray:
    frame = np.full((90, 160, 3), 40, np.uint8)
    frame[20:60, x:x + 40] = 200
    return np.clip(frame * brightness, 0, 255).astype(np.uint8)


def other_shot(n: int) -> np.ndarray:
    frame = np.full((90, 160, 3), 180, np.uint8)
    frame[:, 60 + n:100 + n] = 20
    frame[70:, :] = 90
    return frame


def test_cuts_are_found_and_flashes_and_blank_frames_are_not_cuts() -> None:
    frames = [frame_with_square(10 + 2 * n) for n in range(8)]
    frames[3] = frame_with_square(16, brightness=1.8)             # a camera flash
    frames += [other_shot(n) for n in range(8)]
    frames += [np.zeros((90, 160, 3), np.uint8)] * 4             # fade to black
    signatures = [frame_signature(f) for f in frames]
    assert signatures[0].dtype == np.uint8 and signatures[0].shape == (144,)
    assert cut_frames(list(range(len(frames))), signatures) == {8, 16}
    assert cut_frames([0, 1, 2], [None, signatures[0], signatures[9]]) == {2}
    assert cut_frames([0, 1], [signatures[0], None]) == set()


def test_a_track_is_never_split_by_clustering() -> None:
    rng = np.random.default_rng(3)
    people = [person(s) for s in range(4)]
    vectors, units = [], []
    for unit in range(40):
        who = people[unit % 4]
        for _ in range(rng.integers(1, 12)):
            vectors.append(who + rng.normal(scale=0.01, size=128))
            units.append(unit)
    # one track's closed-eye frame lies nearer another person than its own
    vectors.append(0.3 * people[0] + 0.7 * people[1])
    units.append(0)
    vectors, units = np.array(vectors, np.float32), np.array(units)
    by_face = cluster(vectors).labels
    assert len(set(by_face[units == 0])) == 2     # faces alone: the track is split
    labels = cluster_units(vectors, units).labels
    for unit in range(40):
        assert len(set(labels[units == unit])) == 1
    assert len(set(labels)) == 4


def tracked_face(n: int, x: float, shape: np.ndarray) -> TrackedFace:
    matrix = np.array([[0.01, 0, -x * 0.01], [0, 0.01, -0.5]], np.float32)
    return TrackedFace(n, n, n, np.array([x, 50, x + 100, 150], np.float32), 1.0,
                       shape + [x, 50], matrix, person(1))


def test_flags_come_from_the_face_check_and_from_a_track_without_life() -> None:
    living = [tracked_face(n, 10 + 5 * n, SHAPE + RNG.normal(scale=3, size=(68, 2)))
              for n in range(12)]
    still = [tracked_face(100 + n, 10, SHAPE) for n in range(12)]
    crest = [tracked_face(200 + n, 10 + 5 * n, SHAPE) for n in range(4)]
    checked: list[int] = []

    def crop_of(face_id: int) -> np.ndarray:
        checked.append(face_id)
        return np.full((512, 512, 3), face_id % 256, np.uint8)

    def check(crops: list[np.ndarray]) -> list[float]:
        assert all(c.shape == (256, 256, 3) for c in crops)
        return [-math.inf if c[0, 0, 0] >= 200 else 1.0 for c in crops]

    assert flag_all([living, still, crest], check, crop_of) == [None, NO_LIFE, NO_FACE]
    assert len(checked) == 9    # three crops a track, first, middle and last


@pytest.fixture(scope="module")
def face_check():
    from pipeline.curate.face_check import cnn_face_check

    return cnn_face_check("cpu")


def test_the_cnn_face_check_tells_a_face_crop_from_a_texture(face_check) -> None:
    import cv2
    from skimage.data import astronaut, brick

    face = cv2.resize(astronaut()[30:250, 130:330], (256, 256))
    texture = cv2.cvtColor(cv2.resize(brick(), (256, 256)), cv2.COLOR_GRAY2RGB)
    found_face, found_texture = face_check([face, texture])
    assert found_face > 0 and found_texture == -math.inf


def test_two_people_whose_track_means_are_close_stay_apart() -> None:
    """Averaging takes each face's noise out: the tracks' means of two people can be nearer
    than the threshold while their faces never are."""
    rng = np.random.default_rng(5)
    direction = rng.normal(size=128)
    centres = [np.zeros(128), 0.45 * direction / np.linalg.norm(direction)]
    vectors = np.concatenate([c + rng.normal(scale=0.4 / np.sqrt(128), size=(30, 128))
                              for c in centres]).astype(np.float32)
    units = np.repeat([0, 1], 30)
    assert np.linalg.norm(vectors[:30].mean(0) - vectors[30:].mean(0)) < 0.55
    assert len(cluster_units(vectors, units).centres) == 2
