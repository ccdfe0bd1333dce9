"""Warp to landmarks: the other side's closest faces, landmarks that follow the affine, and a
smooth warp that puts the input's landmarks on the chosen face's."""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from pipeline.extract.landmarks import MIRROR_68
from pipeline.extract.mean_face import MEAN_FACE_68
from pipeline.train import augment
from pipeline.train.augment import AugmentSettings, Augmenter
from pipeline.train.augment_landmarks import (LANDMARK_SIGMA, choose, closest_landmarks,
                                              landmark_warp_grid, move_landmarks)

SIZE = 64
NOTHING = AugmentSettings(zoom=0, rotation=0, shift=0, warp=False, flip=False, colour=False)
TO_LANDMARKS = dataclasses.replace(NOTHING, warp=True, warp_to_landmarks=True)
DOTS = ((36, 45, 57), (48, 54, 8), (19, 24, 30), (0, 16, 33))   # far apart, per image


pytestmark = pytest.mark.usefixtures("one_thread")


def seeded(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def mean_face(size: int = SIZE) -> torch.Tensor:
    """68 x 2: the mean face, filling the middle of a size x size image."""
    return torch.from_numpy(MEAN_FACE_68 * 0.5 * size + np.array([0.25, 0.15]) * size).float()


def other_face(size: int = SIZE) -> torch.Tensor:
    """Someone else: a wider face a little to the right and up, with the mouth lower."""
    face = mean_face(size)
    centre = face.mean(0)
    other = (face - centre) * torch.tensor([1.12, 1.05]) + centre + torch.tensor([3.0, -2.0])
    other[48:68, 1] += 2.0
    return other


def dots(points: torch.Tensor, size: int = SIZE, sigma: float = 1.2) -> torch.Tensor:
    """N x 3 x S x S: image n has a soft dot at DOTS[n][c] in channel c."""
    ticks = torch.arange(size, dtype=torch.float32)
    images = torch.zeros(len(points), 3, size, size)
    for n, indices in enumerate(DOTS[:len(points)]):
        for channel, index in enumerate(indices):
            x, y = points[n, index]
            images[n, channel] = torch.exp(-((ticks.view(1, -1) - x) ** 2
                                             + (ticks.view(-1, 1) - y) ** 2) / (2 * sigma ** 2))
    return images


def found(images: torch.Tensor) -> torch.Tensor:
    """N x 3 x 2: each channel's dot, as the weighted centre of the brightest 9 x 9 pixels."""
    size = images.shape[-1]
    centres = torch.zeros(images.shape[0], 3, 2)
    ticks = torch.arange(size, dtype=torch.float32)
    for n, image in enumerate(images):
        for channel, plane in enumerate(image):
            row, column = divmod(int(plane.argmax()), size)
            window = torch.zeros_like(plane)
            window[max(row - 4, 0):row + 5, max(column - 4, 0):column + 5] = 1
            weights = plane * window
            centres[n, channel] = torch.stack([(weights.sum(0) * ticks).sum(),
                                               (weights.sum(1) * ticks).sum()]) / weights.sum()
    return centres


def at_dots(points: torch.Tensor) -> torch.Tensor:
    """N x 3 x 2: the points of N x 68 x 2 that DOTS draws."""
    return torch.stack([points[n, list(DOTS[n])] for n in range(len(points))])


def test_closest_landmarks_are_faceswaps_nearest_by_mean_squared_distance() -> None:
    generator = np.random.default_rng(0)
    own = generator.normal(size=(30, 68, 2)) * 3 + 40
    other = generator.normal(size=(50, 68, 2)) * 3 + 40
    other[7] = own[3] + 0.01      # the nearest of own face 3, by far
    table = closest_landmarks(own, other, count=10)
    assert table.shape == (30, 10) and table.dtype == np.int64
    distances = ((own[:, None] - other[None]) ** 2).mean(axis=(2, 3))
    np.testing.assert_array_equal(table, np.argsort(distances, axis=1, kind="stable")[:, :10])
    assert table[3, 0] == 7
    small = closest_landmarks(own, other, count=10, chunk=7)   # in chunks: the same
    np.testing.assert_array_equal(small, table)
    assert closest_landmarks(own, other[:4], count=10).shape == (30, 4)


def test_closest_landmarks_refuses_what_it_cannot_use() -> None:
    with pytest.raises(ValueError, match="68 x 2"):
        closest_landmarks(np.zeros((3, 5, 2)), np.zeros((3, 68, 2)))
    with pytest.raises(ValueError, match="count"):
        closest_landmarks(np.zeros((3, 68, 2)), np.zeros((0, 68, 2)))


def test_choose_picks_each_candidate_by_its_draw() -> None:
    candidates = torch.arange(3.0).view(1, 3, 1, 1).expand(4, 3, 68, 2)
    picked = choose(candidates, torch.tensor([0.0, 0.34, 0.67, 0.9999]))
    assert picked[:, 0, 0].tolist() == [0, 1, 2, 2]


def test_a_flip_mirrors_the_points_and_swaps_left_and_right() -> None:
    face = mean_face().expand(2, -1, -1)
    mirror = torch.tensor([[-1.0, 0.0], [0.0, 1.0]]).expand(2, 2, 2)
    moved = move_landmarks(face, mirror, torch.zeros(2, 2), torch.tensor([True, False]), SIZE)
    mirrored = face[0].clone()
    mirrored[:, 0] = SIZE - 1 - mirrored[:, 0]
    assert torch.allclose(moved[0], mirrored[MIRROR_68], atol=1e-4)
    # the subject's right eye's outer corner (36) is now where their left one's (45) is
    assert moved[0, 45, 0] == pytest.approx(SIZE - 1 - face[0, 36, 0].item(), abs=1e-4)
    assert moved[0, 45, 0] > moved[0, 36, 0] and face[0, 45, 0] > face[0, 36, 0]
    assert torch.allclose(moved[1, :, 1], face[1, :, 1], atol=1e-4)  # unflipped: y kept


def test_landmarks_follow_the_image_through_rotation_zoom_shift_and_flip() -> None:
    """Dots drawn at landmarks are found again, after the random affine, where
    move_landmarks puts those landmarks (by their new, swapped index when flipped)."""
    face = mean_face().expand(4, -1, -1)
    settings = dataclasses.replace(NOTHING, rotation=20, zoom=0.1, shift=0.08, flip=True,
                                   flip_chance=0.5)
    batch = Augmenter(settings, SIZE, SIZE)(dots(face), torch.zeros(4, 0, SIZE, SIZE),
                                            seeded(4))
    affine = augment._affine(augment._draw(4, seeded(4), torch.device("cpu")), settings)
    assert 0 < int(affine.flipped.sum()) < 4          # this seed flips some, not all
    moved = move_landmarks(face, *affine, SIZE)
    unswapped = torch.where(affine.flipped.view(-1, 1, 1), moved[:, MIRROR_68], moved)
    assert (found(batch.targets) - at_dots(unswapped)).norm(dim=-1).max() < 0.5


def test_the_warp_puts_the_landmarks_on_the_chosen_face() -> None:
    """Dots at the input's landmarks end up at the other face's (each point jittered by
    faceswap's normal 2/256 of the size), several pixels from where they were."""
    own, other = mean_face().expand(4, -1, -1), other_face().expand(4, 1, -1, -1)
    batch = Augmenter(TO_LANDMARKS, SIZE, SIZE)(dots(own), torch.zeros(4, 0, SIZE, SIZE),
                                                seeded(0), own, other)
    where = found(batch.inputs)
    assert (where - at_dots(other[:, 0])).norm(dim=-1).max() < 4 * LANDMARK_SIGMA * SIZE
    assert (where - at_dots(own)).norm(dim=-1).mean() > 3
    jitter = augment._draw(4, seeded(0), torch.device("cpu")).jitter * LANDMARK_SIGMA * SIZE
    assert (where - at_dots(other[:, 0] + jitter)).norm(dim=-1).max() < 1.0


def test_every_landmark_reads_from_its_own_point_and_the_edges_stay() -> None:
    """The warp's map (an image of its own pixel coordinates, warped) at each jittered
    target point holds the source point: all 68 land where they should, to a fifth of a
    pixel on average and within a pixel where the spline's smoothing keeps lip points
    jittered across each other from folding the image."""
    own, other = mean_face().expand(2, -1, -1), other_face().expand(2, 1, -1, -1)
    ticks = torch.arange(SIZE, dtype=torch.float32)
    coordinates = torch.stack([ticks.expand(SIZE, SIZE), ticks.view(-1, 1).expand(SIZE, SIZE),
                               torch.zeros(SIZE, SIZE)]).expand(2, 3, SIZE, SIZE) / SIZE
    batch = Augmenter(TO_LANDMARKS, SIZE, SIZE)(coordinates, coordinates[:, :0], seeded(1),
                                                own, other)
    jitter = augment._draw(2, seeded(1), torch.device("cpu")).jitter * LANDMARK_SIGMA * SIZE
    target = other[:, 0] + jitter
    read = augment._sample(batch.inputs[:, :2] * SIZE,
                           ((target * 2 + 1) / SIZE - 1).permute(0, 2, 1).unsqueeze(-1),
                           "border").squeeze(-1).permute(0, 2, 1)
    error = (read - own).norm(dim=-1)
    assert error.mean() < 0.2 and error.max() < 1.0
    # the anchors pin the corners and the middles of the sides
    moved = batch.inputs[:, :2] * SIZE - coordinates[:, :2] * SIZE
    for row, column in ((0, 0), (0, SIZE - 1), (SIZE - 1, 0), (SIZE - 1, SIZE - 1)):
        assert moved[:, :, row, column].abs().max() < 0.01


def test_the_warp_is_smooth_and_hardly_ever_folds() -> None:
    """Its map changes by about a pixel per pixel everywhere (no tears), and the smoothing
    keeps closed lips whose points the jitter crossed from folding the image: of 32 jittered
    warps at most one folds at all, and none by more than a sliver."""
    own, other = mean_face().expand(32, -1, -1), other_face().expand(32, -1, -1)
    jitter = torch.randn(32, 68, 2, generator=seeded(2)) * LANDMARK_SIGMA * SIZE
    grid = (landmark_warp_grid(own, other + jitter, SIZE) + 1) * SIZE / 2
    across, down = grid.diff(dim=3)[:, :, :-1], grid.diff(dim=2)[:, :, :, :-1]
    area = across[:, 0] * down[:, 1] - across[:, 1] * down[:, 0]
    assert int((area.amin(dim=(1, 2)) <= 0).sum()) <= 1
    assert area.min() > -0.25 and area.max() < 3
    assert across.abs().max() < 3 and down.abs().max() < 3


def test_the_same_landmarks_give_almost_no_warp() -> None:
    face = mean_face().expand(2, -1, -1)
    grid = landmark_warp_grid(face, face, SIZE)
    identity = augment._identity(SIZE, grid)
    assert (grid - identity).abs().max() * SIZE / 2 < 0.01


def test_a_jaw_point_folded_into_the_face_is_left_out() -> None:
    """faceswap drops jaw points inside the hull of the inner points: here one jaw point of
    the target sits on the nose; the warp must not drag the jaw there."""
    own = mean_face().unsqueeze(0)
    target = own.clone()
    target[0, 4] = own[0, 30]
    grid = (landmark_warp_grid(own, target, SIZE) + 1) * SIZE / 2 - 0.5
    nose = own[0, 30].round().long()
    reads = grid[0, :, nose[1], nose[0]]
    assert (reads - own[0, 30]).norm() < 1.0               # the nose still reads the nose
    assert torch.isfinite(grid).all()


def test_the_targets_and_masks_are_not_warped() -> None:
    own, other = mean_face().expand(4, -1, -1), other_face().expand(4, 2, -1, -1)
    images, masks = dots(own), dots(own)[:, :1]
    settings = dataclasses.replace(AugmentSettings(), warp_to_landmarks=True)
    warped = Augmenter(settings, SIZE, 48)(images, masks, seeded(5), own, other)
    plain = Augmenter(dataclasses.replace(settings, warp=False), SIZE, 48)(images, masks,
                                                                          seeded(5))
    assert torch.equal(warped.targets, plain.targets)
    assert torch.equal(warped.masks, plain.masks)
    assert not torch.allclose(warped.inputs, augment.resize(plain.targets, SIZE), atol=0.05)


def test_a_seed_gives_the_same_warp_and_another_seed_another() -> None:
    own = mean_face().expand(3, -1, -1)
    candidates = torch.stack([other_face(), mean_face() + 2, other_face() - 1.5]).expand(
        3, 3, 68, 2)
    augmenter = Augmenter(dataclasses.replace(AugmentSettings(), warp_to_landmarks=True),
                          SIZE, SIZE)
    images = dots(own)
    first, again, other = (augmenter(images, images[:, :1], seeded(s), own, candidates)
                           for s in (3, 3, 4))
    assert torch.equal(first.inputs, again.inputs)
    assert not torch.equal(first.inputs, other.inputs)


def test_missing_or_misshapen_landmarks_say_what_is_wrong() -> None:
    augmenter = Augmenter(TO_LANDMARKS, SIZE, SIZE)
    images = torch.zeros(2, 3, SIZE, SIZE)
    own, other = mean_face().expand(2, -1, -1), other_face().expand(2, 1, -1, -1)
    assert augmenter.needs_landmarks
    with pytest.raises(ValueError, match="warp_to_landmarks needs landmarks"):
        augmenter(images, images[:, :0], seeded(0))
    with pytest.raises(ValueError, match="warp_to_landmarks needs"):
        augmenter(images, images[:, :0], seeded(0), own)
    with pytest.raises(ValueError, match="landmarks must be 2 x 68 x 2"):
        augmenter(images, images[:, :0], seeded(0), own[:1], other)
    with pytest.raises(ValueError, match="candidates must be 2 x K x 68 x 2"):
        augmenter(images, images[:, :0], seeded(0), own, other[:, :, :60])
    with pytest.raises(ValueError, match="candidates"):
        augmenter(images, images[:, :0], seeded(0), own, other[:, :0])
    # without the warp, warp_to_landmarks has nothing to do and needs nothing
    unwarped = Augmenter(dataclasses.replace(TO_LANDMARKS, warp=False), SIZE, SIZE)
    assert not unwarped.needs_landmarks
    assert torch.equal(unwarped(images, images[:, :0], seeded(0)).inputs, images)
