"""faceswap's image losses, one value per image: their minimum, hand-computed cases, their
order, their gradients and their float32 arithmetic."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from skimage.metrics import structural_similarity

from pipeline.train.loss_functions import (GRADIENT_ALPHA, LOSSES, MS_SSIM_POWERS, SMOOTH_BETA,
                                           focal_frequency, gmsd, gradient_diff, l_inf,
                                           laplacian_pyramid, logcosh, mae, ms_ssim,
                                           ms_ssim_scales, mse, smooth, ssim)
from pipeline.train.losses import image_loss
from tests.pipeline.train.face_tensors import face_pair


pytestmark = pytest.mark.usefixtures("one_thread")


def noisy(target: torch.Tensor, amount: float) -> torch.Tensor:
    noise = torch.randn(target.shape, generator=torch.Generator().manual_seed(1))
    return (target + amount * noise).clamp(0, 1)


def flat(value: float, size: int = 64) -> torch.Tensor:
    return torch.full((1, 3, size, size), value)


def checkerboard(size: int) -> torch.Tensor:
    """+1/-1 in alternate pixels: detail that a 2 x 2 average wipes out."""
    rows, columns = torch.meshgrid(torch.arange(size), torch.arange(size), indexing="ij")
    return ((rows + columns) % 2 * 2 - 1).float().expand(1, 3, size, size)


@pytest.mark.parametrize("name", LOSSES)
def test_identical_images_score_the_minimum_and_more_error_scores_more(name: str) -> None:
    _, target = face_pair()
    small, large = (image_loss(name, noisy(target, amount), target).item()
                    for amount in (0.02, 0.2))
    assert image_loss(name, target, target).item() == pytest.approx(0, abs=1e-6)
    assert 0 < small < large


@pytest.mark.parametrize("name", LOSSES)
def test_every_loss_has_one_value_per_image_and_finite_gradients(name: str) -> None:
    predicted, target = face_pair()
    cases = [(torch.cat([predicted, target, flat(0.2)]), torch.cat([target, target, flat(0.7)])),
             (flat(0.5), flat(0.5))]
    for first, second in cases:
        first = first.clone().requires_grad_(True)
        values = image_loss(name, first, second)
        assert values.shape == (first.shape[0],) and torch.isfinite(values).all()
        values.sum().backward()
        assert first.grad is not None and torch.isfinite(first.grad).all()
    moved = predicted.clone().requires_grad_(True)
    image_loss(name, moved, target).sum().backward()
    assert moved.grad is not None and moved.grad.abs().sum() > 0


@pytest.mark.parametrize("name", LOSSES)
def test_bf16_images_are_scored_in_float32(name: str) -> None:
    predicted, target = (image.bfloat16() for image in face_pair())
    expected = image_loss(name, predicted.float(), target.float())
    with torch.autocast("cpu", dtype=torch.bfloat16):
        mixed = image_loss(name, predicted, target)
    assert mixed.dtype == torch.float32
    assert mixed.item() == pytest.approx(expected.item(), rel=1e-6)


def test_per_pixel_losses_on_a_hand_computed_case() -> None:
    errors = torch.tensor([[[0.5, -0.25], [0.0, 0.1]], [[0.2, 0.0], [0.0, 0.0]],
                           [[0.0, 0.0], [0.0, 0.0]]])
    target = torch.full((1, 3, 2, 2), 0.5)
    predicted = target + errors
    values = [0.5, -0.25, 0.1, 0.2]
    assert mae(predicted, target).item() == pytest.approx(sum(map(abs, values)) / 12, rel=1e-5)
    assert mse(predicted, target).item() == pytest.approx(
        sum(v * v for v in values) / 12, rel=1e-5)
    assert logcosh(predicted, target).item() == pytest.approx(
        sum(math.log(math.cosh(v)) for v in values) / 12, rel=1e-5)
    beta = SMOOTH_BETA   # alpha 1: sqrt(e^2 + beta^2) - beta
    assert smooth(predicted, target).item() == pytest.approx(
        sum(math.hypot(v, beta) - beta for v in values) / 12, rel=1e-4)
    # each channel's largest error, averaged over the channels
    assert l_inf(predicted, target).item() == pytest.approx((0.5 + 0.2 + 0) / 3, rel=1e-6)


def test_logcosh_is_exact_for_tiny_errors() -> None:
    target = flat(0.5)
    # log(cosh(x)) = x^2 / 2 - x^4 / 12 ...: 5e-9 for x = 1e-4, lost by log(cosh(x)) in float32
    assert logcosh(target + 1e-4, target).item() == pytest.approx(0.5e-8, rel=1e-2)


def test_ffl_and_laploss_of_an_even_shift() -> None:
    """A shift of d moves only the spectrum's DC term (by d sqrt(HW), the only weight 1) and
    only the pyramid's low-pass rest (by d, weighted 4^-levels)."""
    target = face_pair()[1]
    shifted = target + 0.1
    for factor in (1, 2):
        assert focal_frequency(shifted, target, patch_factor=factor).item() == \
            pytest.approx(0.01, rel=1e-4)
    assert laplacian_pyramid(shifted, target).item() == pytest.approx(0.1 / 4 ** 5, rel=1e-3)
    small = target[..., :16, :16]               # 16 px: 4 levels fit
    assert laplacian_pyramid(small + 0.1, small).item() == pytest.approx(0.1 / 4 ** 4, rel=1e-3)


