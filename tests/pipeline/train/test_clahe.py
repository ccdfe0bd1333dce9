"""CLAHE as batched tensors: OpenCV's result, faceswap's grid sizes, and its use on L."""
from __future__ import annotations

import functools

import cv2
import numpy as np
import pytest
import torch
from skimage.data import astronaut

from pipeline.train.clahe import clahe, equalise_lightness, grid_sizes


pytestmark = pytest.mark.usefixtures("one_thread")


@functools.cache
def lightness(count: int, height: int, width: int) -> np.ndarray:
    """count x H x W uint8: the 8-bit L*a*b* lightness of crops of the astronaut, as faceswap
    hands it to cv2's CLAHE."""
    image = astronaut()
    crops = [cv2.resize(image[10 + 9 * i:230 + 9 * i, 100 + 7 * i:320 + 7 * i], (width, height),
                        interpolation=cv2.INTER_AREA) for i in range(count)]
    return np.stack([cv2.cvtColor(crop, cv2.COLOR_RGB2Lab)[..., 0] for crop in crops])


@pytest.mark.parametrize(("grid", "height", "width"), [(2, 96, 96), (3, 96, 96), (5, 96, 96),
                                                       (8, 64, 64), (7, 80, 96), (4, 33, 47)])
def test_it_is_opencvs_clahe_before_the_final_rounding(grid: int, height: int,
                                                       width: int) -> None:
    """Same tiles (reflected padding where the size does not divide), clip limit 2, the
    same redistribution and interpolation: OpenCV rounds its float result to 8 bits and we
    keep the float, so every pixel is within half a level (plus float32 noise) and the mean
    difference is the mean rounding error, about a quarter of a level."""
    images = lightness(3, height, width)
    ours = clahe(torch.from_numpy(images).float(), torch.full((3,), grid)).numpy()
    theirs = np.stack([cv2.createCLAHE(clipLimit=2.0, tileGridSize=(grid, grid)).apply(image)
                       for image in images]).astype(np.float32)
    difference = np.abs(ours - theirs)
    assert difference.max() <= 0.5 + 1e-3
    assert difference.mean() < 0.3
    assert np.abs(images - theirs).mean() > 3   # CLAHE did change the images


def test_each_image_gets_its_own_grid_in_one_call() -> None:
    images = torch.from_numpy(lightness(4, 64, 64)).float()
    grids = torch.tensor([2, 6, 2, 4])
    together = clahe(images, grids)
    for image, grid, result in zip(images, grids, together):
        assert torch.equal(result, clahe(image[None], grid[None])[0])
    assert not torch.equal(together[0], clahe(images[:1], torch.tensor([3]))[0])


def test_between_levels_it_reads_between_the_mappings() -> None:
    """A float image is counted at its nearest levels but mapped linearly between them:
    nudging every value by 0.2 and 0.4 of a level (the same counts) moves each output by
    0.2 and 0.4 of its mapping's step, upwards, never by a jump."""
    images = torch.from_numpy(lightness(1, 48, 48)).float()
    grids = torch.tensor([3])
    base = clahe(images, grids)
    small, large = clahe(images + 0.2, grids) - base, clahe(images + 0.4, grids) - base
    assert torch.allclose(large, small * 2, atol=1e-3)
    assert small.min() >= 0 and small.max() > 0.1


def test_values_stay_in_range_even_beyond_it() -> None:
    values = torch.linspace(-20, 280, 40 * 40).view(1, 40, 40)
    result = clahe(values, torch.tensor([4]))
    assert result.min() >= 0 and result.max() <= 255


@pytest.mark.parametrize(("size", "max_size", "expected"), [
    (96, 4, [2, 3, 4, 5, 6]), (128, 4, [2, 3, 4, 5, 6]), (256, 1, [2, 3]),
    (512, 4, [4, 6, 8, 10, 12]), (1024, 8, [8 + 4 * k for k in range(9)])])
def test_grid_sizes_are_faceswaps_range(size: int, max_size: int, expected: list[int]) -> None:
    """base = max(2, size // 128) tiles, plus base // 2 per step, steps 0 to max_size evenly."""
    draws = (torch.arange(900) + 0.5) / 900
    grids = grid_sizes(draws, max_size, size)
    counts = {int(value): int(count) for value, count in zip(*grids.unique(return_counts=True))}
    assert sorted(counts) == expected
    assert max(counts.values()) - min(counts.values()) <= 1
    assert grid_sizes(torch.tensor([0.0, 0.999999]), max_size, size).tolist() == \
        [expected[0], expected[-1]]


def test_equalise_lightness_changes_l_and_keeps_a_and_b() -> None:
    """On f (the L*a*b* curve of X, Y, Z), only the chosen images change, all three f by the
    same amount: L moves, a and b (differences of f) stay."""
    f = torch.rand(3, 3, 32, 32, generator=torch.Generator().manual_seed(0)) * 0.5 + 0.3
    before = f.clone()
    after = equalise_lightness(f.clone(), torch.tensor([True, False, True]),
                               torch.tensor([2, 5, 4]))
    assert torch.equal(after[1], before[1])
    change = after - before
    assert change[[0, 2]].abs().mean() > 0.01
    assert torch.allclose(change[:, 0], change[:, 1], atol=1e-6)
    assert torch.allclose(change[:, 2], change[:, 1], atol=1e-6)
    level = before[0, 1] * 116 * 2.55 - 16 * 2.55
    expected = clahe(level[None], torch.tensor([2]))[0]
    assert torch.allclose(after[0, 1] * 116 * 2.55 - 16 * 2.55, expected, atol=1e-3)


def test_bad_input_says_what_is_wrong() -> None:
    with pytest.raises(ValueError, match="N x H x W"):
        clahe(torch.zeros(2, 1, 8, 8), torch.tensor([2, 2]))
    with pytest.raises(ValueError, match="N x H x W"):
        clahe(torch.zeros(2, 8, 8), torch.tensor([2]))
    with pytest.raises(ValueError, match="does not fit"):
        clahe(torch.zeros(1, 8, 8), torch.tensor([9]))
