"""faceswap-style alignment filters and identity filters, on landmark sets made to fail."""
from __future__ import annotations

import numpy as np

from pipeline.extract.alignment import align_to_mean_face, umeyama
from pipeline.extract.filters import IdentityFilter, layout_problem, size_problem
from pipeline.extract.landmarks import MIRROR_68
from pipeline.extract.mean_face import MEAN_FACE_68


def placed(points: np.ndarray, scale: float = 120.0, offset: float = 200.0) -> np.ndarray:
    return points * scale + offset


def test_a_face_shaped_layout_passes() -> None:
    face = placed(MEAN_FACE_68)
    assert layout_problem(face, align_to_mean_face(face)) is None


def test_a_scrambled_layout_is_not_face_shaped() -> None:
    scrambled = placed(np.random.default_rng(0).permutation(MEAN_FACE_68))
    assert "not face-shaped" in layout_problem(scrambled, align_to_mean_face(scrambled))


def test_a_mirror_image_layout_is_impossible() -> None:
    mirrored = MEAN_FACE_68.copy()
    mirrored[:, 0] = 1 - mirrored[:, 0]  # the right eye on the left: no rotation undoes it
    face = placed(mirrored)
    assert layout_problem(face, align_to_mean_face(face)) is not None


def test_the_same_face_mirrored_with_its_labels_is_fine() -> None:
    mirrored = MEAN_FACE_68.copy()
    mirrored[:, 0] = 1 - mirrored[:, 0]
    face = placed(mirrored[MIRROR_68])
    assert layout_problem(face, umeyama(face[17:], MEAN_FACE_68[17:])) is None


def test_size_filter_uses_percent_of_the_short_side() -> None:
    assert size_problem(0.05, 2.0) is None
    assert "too small" in size_problem(0.01, 2.0)


def test_identity_filter_has_faceswaps_semantics() -> None:
    alice, bob = np.zeros(128, np.float32), np.full(128, 0.1, np.float32)  # 1.13 apart
    keep_alice = IdentityFilter(alice[None], np.zeros((0, 128), np.float32), 0.6)
    assert keep_alice.judge(alice + 0.01)[0] is None
    assert "unlike the --filter" in keep_alice.judge(bob)[0]
    drop_bob = IdentityFilter(np.zeros((0, 128), np.float32), bob[None], 0.6)
    assert "--nfilter" in drop_bob.judge(bob)[0] and drop_bob.judge(alice)[0] is None
    both = IdentityFilter(alice[None], (alice + 0.02)[None], 0.6)
    assert both.judge(alice)[0] is None  # nearer the person to keep