def test_ffl_patches_must_tile_the_image() -> None:
    with pytest.raises(ValueError, match="patch factor 3 must divide the image size 64 x 64"):
        focal_frequency(flat(0.5), flat(0.5), patch_factor=3)


def test_edge_losses_ignore_an_even_shift_but_not_blur() -> None:
    predicted, target = face_pair()
    for loss in (gmsd, gradient_diff):
        assert loss(target + 0.1, target).item() == pytest.approx(0, abs=1e-6)
        assert loss(predicted, target).item() > 1e-3


def rho(error: float, alpha: float, beta: float) -> float:
    """Barron's loss of one error, times beta as faceswap scales it."""
    bend = abs(2 - alpha)
    return bend / alpha * (((error / beta) ** 2 / bend + 1) ** (alpha / 2) - 1) * beta


def test_gradient_diff_of_a_ramp() -> None:
    """An error rising by s per column: d/dx is s inside and s/2 at the two edge columns,
    d2/dx2 is s and -s at the edges and 0 inside; nothing moves along y."""
    width, slope = 8, 0.02
    error = (torch.arange(width) * slope).expand(1, 3, 4, width)
    target = flat(0.3, 8)[..., :4, :]
    first = [slope / 2] + [slope] * (width - 2) + [slope / 2]
    second = [slope] + [0.0] * (width - 2) + [-slope]
    expected = sum(rho(e, GRADIENT_ALPHA, SMOOTH_BETA) for e in first + second) / width / 2
    assert gradient_diff(target + error, target).item() == pytest.approx(expected, rel=1e-3)


def test_gradient_diff_of_one_wrong_pixel() -> None:
    """An error d in the middle of 3 x 3 pixels: d/dx and d/dy are +-d/2 beside it, the
    second derivatives d, d and -2d across it, and d2/dxdy +-d/4 at the four corners."""
    error = 0.1
    target = torch.full((1, 1, 3, 3), 0.4)
    predicted = target.clone()
    predicted[..., 1, 1] += error
    terms = (4 * rho(error / 2, GRADIENT_ALPHA, SMOOTH_BETA)      # x and y
             + 2 * sum(rho(e, GRADIENT_ALPHA, SMOOTH_BETA) for e in (error, error, -2 * error))
             + 2 * 4 * rho(error / 4, GRADIENT_ALPHA, SMOOTH_BETA))   # xy counts twice
    assert gradient_diff(predicted, target).item() == pytest.approx(terms / 9 / 2, rel=1e-3)


def test_ssim_matches_scikit_image() -> None:
    predicted, target = face_pair()
    ours = ssim(torch.cat([predicted, target]), torch.cat([target, target]))
    reference = structural_similarity(
        predicted[0].permute(1, 2, 0).numpy().astype(np.float64),
        target[0].permute(1, 2, 0).numpy().astype(np.float64), channel_axis=2,
        gaussian_weights=True, sigma=1.5, use_sample_covariance=False, data_range=1.0)
    assert 0.2 < reference < 0.95
    assert ours[0].item() == pytest.approx(reference, abs=1e-4)
    assert ours[1].item() == pytest.approx(1.0, abs=1e-6)


@pytest.mark.parametrize(("side", "scales"), [(256, 5), (161, 5), (160, 4), (64, 3), (16, 1),
                                              (11, 1), (10, 0)])
def test_ms_ssim_uses_the_scales_that_fit_its_window(side: int, scales: int) -> None:
    assert ms_ssim_scales(side) == scales


def test_ms_ssim_on_one_scale_is_ssim() -> None:
    predicted, target = (image[..., 20:36, 20:36] for image in face_pair())
    assert ms_ssim(predicted, target).item() == pytest.approx(ssim(predicted, target).item(),
                                                              rel=1e-5)


@pytest.mark.parametrize("side", [64, 256])
def test_ms_ssim_weighs_the_finest_scale_by_its_share_of_the_powers(side: int) -> None:
    """Checkerboard detail on a flat face is gone from every coarser scale, which then agree
    in full: MS-SSIM is the finest scale's SSIM to its power over the used powers' sum."""
    target = flat(0.5, side)
    predicted = target + 0.05 * checkerboard(side)
    used = MS_SSIM_POWERS[:ms_ssim_scales(side)]
    finest = ssim(predicted, target).item()
    assert finest < 0.5
    assert ms_ssim(predicted, target).item() == pytest.approx(
        finest ** (used[0] / sum(used)), rel=1e-4)


@pytest.mark.parametrize("side", [64, 256])
def test_ms_ssim_loss_on_64_and_256_px_faces(side: int) -> None:
    _, face = face_pair()
    target = torch.nn.functional.interpolate(face, size=(side, side), mode="bilinear")
    small, large = (image_loss("ms_ssim", noisy(target, amount), target).item()
                    for amount in (0.02, 0.2))
    assert image_loss("ms_ssim", target, target).item() == pytest.approx(0, abs=1e-5)
    assert 0 < small < large < 1


def test_ssim_and_ms_ssim_need_room_for_their_window() -> None:
    for loss in (ssim, ms_ssim):
        with pytest.raises(ValueError, match="11 x 11"):
            loss(torch.rand(1, 3, 10, 10), torch.rand(1, 3, 10, 10))
