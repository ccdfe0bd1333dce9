"""The model registry and every registered model: shapes, gradients, configs, sizes, options.

Structure is checked on the meta device (shapes and which parameters a pass reaches, with
no arithmetic), so every model and its big sizes are checked in the default run; numbers
(outputs in [0, 1], finite gradients) are checked on real weights, for the big models
under the slow mark.
"""
from __future__ import annotations

import dataclasses
import json
import math
import re
import sys
from collections.abc import Callable

import pytest
import torch
from torch import nn

from pipeline.train.models import (
    ModelConfig, ModelOptionError, SwapModel, build_model, config_from_dict, config_to_dict,
    describe_options, make_config, model_names, register_model)
from pipeline.train.models.blocks import (InstanceNorm, ResidualBlock, SameConv2d,
                                          Upscale2xBlock, UpscaleBlock)
from pipeline.train.models.realface import Layout, layout
from pipeline.train.models.registry import SUBPIXEL_SCALE
from tests.pipeline.train.tiny_model import NAME as TINY

BATCH = 2
OTHER = {"a": "b", "b": "a"}
GLOBAL = {"icnr_init": True, "reflect_padding": True}  # conv_aware_init needs real weights

# Non-default builds checked like the defaults, each with a mask branch and the global
# options that act on the meta device.
VARIANTS = [
    ("dfaker", {"input_size": 128, "output_size": 256}),
    ("dfl-h128", {"lowmem": True}),
    ("dfl-sae", {"architecture": "liae"}),
    ("dfl-sae", {"multiscale_decoder": True}),
    ("dfl-sae", {"architecture": "liae", "multiscale_decoder": True, "input_size": 64,
                 "output_size": 64, "autoencoder_dims": 128}),
    ("dfl-sae", {"input_size": 256, "output_size": 256, "encoder_dims": 21}),
    ("dlight", {"output_size": 128}),
    ("dlight", {"output_size": 384}),
    ("dlight", {"details": "fast", "features": "lowmem"}),
    ("iae", {}),
    ("lightweight", {}),
    ("original", {"lowmem": True}),
    ("realface", {"input_size": 128, "output_size": 256}),
    ("realface", {"input_size": 80, "output_size": 96, "dense_nodes": 768}),
    ("unbalanced", {"lowmem": True}),
    ("unbalanced", {"input_size": 64, "output_size": 64, "complexity_decoder_b": 256}),
    ("villain", {"lowmem": True}),
]
BUILDS = ([(name, {"learn_mask": mask}) for name in model_names() for mask in (False, True)]
          + [(name, {**options, **GLOBAL, "learn_mask": True}) for name, options in VARIANTS])
REAL_DEFAULT_RUN = {TINY}  # a pass of any other takes seconds on a CPU


pytestmark = pytest.mark.usefixtures("one_thread")


def build_id(build: tuple[str, dict[str, object]]) -> str:
    name, options = build
    shown = {k: v for k, v in options.items() if k not in GLOBAL}
    return f"{name}-" + "-".join(f"{k}={v}" for k, v in shown.items())


def meta_build(name: str, options: dict[str, object]) -> SwapModel:
    with torch.device("meta"):
        return build_model(make_config(name, options))


@pytest.fixture(scope="module", params=BUILDS, ids=build_id)
def shape_model(request: pytest.FixtureRequest) -> SwapModel:
    """One model per build on the meta device: its layers, no weights to compute with."""
    return meta_build(*request.param)


@pytest.fixture(scope="module", params=[
    pytest.param(name, marks=() if name in REAL_DEFAULT_RUN else pytest.mark.slow)
    for name in model_names()])
def real_model(request: pytest.FixtureRequest) -> SwapModel:
    """One model per name, with real weights and a mask branch."""
    torch.manual_seed(0)
    return build_model(make_config(request.param, {"learn_mask": True}))


def faces(model: SwapModel, device: str = "cpu") -> torch.Tensor:
    size = model.config.input_size
    return torch.rand(BATCH, 3, size, size, device=device)


def check_output(model: SwapModel, face: torch.Tensor, mask: torch.Tensor | None) -> None:
    size = model.config.output_size
    assert face.shape == (BATCH, 3, size, size)
    if model.config.learn_mask:
        assert mask is not None and mask.shape == (BATCH, 1, size, size)
    else:
        assert mask is None


def check_values(face: torch.Tensor, mask: torch.Tensor | None) -> None:
    for image in (face, mask):
        assert image is not None and torch.isfinite(image).all()
        assert 0 <= image.min() and image.max() <= 1


