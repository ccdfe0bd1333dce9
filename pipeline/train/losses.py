"""The trainer's losses, as faceswap computes them: SSIM, MAE and MSE over the face, with the
eyes and mouth weighted up, and MSE for a learned mask.

faceswap's face loss, for each chosen function f at weight w (primary 1, secondary its weight):

    w * f(predicted * face, target * face)                  the face counts, the rest does not
  + w * eye_multiplier * f(predicted * eyes, target * eyes)    when eye_multiplier > 1
  + w * mouth_multiplier * f(predicted * mouth, target * mouth)  when mouth_multiplier > 1

An error inside the eyes is therefore counted (1 + eye_multiplier) times. As in faceswap, the
area multipliers need the penalized mask loss: without it the whole image counts, evenly.

Everything is computed in float32 with autocast off, so bf16 or fp16 training stays stable.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F

LOSSES = ("ssim", "mae", "mse")

# SSIM as faceswap's DSSIMObjective (after tf.image.ssim): an 11 x 11 gaussian window with
# sigma 1.5, 'valid' positions only, each channel on its own, k1 = 0.01, k2 = 0.03, values in
# [0, 1]; its loss is (1 - SSIM) / 2.
SSIM_WINDOW = 11
SSIM_SIGMA = 1.5
_C1 = 0.01 ** 2
_C2 = 0.03 ** 2


@dataclass(frozen=True)
class LossSettings:
    """How the reconstruction is scored (faceswap's defaults)."""

    loss: str = field(default="ssim", metadata={"choices": LOSSES,
        "help": "Main loss: ssim (structure, sharper), mae (median-like) or mse (mean-like)."})
    secondary: str | None = field(default="mse", metadata={"choices": LOSSES,
        "help": "A second loss added to the main one (ssim, mae, mse), or none."})
    secondary_weight: float = field(default=1.0, metadata={
        "help": "Weight of the second loss, 0 to 1 (1 adds it in full)."})
    penalized_mask_loss: bool = field(default=True, metadata={
        "help": "Score only the face inside its mask; errors in the background do not count."})
    eye_multiplier: int = field(default=3, metadata={
        "help": "Extra weight on the eyes, 1 to 40 (1 = none; needs penalized_mask_loss)."})
    mouth_multiplier: int = field(default=2, metadata={
        "help": "Extra weight on the mouth, 1 to 40 (1 = none; needs penalized_mask_loss)."})
    mask_loss_weight: float = field(default=1.0, metadata={
        "help": "Weight of the learned mask's loss (MSE against the target mask)."})

    def __post_init__(self) -> None:
        if self.loss not in LOSSES:
            raise ValueError(f"unknown loss {self.loss!r}: choose one of {', '.join(LOSSES)}")
        if self.secondary is not None and self.secondary not in LOSSES:
            raise ValueError(f"unknown secondary loss {self.secondary!r}: choose one of "
                             f"{', '.join(LOSSES)}, or None")
        if not 0 <= self.secondary_weight <= 1:
            raise ValueError(f"secondary_weight must be between 0 and 1, not "
                             f"{self.secondary_weight}")
        for name in ("eye_multiplier", "mouth_multiplier"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 40:
                raise ValueError(f"{name} must be a whole number from 1 to 40, not {value!r}")
        if self.mask_loss_weight < 0:
            raise ValueError(f"mask_loss_weight must be 0 or more, not {self.mask_loss_weight}")


def _gaussian(device: torch.device) -> torch.Tensor:
    coords = torch.arange(SSIM_WINDOW, dtype=torch.float32, device=device)
    weights = torch.exp(-((coords - (SSIM_WINDOW - 1) / 2) ** 2) / (2 * SSIM_SIGMA ** 2))
    return weights / weights.sum()


def _blur(batch: torch.Tensor) -> torch.Tensor:
    """The gaussian-weighted mean at every valid position, per channel (separable)."""
    channels = batch.shape[1]
    weights = _gaussian(batch.device)
    rows = weights.view(1, 1, 1, -1).expand(channels, 1, 1, SSIM_WINDOW)
    columns = weights.view(1, 1, -1, 1).expand(channels, 1, SSIM_WINDOW, 1)
    return F.conv2d(F.conv2d(batch, rows, groups=channels), columns, groups=channels)


def ssim(predicted: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean SSIM of each image (N,), N x C x H x W in [0, 1], H and W at least 11."""
    if min(predicted.shape[-2:]) < SSIM_WINDOW:
        raise ValueError(f"SSIM needs images of at least {SSIM_WINDOW} x {SSIM_WINDOW} pixels, "
                         f"not {tuple(predicted.shape[-2:])}")
    channels = predicted.shape[1]
    means = _blur(torch.cat([predicted, target, predicted * target,
                             predicted * predicted + target * target], dim=1))
    mean_p, mean_t, mean_pt, mean_squares = means.split(channels, dim=1)
    luminance_num = 2 * mean_p * mean_t
    luminance_den = mean_p * mean_p + mean_t * mean_t
    luminance = (luminance_num + _C1) / (luminance_den + _C1)
    # 2 cov(p, t) + c2 over var(p) + var(t) + c2
    contrast = (2 * mean_pt - luminance_num + _C2) / (mean_squares - luminance_den + _C2)
    return (luminance * contrast).mean(dim=(1, 2, 3))


def _ssim_loss(predicted: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    return (1 - ssim(predicted, target)) / 2


def _mae(predicted: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    return (predicted - target).abs().mean(dim=(1, 2, 3))


def _mse(predicted: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    return (predicted - target).square().mean(dim=(1, 2, 3))


_PER_IMAGE: dict[str, Callable[[torch.Tensor, torch.Tensor], torch.Tensor]] = {
    "ssim": _ssim_loss, "mae": _mae, "mse": _mse}


def image_loss(name: str, predicted: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """One of LOSSES for each image (N,); "ssim" is faceswap's (1 - SSIM) / 2."""
    return _PER_IMAGE[name](predicted, target)


def _areas(face_mask: torch.Tensor | None, eye_mask: torch.Tensor | None,
           mouth_mask: torch.Tensor | None,
           settings: LossSettings) -> list[tuple[torch.Tensor | None, float]]:
    """(mask or None for the whole image, weight) of each area that is scored."""
    if not settings.penalized_mask_loss:
        return [(None, 1.0)]
    areas: list[tuple[torch.Tensor | None, float]] = [(face_mask, 1.0)]
    for mask, multiplier in ((eye_mask, settings.eye_multiplier),
                             (mouth_mask, settings.mouth_multiplier)):
        if mask is not None and multiplier > 1:
            areas.append((mask, float(multiplier)))
    return areas


def face_loss(predicted: torch.Tensor, target: torch.Tensor, face_mask: torch.Tensor | None,
              eye_mask: torch.Tensor | None, mouth_mask: torch.Tensor | None,
              settings: LossSettings) -> torch.Tensor:
    """The scalar face loss of a batch: images N x 3 x H x W, masks N x 1 x H x W or None
    (a missing mask skips its part). See the module docstring for the formula."""
    with torch.autocast(predicted.device.type, enabled=False):
        predicted, target = predicted.float(), target.float()
        areas = _areas(face_mask, eye_mask, mouth_mask, settings)
        # every area in one batch, so each function runs once
        masked_p = torch.cat([predicted if m is None else predicted * m.float() for m, _ in areas])
        masked_t = torch.cat([target if m is None else target * m.float() for m, _ in areas])
        area_weights = torch.tensor([w for _, w in areas], device=predicted.device)
        functions = [(settings.loss, 1.0)]
        if settings.secondary is not None and settings.secondary_weight > 0:
            functions.append((settings.secondary, settings.secondary_weight))
        total = predicted.new_zeros(())
        for name, weight in functions:
            per_area = image_loss(name, masked_p, masked_t).view(len(areas), -1).mean(dim=1)
            total = total + weight * (per_area * area_weights).sum()
        return total


def mask_loss(predicted_mask: torch.Tensor, target_mask: torch.Tensor) -> torch.Tensor:
    """MSE of a learned mask against the target mask (faceswap's default mask loss), float32;
    the trainer adds it times LossSettings.mask_loss_weight."""
    with torch.autocast(predicted_mask.device.type, enabled=False):
        return F.mse_loss(predicted_mask.float(), target_mask.float())
