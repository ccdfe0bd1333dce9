"""Gradient clipping (none, global_norm, norm, value, autoclip) and its per-run settings."""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import load_file, save_file

from pipeline.train.clipping import HISTORY_KEY, GradientClipper
from pipeline.train.settings import RunSettings


pytestmark = pytest.mark.usefixtures("one_thread")


def with_grads(*grads: list[float]) -> list[torch.Tensor]:
    """Parameters whose gradients are `grads`."""
    params = []
    for grad in grads:
        param = torch.zeros(len(grad), requires_grad=True)
        param.grad = torch.tensor(grad)
        params.append(param)
    return params


def clipper(**settings: object) -> GradientClipper:
    return GradientClipper(RunSettings.from_dict(settings))


def grads_of(params: list[torch.Tensor]) -> list[float]:
    """All the parameters' gradients, one after the other."""
    return torch.cat([param.grad for param in params]).tolist()


# ---- the modes ---------------------------------------------------------------------------

def test_global_norm_scales_all_gradients_together() -> None:
    params = with_grads([3.0, 4.0], [0.0, 12.0])          # global norm 13
    assert clipper(clipping="global_norm", clip_value=6.5).clip(params) == pytest.approx(13)
    assert grads_of(params) == pytest.approx([1.5, 2.0, 0.0, 6.0])


def test_global_norm_leaves_gradients_under_the_limit() -> None:
    params = with_grads([3.0, 4.0], [0.0, 1.0])           # global norm sqrt(26) < 6
    clipper(clipping="global_norm", clip_value=6.0).clip(params)
    assert grads_of(params) == [3.0, 4.0, 0.0, 1.0]


def test_norm_scales_each_weights_gradient_on_its_own() -> None:
    params = with_grads([3.0, 4.0], [0.0, 12.0])          # norms 5 and 12
    assert clipper(clipping="norm", clip_value=6.0).clip(params) == pytest.approx(13)
    assert grads_of(params) == pytest.approx([3.0, 4.0, 0.0, 6.0])


def test_value_clamps_each_number() -> None:
    params = with_grads([3.0, -0.5], [-12.0, 1.0])
    clipper(clipping="value", clip_value=2.0).clip(params)
    assert grads_of(params) == [2.0, -0.5, -2.0, 1.0]


def test_none_only_measures() -> None:
    params = with_grads([3.0, 4.0], [0.0, 12.0])
    assert clipper().clip(params) == pytest.approx(13)
    assert grads_of(params) == [3.0, 4.0, 0.0, 12.0]
    assert clipper().clip(with_grads()) == 0.0
    frozen = torch.zeros(2, requires_grad=True)           # no gradient: left out
    assert clipper().clip([frozen, *with_grads([0.0, 2.0])]) == pytest.approx(2)


@pytest.mark.parametrize("mode", ["global_norm", "norm", "value", "autoclip"])
@pytest.mark.parametrize("bad", [math.inf, math.nan])
def test_non_finite_gradients_are_left_for_the_trainer(mode: str, bad: float) -> None:
    clip = clipper(clipping=mode, clip_value=1.0)
    params = with_grads([bad, 4.0], [0.0, 12.0])
    assert not math.isfinite(clip.clip(params))
    assert grads_of(params)[2:] == [0.0, 12.0]
    assert not clip.history


# ---- autoclip ----------------------------------------------------------------------------

def test_autoclip_clips_to_a_percentile_of_the_norms_so_far() -> None:
    clip = clipper(clipping="autoclip", autoclip_percentile=50.0)
    first = with_grads([0.6, 0.8])                        # norm 1: history [1], limit 1
    assert clip.clip(first) == pytest.approx(1)
    assert grads_of(first) == pytest.approx([0.6, 0.8])
    second = with_grads([1.8, 2.4])                       # norm 3: history [1, 3], limit 2
    assert clip.clip(second) == pytest.approx(3)
    assert grads_of(second) == pytest.approx([1.2, 1.6])
    third = with_grads([2.0, 0.0])                        # norm 2: median of [1, 3, 2] is 2
    clip.clip(third)
    assert grads_of(third) == pytest.approx([2.0, 0.0])


def test_autoclip_interpolates_between_recorded_norms() -> None:
    clip = clipper(clipping="autoclip")                   # faceswap's 10th percentile
    clip.clip(with_grads([1.0]))
    params = with_grads([3.0])
    clip.clip(params)
    assert clip.autoclip_limit() == pytest.approx(1.2)    # 1 + 0.1 x (3 - 1)
    assert grads_of(params) == pytest.approx([1.2])


