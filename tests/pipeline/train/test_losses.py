"""Training losses: faceswap's SSIM, MAE and MSE, its penalized mask loss and area weights."""
from __future__ import annotations

import dataclasses

import cv2
import numpy as np
import pytest
import torch
from skimage.data import astronaut
from skimage.metrics import structural_similarity

from pipeline.train.losses import LossSettings, face_loss, image_loss, mask_loss, ssim

SIZE = 64
MAE_ONLY = LossSettings(loss="mae", secondary=None)


def face_pair() -> tuple[torch.Tensor, torch.Tensor]:
    """The astronaut's face (1 x 3 x 64 x 64) and a blurred, noisier copy of it."""
    crop = cv2.resize(astronaut()[20:220, 160:360], (SIZE, SIZE), interpolation=cv2.INTER_AREA)
    target = torch.from_numpy(crop).permute(2, 0, 1)[None].float() / 255
    noise = torch.randn(target.shape, generator=torch.Generator().manual_seed(0)) * 0.05
    blurred = torch.from_numpy(cv2.GaussianBlur(crop, (5, 5), 1.0)).permute(2, 0, 1)[None] / 255
    return (blurred + noise).clamp(0, 1), target


def box(top: int, left: int, height: int, width: int) -> torch.Tensor:
    mask = torch.zeros(1, 1, SIZE, SIZE)
    mask[..., top:top + height, left:left + width] = 1
    return mask


FACE, EYES, MOUTH = box(8, 8, 48, 48), box(16, 14, 8, 36), box(40, 20, 8, 24)


def test_defaults_are_faceswaps_and_every_setting_says_what_it_does() -> None:
    settings = LossSettings()
    assert (settings.loss, settings.secondary, settings.secondary_weight) == ("ssim", "mse", 1.0)
    assert settings.penalized_mask_loss
    assert (settings.eye_multiplier, settings.mouth_multiplier) == (3, 2)
    for item in dataclasses.fields(LossSettings):
        assert item.metadata["help"] and "\n" not in item.metadata["help"]


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


@pytest.mark.parametrize("name", ["ssim", "mae", "mse"])
def test_identical_images_cost_nothing(name: str) -> None:
    _, target = face_pair()
    assert image_loss(name, target, target).item() == pytest.approx(0, abs=1e-6)
    settings = LossSettings(loss=name, secondary=None)
    assert face_loss(target, target, FACE, EYES, MOUTH, settings).item() == \
        pytest.approx(0, abs=1e-6)


def test_mae_mse_and_the_ssim_loss_are_what_they_say() -> None:
    predicted, target = face_pair()
    assert image_loss("mae", predicted, target).item() == \
        pytest.approx((predicted - target).abs().mean().item(), rel=1e-5)
    assert image_loss("mse", predicted, target).item() == \
        pytest.approx((predicted - target).square().mean().item(), rel=1e-5)
    assert image_loss("ssim", predicted, target).item() == \
        pytest.approx((1 - ssim(predicted, target).item()) / 2, rel=1e-5)


def test_the_secondary_loss_is_added_at_its_weight() -> None:
    predicted, target = face_pair()
    settings = LossSettings(loss="ssim", secondary="mae", secondary_weight=0.25,
                            penalized_mask_loss=False)
    expected = image_loss("ssim", predicted, target) + 0.25 * image_loss("mae", predicted, target)
    assert face_loss(predicted, target, None, None, None, settings).item() == \
        pytest.approx(expected.item(), rel=1e-5)


@pytest.mark.parametrize("name", ["ssim", "mae", "mse"])
def test_penalized_mask_loss_ignores_the_background(name: str) -> None:
    predicted, target = face_pair()
    background_only = torch.where(FACE.bool(), target, predicted)
    settings = LossSettings(loss=name, secondary=None)
    assert face_loss(background_only, target, FACE, None, None, settings).item() == \
        pytest.approx(0, abs=1e-6)
    unpenalized = dataclasses.replace(settings, penalized_mask_loss=False)
    assert face_loss(background_only, target, FACE, None, None, unpenalized).item() > 1e-3