def multiscale_loss(model: SwapModel, images: torch.Tensor, side: str) -> torch.Tensor:
    """A loss over every output of a training pass of `side`."""
    output, smaller = model.decode_multiscale(model.encode(images), side)
    check_output(model, output.face, output.mask)
    loss = output.face.mean() + sum(face.mean() for face in smaller)
    return loss if output.mask is None else loss + output.mask.mean()


# ---- every model, structure (meta device) --------------------------------------------

@pytest.mark.parametrize("side", ["a", "b"])
def test_a_training_pass_reaches_all_but_the_other_sides_own_parameters(
        shape_model: SwapModel, side: str) -> None:
    model = shape_model
    model.zero_grad(set_to_none=True)
    multiscale_loss(model, faces(model, "meta"), side).backward()

    others = {id(p) for p in model.side_parameters(OTHER[side])}
    assert others.isdisjoint(id(p) for p in model.side_parameters(side))
    for name, parameter in model.named_parameters():
        if id(parameter) in others:
            assert parameter.grad is None, f"{name} (side {OTHER[side]}'s own) got a gradient"
        else:
            assert parameter.grad is not None, f"{name} got no gradient"
    assert next(model.encoder.parameters()).grad is not None
    model.zero_grad(set_to_none=True)


def test_a_swap_decodes_with_the_other_side(shape_model: SwapModel) -> None:
    with torch.no_grad():
        face, mask = shape_model.decode(shape_model.encode(faces(shape_model, "meta")), "b")
    check_output(shape_model, face, mask)


def test_wrong_face_size_and_side_are_refused_clearly(shape_model: SwapModel) -> None:
    model, size = shape_model, shape_model.config.input_size
    with pytest.raises(ValueError, match=f"model {model.name} takes {size}x{size} faces, "
                                         f"got {2 * size}x{2 * size}"):
        model.encode(torch.zeros(1, 3, 2 * size, 2 * size, device="meta"))
    for call in (lambda: model.decode(torch.zeros(1), "c"),
                 lambda: model.decode_multiscale(model.encode(faces(model, "meta")), "c"),
                 lambda: model.side_parameters("c")):
        with pytest.raises(ValueError, match="side must be 'a' or 'b', got 'c'"):
            call()


def test_each_tensor_is_stored_once_and_transferable_parts_are_shared(
        shape_model: SwapModel) -> None:
    """Safetensors refuses tensors stored under two names: a shared part is one module."""
    state = shape_model.state_dict(keep_vars=True)
    assert len({id(tensor) for tensor in state.values()}) == len(state)
    own = {id(p) for side in "ab" for p in shape_model.side_parameters(side)}
    for prefix in shape_model.transferable:
        part = [tensor for key, tensor in state.items() if key.startswith(f"{prefix}.")]
        assert part, f"no weights under {prefix}"
        assert own.isdisjoint(map(id, part)), f"{prefix} holds a side's own weights"


def test_global_options_reach_every_convolution(shape_model: SwapModel) -> None:
    convs = [m for m in shape_model.modules() if isinstance(m, nn.Conv2d)]
    reflect = shape_model.config.reflect_padding
    for conv in convs:
        pads = conv.padding == "same" if isinstance(conv.padding, str) else any(conv.padding)
        assert (conv.padding_mode == "reflect") == (reflect and pads)
    assert any(hasattr(conv, SUBPIXEL_SCALE) for conv in convs)


# ---- every model, numbers (real weights) ---------------------------------------------

def test_outputs_are_faces_and_a_pass_gives_finite_gradients(real_model: SwapModel) -> None:
    model = real_model
    model.zero_grad(set_to_none=True)
    images = faces(model)
    output = model(images, "a")
    check_values(*output)
    (output.face.mean() + output.mask.mean()).backward()
    for name, parameter in model.named_parameters():
        assert parameter.grad is None or torch.isfinite(parameter.grad).all(), name
    assert next(model.encoder.parameters()).grad.any(), "the loss does not reach the input layer"
    model.zero_grad(set_to_none=True)
    with torch.no_grad():
        check_values(*model.decode(model.encode(images), "b"))