def test_autoclip_keeps_only_the_latest_norms() -> None:
    clip = clipper(clipping="autoclip", autoclip_history=100)
    for norm in range(1, 151):
        clip.clip(with_grads([float(norm)]))
    assert list(clip.history) == [float(norm) for norm in range(51, 151)]
    assert clip.autoclip_limit() == pytest.approx(np.percentile(np.arange(51, 151), 10))


def test_autoclip_history_round_trips_through_safetensors(tmp_path: Path) -> None:
    generator = torch.Generator().manual_seed(0)
    norms = torch.rand(40, generator=generator, dtype=torch.float64) * 5
    original = clipper(clipping="autoclip")
    for norm in norms.tolist():
        original.clip(with_grads([norm, 1e-3 * norm]))
    path = tmp_path / "clipper.safetensors"
    save_file(original.state_dict(), str(path))

    resumed = clipper(clipping="autoclip")
    resumed.load_state_dict(load_file(str(path)))
    assert list(resumed.history) == list(original.history)
    after_original, after_resumed = with_grads([4.0, 3.0]), with_grads([4.0, 3.0])
    assert original.clip(after_original) == resumed.clip(after_resumed)
    assert torch.equal(after_original[0].grad, after_resumed[0].grad)
    assert grads_of(after_original)[0] < 4.0           # the limit did clip


def test_an_empty_history_round_trips(tmp_path: Path) -> None:
    """Every run saves its clipper, clipping or not."""
    path = tmp_path / "clipper.safetensors"
    save_file(clipper().state_dict(), str(path))
    resumed = clipper(clipping="autoclip")
    resumed.load_state_dict(load_file(str(path)))
    assert not resumed.history and resumed.autoclip_limit() == math.inf


def test_a_shorter_history_keeps_the_newest_norms() -> None:
    longer = clipper(clipping="autoclip", autoclip_history=200)
    for norm in range(1, 151):
        longer.clip(with_grads([float(norm)]))
    shorter = clipper(clipping="autoclip", autoclip_history=100)
    shorter.load_state_dict(longer.state_dict())
    assert list(shorter.history) == [float(norm) for norm in range(51, 151)]


@pytest.mark.parametrize("state", [{}, {HISTORY_KEY: 3}, {HISTORY_KEY: torch.zeros(2, 2)}])
def test_load_state_dict_refuses_what_is_not_a_history(state: dict) -> None:
    with pytest.raises(ValueError, match=HISTORY_KEY):
        clipper(clipping="autoclip").load_state_dict(state)


# ---- settings ----------------------------------------------------------------------------

def test_new_settings_have_faceswaps_defaults_and_old_dicts_still_load() -> None:
    stored = RunSettings().to_dict()
    for name in ("accumulation", "clipping", "clip_value", "autoclip_percentile",
                 "autoclip_history"):
        stored.pop(name)
    settings = RunSettings.from_dict(stored)
    assert (settings.accumulation, settings.clipping, settings.clip_value,
            settings.autoclip_percentile, settings.autoclip_history) == (
        1, "none", 1.0, 10.0, 10_000)
    changed = RunSettings.from_dict({"accumulation": 4, "clipping": "autoclip"})
    assert RunSettings.from_dict(changed.to_dict()) == changed


@pytest.mark.parametrize(("values", "message"), [
    ({"accumulation": 0}, "accumulation is from 1 to 100, not 0"),
    ({"accumulation": 101}, "accumulation is from 1 to 100, not 101"),
    ({"accumulation": 2.5}, "accumulation is a whole number, not 2.5"),
    ({"accumulation": True}, "accumulation is a whole number, not True"),
    ({"clipping": "sometimes"}, "clipping is one of none, global_norm, norm, value, "
                                "autoclip, not 'sometimes'"),
    ({"clip_value": 0.0}, "clip_value is from 0.001 to 10, not 0"),
    ({"clip_value": math.inf}, "clip_value is from 0.001 to 10, not inf"),
    ({"autoclip_percentile": 101.0}, "autoclip_percentile is from 0 to 100, not 101"),
    ({"autoclip_history": 10}, "autoclip_history is from 100 to 100000, not 10"),
])
def test_run_settings_refuse_bad_clipping_and_accumulation(values: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message) as raised:
        RunSettings.from_dict(values)
    assert "\n" not in str(raised.value)
