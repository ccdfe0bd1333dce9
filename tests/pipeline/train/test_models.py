"""The model registry and every registered model: shapes, gradients, configs, sizes."""
from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Iterator

import pytest
import torch

from pipeline.train.models import (
    ModelConfig, ModelOptionError, SwapModel, build_model, config_from_dict, config_to_dict,
    describe_options, make_config, model_names, register_model)
from pipeline.train.models.blocks import SameConv2d

BATCH = 2


@pytest.fixture(scope="module", autouse=True)
def one_thread() -> Iterator[None]:
    """On a shared 2-core machine, two threads fighting for cores made this file 2x slower."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module", params=[(name, mask) for name in model_names()
                                        for mask in (False, True)],
                ids=lambda param: f"{param[0]}-{'mask' if param[1] else 'nomask'}")
def model(request: pytest.FixtureRequest) -> SwapModel:
    """One real model per (name, learn_mask), shared by the tests that use it."""
    name, learn_mask = request.param
    torch.manual_seed(0)
    return build_model(make_config(name, {"learn_mask": learn_mask}))


def faces(model: SwapModel) -> torch.Tensor:
    size = model.config.input_size
    return torch.rand(BATCH, 3, size, size)


def check_output(model: SwapModel, face: torch.Tensor, mask: torch.Tensor | None) -> None:
    size = model.config.output_size
    assert face.shape == (BATCH, 3, size, size)
    assert 0 <= face.min() and face.max() <= 1
    if model.config.learn_mask:
        assert mask is not None and mask.shape == (BATCH, 1, size, size)
        assert 0 <= mask.min() and mask.max() <= 1
    else:
        assert mask is None


@pytest.mark.parametrize("side", ["a", "b"])
def test_a_training_pass_reaches_the_encoder_and_only_its_own_decoder(
        model: SwapModel, side: str) -> None:
    model.zero_grad(set_to_none=True)
    face, mask = model(faces(model), side)
    check_output(model, face, mask)
    loss = face.mean() if mask is None else face.mean() + mask.mean()
    loss.backward()

    other = "b" if side == "a" else "a"
    for name, parameter in [*model.encoder.named_parameters(prefix="encoder"),
                            *model.decoders[side].named_parameters(prefix=f"decoder_{side}")]:
        assert parameter.grad is not None, f"{name} got no gradient"
        assert torch.isfinite(parameter.grad).all(), f"{name} has a non-finite gradient"
    assert next(model.encoder.parameters()).grad.any(), "the loss does not reach the input layer"
    assert all(p.grad is None for p in model.decoders[other].parameters())
    model.zero_grad(set_to_none=True)


def test_a_swap_decodes_side_a_with_side_b_decoder(model: SwapModel) -> None:
    with torch.no_grad():
        face, mask = model.decode(model.encode(faces(model)), "b")
    check_output(model, face, mask)


def test_wrong_face_size_and_side_are_refused_clearly(model: SwapModel) -> None:
    size = model.config.input_size
    with pytest.raises(ValueError, match=f"model {model.name} takes {size}x{size} faces, "
                                         f"got {2 * size}x{2 * size}"):
        model.encode(torch.zeros(1, 3, 2 * size, 2 * size))
    with pytest.raises(ValueError, match="side must be 'a' or 'b', got 'c'"):
        model.decode(torch.zeros(1), "c")


def test_lowmem_original_has_the_same_outputs() -> None:
    model = build_model(make_config("original", {"lowmem": True, "learn_mask": True}))
    with torch.no_grad():
        face, mask = model(torch.rand(BATCH, 3, 64, 64), "a")
    check_output(model, face, mask)


# Counts derived by hand from faceswap's layer lists (plugins/train/model/original.py,
# lightweight.py, lib/model/nn_blocks.py); faceswap's own log prints the full Original
# as encoder 69,662,976 + decoder 6,199,747 per side (faceswap-playground issue #300).
@pytest.mark.parametrize("name, options, encoder, decoder", [
    ("original", {}, 69_662_976, 6_199_747),
    ("original", {"lowmem": True}, 48_165_632, 6_199_747),
    ("original", {"learn_mask": True}, 69_662_976, 6_199_747 + 6_196_545),
    ("lightweight", {}, 29_806_336, 10_630_019),
    ("lightweight", {"learn_mask": True}, 29_806_336, 10_630_019 + 10_623_617),
])
def test_parameter_counts_match_faceswap(name: str, options: dict[str, object], encoder: int,
                                         decoder: int) -> None:
    with torch.device("meta"):
        model = build_model(make_config(name, options))

    def count(module: torch.nn.Module) -> int:
        return sum(p.numel() for p in module.parameters())

    assert count(model.encoder) == encoder
    assert count(model.decoders["a"]) == count(model.decoders["b"]) == decoder
    assert count(model) == encoder + 2 * decoder


@pytest.mark.parametrize("options, message", [
    ({"lowmen": True}, "unknown option 'lowmen' for model original "
                       "(options: input_size, learn_mask, lowmem, output_size)"),
    ({"lowmem": "yes"}, "option lowmem of model original must be bool, got 'yes'"),
    ({"lowmem": 1}, "option lowmem of model original must be bool, got 1"),
    ({"input_size": True}, "option input_size of model original must be int, got True"),
    ({"input_size": 128}, "input_size=128 is not allowed for model original (allowed: 64)"),
    ({"output_size": 32}, "output_size=32 is not allowed for model original (allowed: 64)"),
])
def test_bad_options_are_refused_with_one_clear_line(options: dict[str, object],
                                                     message: str) -> None:
    with pytest.raises(ModelOptionError) as error:
        make_config("original", options)
    assert str(error.value) == message


def test_an_unknown_model_names_the_known_ones() -> None:
    with pytest.raises(ModelOptionError,
                       match=r"unknown model 'orignal' \(models: .*original.*\)"):
        make_config("orignal", {})


@pytest.mark.parametrize("name", model_names())
def test_config_round_trips_through_json(name: str) -> None:
    config = make_config(name, {"learn_mask": True})
    stored = json.loads(json.dumps(config_to_dict(config)))
    assert config_from_dict(name, stored) == config
    assert config_from_dict(name, {}) == make_config(name, {})


@pytest.mark.parametrize("name", model_names())
def test_every_option_is_described(name: str) -> None:
    options = describe_options(name)
    assert [o.name for o in options][:3] == ["input_size", "output_size", "learn_mask"]
    defaults = make_config(name, {})
    for option in options:
        assert option.help and "\n" not in option.help
        assert option.type_name == type(getattr(defaults, option.name)).__name__
        assert option.default == getattr(defaults, option.name)


def test_original_options() -> None:
    assert [tuple(o)[:3] for o in describe_options("original")] == [
        ("input_size", "int", 64), ("output_size", "int", 64), ("learn_mask", "bool", False),
        ("lowmem", "bool", False)]


def test_an_option_without_help_is_refused_at_registration() -> None:
    @dataclasses.dataclass(frozen=True, kw_only=True)
    class Undocumented(ModelConfig):
        input_size: int = 64
        output_size: int = 64

    class Model(SwapModel):
        config_type = Undocumented

    with pytest.raises(ValueError, match=r"every option needs a default and help text "
                                         r"\(input_size, output_size\)"):
        register_model("undocumented")(Model)
    assert "undocumented" not in model_names()


@pytest.mark.parametrize("size, kernel, stride", [(64, 5, 2), (63, 5, 2), (8, 3, 1), (7, 5, 1)])
def test_convolutions_keep_keras_same_sizes(size: int, kernel: int, stride: int) -> None:
    conv = SameConv2d(1, 1, kernel, stride)
    assert conv(torch.zeros(1, 1, size, size)).shape[-2:] == (math.ceil(size / stride),) * 2


def test_convolutions_start_he_uniform() -> None:
    torch.manual_seed(0)
    conv = SameConv2d(64, 128, 5)
    bound = math.sqrt(6 / (64 * 5 * 5))
    assert conv.weight.abs().max() <= bound
    assert conv.weight.std().item() == pytest.approx(bound / math.sqrt(3), rel=0.02)
    assert not conv.bias.any()