@pytest.mark.slow
@pytest.mark.parametrize("name, options", [
    ("dfaker", {"input_size": 128, "output_size": 256}),
    ("dlight", {"output_size": 384}),
    ("realface", {"input_size": 128, "output_size": 256}),
    ("dfl-sae", {"architecture": "liae", "multiscale_decoder": True, "input_size": 256,
                 "output_size": 256}),
    ("unbalanced", {"input_size": 256, "output_size": 256}),
])
def test_big_sizes_make_faces(name: str, options: dict[str, object]) -> None:
    torch.manual_seed(0)
    model = build_model(make_config(name, {**options, "learn_mask": True}))
    images = torch.rand(1, 3, model.config.input_size, model.config.input_size)
    output, smaller = model.decode_multiscale(model.encode(images), "b")
    size = model.config.output_size
    assert output.face.shape == (1, 3, size, size) and output.mask.shape == (1, 1, size, size)
    check_values(*output)
    for face in smaller:
        check_values(face, face)
    (output.face.mean() + sum(face.mean() for face in smaller)).backward()
    assert next(model.encoder.parameters()).grad.any()


# ---- per model -----------------------------------------------------------------------

def called(model: SwapModel, names: list[str], run: Callable[[], object]) -> list[str]:
    """Which of the named submodules `run` calls, in call order."""
    calls: list[str] = []
    hooks = [model.get_submodule(name).register_forward_hook(
        lambda *_, name=name: calls.append(name)) for name in names]
    try:
        run()
    finally:
        for hook in hooks:
            hook.remove()
    return calls


def test_iae_swap_reads_side_b_intermediate_and_the_shared_parts() -> None:
    model = meta_build("iae", {})
    code = model.encode(faces(model, "meta"))
    parts = ["inter.a", "inter.b", "inter_both", "decoder"]
    assert called(model, parts, lambda: model.decode(code, "b")) == [
        "inter.b", "inter_both", "decoder"]
    assert called(model, parts, lambda: model.decode(code, "a")) == [
        "inter.a", "inter_both", "decoder"]
    assert not model.decoders and model.transferable == ("encoder", "inter_both")
    assert model.side_parameters("b") == list(model.inter["b"].parameters())


def test_liae_has_one_decoder_and_side_a_reads_the_shared_intermediate_twice() -> None:
    model = meta_build("dfl-sae", {"architecture": "liae"})
    code = model.encode(faces(model, "meta"))
    inputs: list[torch.Tensor] = []
    hook = model.decoder.register_forward_pre_hook(lambda _, args: inputs.append(args[0]))
    parts = ["inter_b", "inter_both"]
    assert called(model, parts, lambda: model.decode(code, "a")) == ["inter_both"]
    assert called(model, parts, lambda: model.decode(code, "b")) == ["inter_both", "inter_b"]
    hook.remove()
    assert [tuple(x.shape) for x in inputs] == [(BATCH, 4 * 256, 16, 16)] * 2
    assert not model.decoders and model.side_parameters("a") == []
    assert model.config.ae_dims == 256 and make_config("dfl-sae", {}).ae_dims == 512
    assert make_config("dfl-sae", {"autoencoder_dims": 96}).ae_dims == 96


def test_dfl_sae_multiscale_decoder_adds_quarter_and_half_size_faces() -> None:
    plain = meta_build("dfl-sae", {})
    multi = meta_build("dfl-sae", {"multiscale_decoder": True})
    output, smaller = multi.decode_multiscale(multi.encode(faces(multi, "meta")), "a")
    assert [tuple(face.shape) for face in smaller] == [(BATCH, 3, 32, 32), (BATCH, 3, 64, 64)]
    assert plain.decode_multiscale(plain.encode(faces(plain, "meta")), "a")[1] == ()
    heads = (504 + 252) * 3 * 25 + 2 * 3  # two 5x5 outputs on the 504 and 252 filter steps
    assert count(multi.decoders["a"]) - count(plain.decoders["a"]) == heads


def test_dfaker_and_sized_models_refuse_sizes_that_do_not_fit() -> None:
    with pytest.raises(ModelOptionError, match=r"^model dfaker makes faces twice the side it "
                                               r"takes: output_size=256 needs input_size=128$"):
        make_config("dfaker", {"output_size": 256})
    with pytest.raises(ModelOptionError, match="input_size=192 needs output_size=192"):
        make_config("dfl-sae", {"input_size": 192})
    with pytest.raises(ModelOptionError, match="input_size=72 is not allowed"):
        make_config("dfl-sae", {"input_size": 72, "output_size": 72})
    with pytest.raises(ModelOptionError, match=r"output_size=112 is not allowed for model "
                                               r"realface \(allowed: 64, 96, 128, 160"):
        make_config("realface", {"output_size": 112})
    with pytest.raises(ModelOptionError, match="output_size=320 is not allowed"):
        make_config("dlight", {"output_size": 320})