def test_an_error_in_the_eyes_or_mouth_counts_one_plus_its_multiplier_times() -> None:
    """faceswap adds f(masked to the area) * multiplier to f(masked to the face)."""
    _, target = face_pair()
    for area, multiplier in ((EYES, 3), (MOUTH, 2)):
        wrong = target + 0.2 * area
        plain = face_loss(wrong, target, FACE, None, None, MAE_ONLY).item()
        weighted = face_loss(wrong, target, FACE, EYES, MOUTH, MAE_ONLY).item()
        assert plain > 0
        assert weighted == pytest.approx((1 + multiplier) * plain, rel=1e-5)
    elsewhere = target + 0.2 * box(28, 10, 6, 6)             # a cheek: face, no eye, no mouth
    assert face_loss(elsewhere, target, FACE, EYES, MOUTH, MAE_ONLY).item() == \
        pytest.approx(face_loss(elsewhere, target, FACE, None, None, MAE_ONLY).item(), rel=1e-6)


def test_area_multipliers_need_the_penalized_mask_loss_as_in_faceswap() -> None:
    _, target = face_pair()
    wrong = target + 0.2 * EYES
    off = dataclasses.replace(MAE_ONLY, penalized_mask_loss=False)
    assert face_loss(wrong, target, FACE, EYES, MOUTH, off).item() == \
        pytest.approx(face_loss(wrong, target, None, None, None, off).item(), rel=1e-6)
    flat = dataclasses.replace(MAE_ONLY, eye_multiplier=1, mouth_multiplier=1)
    assert face_loss(wrong, target, FACE, EYES, MOUTH, flat).item() == \
        pytest.approx(face_loss(wrong, target, FACE, None, None, flat).item(), rel=1e-6)


def test_losses_are_float32_and_unchanged_under_bf16_autocast() -> None:
    predicted, target = face_pair()
    predicted.requires_grad_(True)
    settings = LossSettings()
    full = face_loss(predicted, target, FACE, EYES, MOUTH, settings)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        mixed = face_loss(predicted, target, FACE, EYES, MOUTH, settings)
        halves = face_loss(predicted.bfloat16(), target.bfloat16(), FACE.bfloat16(),
                           EYES, MOUTH, settings)
        masked = mask_loss(FACE.bfloat16(), EYES)
    assert mixed.dtype == halves.dtype == masked.dtype == torch.float32
    assert mixed.item() == pytest.approx(full.item(), rel=1e-6)
    assert halves.item() == pytest.approx(full.item(), rel=0.05)
    mixed.backward()
    assert predicted.grad is not None and torch.isfinite(predicted.grad).all()


def test_mask_loss_is_the_mse_of_the_masks() -> None:
    assert mask_loss(FACE, EYES).item() == pytest.approx((FACE - EYES).square().mean().item())
    assert mask_loss(FACE, FACE).item() == 0


def test_ssim_needs_room_for_its_window() -> None:
    with pytest.raises(ValueError, match="11 x 11"):
        ssim(torch.rand(1, 3, 8, 8), torch.rand(1, 3, 8, 8))


@pytest.mark.parametrize(("change", "words"), [
    ({"loss": "ssmi"}, "unknown loss 'ssmi'"),
    ({"secondary": "l1"}, "unknown secondary loss 'l1'"),
    ({"secondary_weight": 1.5}, "secondary_weight must be between 0 and 1"),
    ({"eye_multiplier": 0}, "eye_multiplier must be a whole number from 1 to 40"),
    ({"mouth_multiplier": 2.5}, "mouth_multiplier must be a whole number"),
    ({"mask_loss_weight": -1.0}, "mask_loss_weight must be 0 or more"),
])
def test_bad_settings_say_what_is_wrong(change: dict, words: str) -> None:
    with pytest.raises(ValueError, match=words):
        LossSettings(**change)
