"""The trainer's face loss, as faceswap computes it: a main loss plus up to three weighted
others (faceswap's loss_function_2/3/4) over the face, with the eyes and mouth weighted up,
and MSE for a learned mask. The functions themselves are in `loss_functions`.

faceswap's face loss, for each chosen function f at weight w (main 1, the others their weight):

    w * f(predicted * face, target * face)                  the face counts, the rest does not
  + w * eye_multiplier * f(predicted * eyes, target * eyes)    when eye_multiplier > 1
  + w * mouth_multiplier * f(predicted * mouth, target * mouth)  when mouth_multiplier > 1

An error inside the eyes is therefore counted (1 + eye_multiplier) times. As in faceswap, the
area multipliers need the penalized mask loss: without it the whole image counts, evenly.

Everything is computed in float32 with autocast off, so bf16 or fp16 training stays stable.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch
import torch.nn.functional as F

from pipeline.train.loss_functions import LOSS_FUNCTIONS, LOSSES
from store.requests.options import field_problems

WEIGHT_BOUNDS = (0.0, 4.0)           # faceswap's 0 to 400 %
MULTIPLIER_BOUNDS = (1, 40)
MASK_WEIGHT_BOUNDS = (0.0, 10.0)
EXTRA_LOSSES = ("secondary", "third", "fourth")   # each with its "<name>_weight"
_CHOICES_TEXT = ("ssim or ms_ssim (structure), mae, mse, logcosh, smooth, l_inf (per pixel), "
                 "gmsd, gradient_diff (edges), ffl (frequencies), laploss (detail per scale)")


def _extra_loss(default: str | None, which: str) -> Any:
    return field(default=default, metadata={"choices": LOSSES, "help": (
        f"A {which} loss added to the main one at its weight: {_CHOICES_TEXT}; or none.")})


def _extra_weight(default: float, which: str) -> Any:
    return field(default=default, metadata={"bounds": WEIGHT_BOUNDS, "help": (
        f"Weight of the {which} loss, 0 to 4 (1 adds it in full, as the main loss counts).")})


@dataclass(frozen=True, kw_only=True)
class LossSettings:
    """How the reconstruction is scored (faceswap's defaults)."""

    loss: str = field(default="ssim", metadata={"choices": LOSSES,
        "help": f"Main loss: {_CHOICES_TEXT}."})
    secondary: str | None = _extra_loss("mse", "second")
    secondary_weight: float = _extra_weight(1.0, "second")
    third: str | None = _extra_loss(None, "third")
    third_weight: float = _extra_weight(0.0, "third")
    fourth: str | None = _extra_loss(None, "fourth")
    fourth_weight: float = _extra_weight(0.0, "fourth")
    penalized_mask_loss: bool = field(default=True, metadata={"choices": (True, False),
        "help": "Score only the face inside its mask; errors in the background do not count."})
    eye_multiplier: int = field(default=3, metadata={"bounds": MULTIPLIER_BOUNDS,
        "help": "Extra weight on the eyes, 1 to 40 (1 = none; needs penalized_mask_loss)."})
    mouth_multiplier: int = field(default=2, metadata={"bounds": MULTIPLIER_BOUNDS,
        "help": "Extra weight on the mouth, 1 to 40 (1 = none; needs penalized_mask_loss)."})
    mask_loss_weight: float = field(default=1.0, metadata={"bounds": MASK_WEIGHT_BOUNDS,
        "help": "Weight of the learned mask's loss (MSE against the target mask), 0 to 10."})

    def __post_init__(self) -> None:
        if problems := field_problems(self):
            raise ValueError("; ".join(problems))
        # not the second loss: its weight defaults to 1, so stored settings without a
        # second loss carry one, which is ignored there as it always was
        for name in EXTRA_LOSSES[1:]:
            weight = getattr(self, f"{name}_weight")
            if getattr(self, name) is None and weight > 0:
                raise ValueError(f"{name}_weight is {weight:g} but no {name} loss is chosen: "
                                 f"choose one or set the weight to 0")

    def weighted_losses(self) -> dict[str, float]:
        """Each chosen loss with its total weight (main 1); a loss chosen twice adds up,
        a weight of 0 leaves its loss out."""
        weights = {self.loss: 1.0}
        for name in EXTRA_LOSSES:
            loss, weight = getattr(self, name), float(getattr(self, f"{name}_weight"))
            if loss is not None and weight > 0:
                weights[loss] = weights.get(loss, 0.0) + weight
        return weights


def image_loss(name: str, predicted: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """One of LOSSES for each image (N,), in float32 with autocast off whatever the inputs;
    "ssim" is faceswap's (1 - SSIM) / 2."""
    with torch.autocast(predicted.device.type, enabled=False):
        return LOSS_FUNCTIONS[name](predicted.float(), target.float())


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
        total = predicted.new_zeros(())
        for name, weight in settings.weighted_losses().items():
            per_area = image_loss(name, masked_p, masked_t).view(len(areas), -1).mean(dim=1)
            total = total + weight * (per_area * area_weights).sum()
        return total


def mask_loss(predicted_mask: torch.Tensor, target_mask: torch.Tensor) -> torch.Tensor:
    """MSE of a learned mask against the target mask (faceswap's default mask loss), float32;
    the trainer adds it times LossSettings.mask_loss_weight."""
    with torch.autocast(predicted_mask.device.type, enabled=False):
        return F.mse_loss(predicted_mask.float(), target_mask.float())