@pytest.mark.parametrize("input_size, output_size, expected", [
    (64, 64, Layout(4, 4)), (64, 96, Layout(3, 5)), (64, 128, Layout(4, 5)),
    (128, 128, Layout(8, 4)), (96, 128, Layout(8, 4)), (64, 160, Layout(5, 5)),
    (128, 256, Layout(8, 5)),
])
def test_realface_picks_faceswaps_dense_map(input_size: int, output_size: int,
                                            expected: Layout) -> None:
    shape = layout(input_size, output_size)
    assert shape == expected and shape.width * 2 ** shape.upscales == output_size


def test_realface_decoder_a_is_lighter_than_b() -> None:
    model = meta_build("realface", {})
    assert count(model.decoders["a"]) < 0.5 * count(model.decoders["b"])
    assert sum(isinstance(m, ResidualBlock) for m in model.decoders["a"].modules()) == 1
    assert sum(isinstance(m, ResidualBlock) for m in model.decoders["b"].modules()) == 7


def test_unbalanced_lowmem_overrides_the_sizes_and_b_takes_its_complexity() -> None:
    lowmem = meta_build("unbalanced", {"lowmem": True, "nodes": 4096,
                                       "complexity_encoder": 1024})
    assert count(lowmem) == count(meta_build("unbalanced", {"lowmem": True}))
    narrow = meta_build("unbalanced", {"complexity_decoder_b": 256})
    first = narrow.decoders["b"].face[0]
    assert isinstance(first, UpscaleBlock) and first[0].out_channels == 256 * 4
    assert count(narrow.decoders["a"]) == count(meta_build("unbalanced", {}).decoders["a"])


def test_dlight_features_and_details_change_what_they_say() -> None:
    best, fair, low = (meta_build("dlight", {"features": f}) for f in ("best", "fair", "lowmem"))
    assert count(low.encoder) < count(fair.encoder) < count(best.encoder)
    assert count(best.decoders["b"]) == count(low.decoders["b"])
    fast = meta_build("dlight", {"details": "fast"})
    blocks = [m for m in fast.decoders["b"].modules() if isinstance(m, Upscale2xBlock)]
    assert blocks and all(block.fast for block in blocks)
    assert not any(isinstance(m, ResidualBlock) for m in fast.decoders["b"].modules())


