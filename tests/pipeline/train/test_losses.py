"""The face loss: faceswap's main and three weighted extra losses, its penalized mask loss and
area weights, and the settings that choose them."""
from __future__ import annotations

import dataclasses
import json

import pytest
import torch

from pipeline.train import losses
from pipeline.train.loss_functions import LOSSES, LossFunction, ssim
from pipeline.train.losses import LossSettings, face_loss, image_loss, mask_loss
from pipeline.train.session_config import SessionConfig
from store.requests.options import describe_fields
from tests.pipeline.train.face_tensors import SIZE, face_pair

MAE_ONLY = LossSettings(loss="mae", secondary=None)


pytestmark = pytest.mark.usefixtures("one_thread")


def box(top: int, left: int, height: int, width: int) -> torch.Tensor:
    mask = torch.zeros(1, 1, SIZE, SIZE)
    mask[..., top:top + height, left:left + width] = 1
    return mask


FACE, EYES, MOUTH = box(8, 8, 48, 48), box(16, 14, 8, 36), box(40, 20, 8, 24)


def test_defaults_are_faceswaps_and_every_setting_says_what_it_does() -> None:
    settings = LossSettings()
    assert (settings.loss, settings.secondary, settings.secondary_weight) == ("ssim", "mse", 1.0)
    assert settings.penalized_mask_loss
    assert (settings.third, settings.third_weight, settings.fourth, settings.fourth_weight) == \
        (None, 0.0, None, 0.0)
    assert (settings.eye_multiplier, settings.mouth_multiplier) == (3, 2)
    for item in dataclasses.fields(LossSettings):
        assert item.metadata["help"] and "\n" not in item.metadata["help"]
        assert ("choices" in item.metadata) != ("bounds" in item.metadata), item.name
    described = {option.name: option for option in describe_fields(LossSettings)}
    assert described["third"].choices == LOSSES and described["third"].optional
    assert described["fourth_weight"].bounds == (0, 4)
    assert described["eye_multiplier"].bounds == (1, 40)


@pytest.mark.parametrize("name", LOSSES)
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


@pytest.mark.parametrize(("change", "words"), [
    ({"loss": "ssmi"}, "loss is one of ssim, .*, not 'ssmi'"),
    ({"secondary": "l1"}, "secondary is one of ssim, .*, not 'l1'"),
    ({"third": "lpips"}, "third is one of ssim, .*, not 'lpips'"),
    ({"fourth": "SSIM", "fourth_weight": 1.0}, "fourth is one of ssim, .*, not 'SSIM'"),
    ({"secondary_weight": 4.5}, "secondary_weight is from 0 to 4, not 4.5"),
    ({"third": "mae", "third_weight": -0.5}, "third_weight is from 0 to 4, not -0.5"),
    ({"fourth": "mae", "fourth_weight": True}, "fourth_weight is a number, not True"),
    ({"secondary_weight": float("nan")}, "secondary_weight is from 0 to 4, not nan"),
    ({"third_weight": 0.5}, "third_weight is 0.5 but no third loss is chosen"),
    ({"fourth_weight": 2}, "fourth_weight is 2 but no fourth loss is chosen"),
    ({"eye_multiplier": 0}, "eye_multiplier is from 1 to 40, not 0"),
    ({"mouth_multiplier": 2.5}, "mouth_multiplier is a whole number, not 2.5"),
    ({"eye_multiplier": 41}, "eye_multiplier is from 1 to 40, not 41"),
    ({"mask_loss_weight": -1.0}, "mask_loss_weight is from 0 to 10, not -1"),
    ({"penalized_mask_loss": "yes"}, "penalized_mask_loss is yes or no, not 'yes'"),
])
def test_bad_settings_say_what_is_wrong(change: dict, words: str) -> None:
    with pytest.raises(ValueError, match=words):
        LossSettings(**change)


def test_a_stored_config_from_before_the_third_and_fourth_losses_loads() -> None:
    """Sessions stored before third/fourth existed: their dict lacks them, and a second loss
    of none kept its weight of 1; they load with the meaning they had."""
    stored = {"model": "lightweight", "loss": {
        "loss": "mae", "secondary": None, "secondary_weight": 1.0, "penalized_mask_loss": True,
        "eye_multiplier": 3, "mouth_multiplier": 2, "mask_loss_weight": 1.0}}
    loaded = SessionConfig.from_dict(stored).loss
    assert (loaded.third, loaded.third_weight, loaded.fourth, loaded.fourth_weight) == \
        (None, 0.0, None, 0.0)
    assert loaded.weighted_losses() == {"mae": 1.0}
    again = SessionConfig.from_dict(json.loads(json.dumps(SessionConfig.from_dict(stored)
                                                          .to_dict())))
    assert again.loss == loaded


def test_three_extra_losses_add_their_weights_and_a_repeat_just_adds() -> None:
    predicted, target = face_pair()
    settings = LossSettings(loss="ms_ssim", secondary="gmsd", secondary_weight=0.5,
                            third="ffl", third_weight=2.0, fourth="ms_ssim", fourth_weight=0.25)
    assert settings.weighted_losses() == {"ms_ssim": 1.25, "gmsd": 0.5, "ffl": 2.0}
    got = face_loss(predicted, target, FACE, EYES, MOUTH, settings).item()
    separate = {name: face_loss(predicted, target, FACE, EYES, MOUTH,
                                LossSettings(loss=name, secondary=None)).item()
                for name in ("ms_ssim", "gmsd", "ffl")}
    expected = 1.25 * separate["ms_ssim"] + 0.5 * separate["gmsd"] + 2.0 * separate["ffl"]
    assert min(separate.values()) > 0
    assert got == pytest.approx(expected, rel=1e-5)


def test_face_loss_runs_each_chosen_function_once(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[int, ...]] = []
    real = dict(losses.LOSS_FUNCTIONS)

    def counted(name: str) -> LossFunction:
        def run(predicted: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
            calls.append(tuple(predicted.shape))
            return real[name](predicted, target)
        return run

    monkeypatch.setattr(losses, "LOSS_FUNCTIONS", {name: counted(name) for name in real})
    predicted, target = face_pair()
    settings = LossSettings(loss="mae", secondary="laploss", third="mae", third_weight=1.0,
                            fourth="l_inf", fourth_weight=0.5)
    face_loss(predicted, target, FACE, EYES, MOUTH, settings)
    assert calls == [(3, 3, SIZE, SIZE)] * 3          # mae, laploss, l_inf over all 3 areas


def test_an_extra_loss_at_weight_0_is_left_out() -> None:
    predicted, target = face_pair()
    plain = face_loss(predicted, target, None, None, None, MAE_ONLY).item()
    zero = dataclasses.replace(MAE_ONLY, secondary="mse", secondary_weight=0.0, third="ssim")
    assert zero.weighted_losses() == {"mae": 1.0}
    assert face_loss(predicted, target, None, None, None, zero).item() == pytest.approx(plain)