def count(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


# Counts derived by hand from faceswap's layer lists (plugins/train/model/*.py,
# lib/model/nn_blocks.py). faceswap's own logs confirm three exactly: the full Original
# (encoder 69,662,976 + decoder 6,199,747 per side, faceswap-playground issue #300),
# RealFace's encoder 29,604,608 and masked decoder A 77,111,738 at 64 -> 128 px (faceswap
# issue #954) and Villain's encoder 112,027,904 (faceswap-playground issue #272).
@pytest.mark.parametrize("name, options, parts", [
    ("original", {}, {"encoder": 69_662_976, "decoders.a": 6_199_747,
                      "decoders.b": 6_199_747}),
    ("original", {"lowmem": True}, {"encoder": 48_165_632, "decoders.a": 6_199_747}),
    ("original", {"learn_mask": True}, {"decoders.a": 6_199_747 + 6_196_545}),
    ("lightweight", {}, {"encoder": 29_806_336, "decoders.a": 10_630_019,
                         "decoders.b": 10_630_019}),
    ("lightweight", {"learn_mask": True}, {"decoders.a": 10_630_019 + 10_623_617}),
    ("realface", {"learn_mask": True}, {"encoder": 29_604_608, "decoders.a": 77_111_738}),
    ("villain", {}, {"encoder": 112_027_904, "decoders.a": 21_543_555,
                     "decoders.b": 21_543_555}),
    ("iae", {}, {"encoder": 17_214_720, "inter.a": 25_175_040, "inter.b": 25_175_040,
                 "inter_both": 25_175_040, "decoder": 25_076_163}),
    ("dfaker", {}, {"encoder": 69_662_976, "decoders.a": 21_833_923,
                    "decoders.b": 21_833_923}),
    ("dfl-h128", {}, {"encoder": 77_018_880, "decoders.a": 15_348_611,
                      "decoders.b": 15_348_611}),
    ("dfl-sae", {}, {"encoder": 75_961_012, "decoders.a": 27_023_853,
                     "decoders.b": 27_023_853}),
    ("dfl-sae", {"architecture": "liae"}, {"encoder": 16_681_140, "inter_b": 34_375_936,
                                           "inter_both": 34_375_936, "decoder": 36_313_581}),
    ("unbalanced", {}, {"encoder": 83_964_932, "decoders.a": 43_633_827,
                        "decoders.b": 79_447_427}),
    ("dlight", {}, {"encoder": 61_783_296, "decoders.a": 6_869_523,
                    "decoders.b": 74_959_907}),
])
def test_parameter_counts_match_faceswap(name: str, options: dict[str, object],
                                         parts: dict[str, int]) -> None:
    model = meta_build(name, options)
    assert {part: count(model.get_submodule(part)) for part in parts} == parts


@pytest.mark.parametrize("name", ["dfaker", "dfl-h128", "dfl-sae", "dlight", "iae",
                                  "realface", "unbalanced", "villain"])
def test_the_documented_parameter_count_is_the_models(name: str) -> None:
    model = meta_build(name, {})
    documented = re.search(r"([\d,]+) parameters at default options",
                           " ".join(sys.modules[type(model).__module__].__doc__.split()))
    assert documented and int(documented[1].replace(",", "")) == count(model)


# ---- faceswap's global options --------------------------------------------------------

def tiny(**options: bool) -> SwapModel:
    torch.manual_seed(0)
    return build_model(make_config(TINY, options))


def kernels(model: SwapModel) -> dict[str, torch.Tensor]:
    return {name: m.weight for name, m in model.named_modules() if isinstance(m, nn.Conv2d)}


def test_global_options_off_build_exactly_what_the_model_class_builds() -> None:
    model_type = type(tiny())
    torch.manual_seed(0)
    plain = model_type(make_config(TINY, {}))
    assert all(torch.equal(a, b) for a, b in
               zip(tiny().state_dict().values(), plain.state_dict().values()))


def test_reflect_padding_mirrors_edges_and_keeps_weights_and_shapes() -> None:
    zero, reflect = tiny(), tiny(reflect_padding=True)
    assert all(torch.equal(a, b) for a, b in
               zip(zero.state_dict().values(), reflect.state_dict().values()))
    images = torch.rand(BATCH, 3, 32, 32)
    with torch.no_grad():
        face_zero, face_reflect = zero(images, "a").face, reflect(images, "a").face
    assert face_zero.shape == face_reflect.shape
    assert not torch.allclose(face_zero, face_reflect)


def test_icnr_makes_each_pixel_shuffle_start_as_a_nearest_neighbour_upscale() -> None:
    plain, icnr = kernels(tiny()), kernels(tiny(icnr_init=True))
    marked = {name for name, m in tiny().named_modules() if hasattr(m, SUBPIXEL_SCALE)}
    assert len(marked) == 5  # the encoder's UpscaleBlock and two per decoder
    for name, kernel in icnr.items():
        if name in marked:
            groups = kernel.reshape(kernel.shape[0] // 4, 4, -1)
            assert torch.equal(groups, groups[:, :1].expand_as(groups)), name
            assert torch.equal(groups[:, 0], plain[name][:kernel.shape[0] // 4].flatten(1))
        else:
            assert torch.equal(kernel, plain[name]), name
    block = tiny(icnr_init=True).decoders["a"].face[0]
    with torch.no_grad():
        upscaled = block(torch.rand(1, 16, 4, 4))
    nearest = upscaled[..., ::2, ::2].repeat_interleave(2, -1).repeat_interleave(2, -2)
    assert torch.allclose(upscaled, nearest, rtol=0, atol=1e-6)


@pytest.mark.parametrize("icnr", [False, True])
def test_conv_aware_init_gives_he_variance_kernels_and_leaves_dense_layers(icnr: bool) -> None:
    plain, aware = tiny(), tiny(conv_aware_init=True, icnr_init=icnr)
    before = kernels(plain)
    for name, kernel in kernels(aware).items():
        assert kernel.var(correction=0).item() == pytest.approx(2 / kernel[0].numel(),
                                                                 rel=1e-4), name
        assert not torch.equal(kernel, before[name])
        if icnr and hasattr(aware.get_submodule(name), SUBPIXEL_SCALE):
            groups = kernel.reshape(kernel.shape[0] // 4, 4, -1)
            assert torch.equal(groups, groups[:, :1].expand_as(groups)), name
    dense = [name for name, m in plain.named_modules() if isinstance(m, nn.Linear)]
    assert all(torch.equal(plain.get_submodule(n).weight, aware.get_submodule(n).weight)
               for n in dense)
    again = tiny(conv_aware_init=True, icnr_init=icnr)
    assert all(torch.equal(a, b) for a, b in
               zip(aware.state_dict().values(), again.state_dict().values()))


# ---- blocks --------------------------------------------------------------------------

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


def test_residual_blocks_start_close_to_their_input() -> None:
    torch.manual_seed(0)
    block = ResidualBlock(64)
    bound = math.sqrt(3 * 0.2 / (64 * 9))
    assert block.conv2.weight.abs().max() <= bound
    x = torch.rand(1, 64, 8, 8)
    with torch.no_grad():
        assert (block(x) - x).abs().mean() < 0.5 * x.mean()


@pytest.mark.parametrize("filters, fast, channels", [(64, False, 64), (63, False, 64),
                                                     (64, True, 64)])
def test_upscale2x_blocks_double_the_side(filters: int, fast: bool, channels: int) -> None:
    block = Upscale2xBlock(8, filters, fast=fast)
    assert block(torch.rand(1, 8, 5, 5)).shape == (1, channels, 10, 10)


def test_instance_norm_normalises_each_face_alone() -> None:
    x = torch.randn(2, 4, 8, 8) * torch.tensor([1.0, 5.0]).view(2, 1, 1, 1) + 3
    with torch.no_grad():
        normed = InstanceNorm()(x)
    assert normed.mean((1, 2, 3)).abs().max() < 1e-5
    assert torch.allclose(normed.std((1, 2, 3), correction=0), torch.ones(2), atol=2e-3)


# ---- configs -------------------------------------------------------------------------

@pytest.mark.parametrize("options, message", [
    ({"lowmen": True}, "unknown option 'lowmen' for model original (options: "
                       "conv_aware_init, icnr_init, input_size, learn_mask, lowmem, "
                       "output_size, reflect_padding)"),
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


@pytest.mark.parametrize("name, options, message", [
    ("dfl-sae", {"encoder_dims": 20}, "encoder_dims=20 is out of range for model dfl-sae "
                                      "(allowed: 21 to 85)"),
    ("unbalanced", {"nodes": 8192}, "nodes=8192 is out of range for model unbalanced "
                                    "(allowed: 512 to 4096)"),
    ("realface", {"complexity_decoder": 511}, "complexity_decoder=511 is out of range for "
                                              "model realface (allowed: 512 to 544)"),
])
def test_numbers_out_of_bounds_are_refused(name: str, options: dict[str, object],
                                           message: str) -> None:
    with pytest.raises(ModelOptionError) as error:
        make_config(name, options)
    assert str(error.value) == message


def test_an_unknown_model_names_the_known_ones() -> None:
    with pytest.raises(ModelOptionError,
                       match=r"unknown model 'orignal' \(models: .*original.*\)"):
        make_config("orignal", {})


@pytest.mark.parametrize("name", model_names())
def test_config_round_trips_through_json(name: str) -> None:
    config = make_config(name, {"learn_mask": True, "icnr_init": True})
    stored = json.loads(json.dumps(config_to_dict(config)))
    assert config_from_dict(name, stored) == config
    assert config_from_dict(name, {}) == make_config(name, {})


@pytest.mark.parametrize("name", model_names())
def test_every_option_is_described_and_numbers_are_limited(name: str) -> None:
    options = describe_options(name)
    assert [o.name for o in options][:6] == ["input_size", "output_size", "learn_mask",
                                             "icnr_init", "conv_aware_init", "reflect_padding"]
    defaults = make_config(name, {})
    for option in options:
        assert option.help and "\n" not in option.help
        assert option.type == type(getattr(defaults, option.name)).__name__
        assert option.default == getattr(defaults, option.name)
        if option.type in ("int", "float", "str"):
            assert option.choices or option.bounds, f"{option.name} takes any value"


def test_original_options() -> None:
    assert [(o.name, o.type, o.default) for o in describe_options("original")] == [
        ("input_size", "int", 64), ("output_size", "int", 64), ("learn_mask", "bool", False),
        ("icnr_init", "bool", False), ("conv_aware_init", "bool", False),
        ("reflect_padding", "bool", False), ("lowmem", "bool", False)]


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
