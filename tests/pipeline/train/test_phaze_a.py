"""Phaze-A: options and defaults as faceswap's, shapes for every key option, gradients that
reach the input and only the right side, refused combinations, layer sizes and counts."""
from __future__ import annotations

import json

import pytest
import safetensors.torch
import torch
from torch import nn

from pipeline.train.models import phaze_a_encoders as encoders
from pipeline.train.models.phaze_a import (
    PhazeA, decoder_start, filter_curve, make_plan, route)
from pipeline.train.models.phaze_a_blocks import GBlock, OutputConv
from pipeline.train.models.registry import (
    SIDES, ModelOptionError, build_model, config_from_dict, config_to_dict, describe_options,
    make_config)

BATCH = 2

# Small enough to build and run in a fraction of a second: 32 px in, 64 px out, narrow layers,
# the decoder's widest (256-filter) upscale at 4x4.
SMALL: dict[str, object] = {
    "output_size": 64, "enc_scaling": 3, "fs_original_depth": 2,
    "fs_original_min_filters": 16, "fs_original_max_filters": 256, "bottleneck_size": 128,
    "fc_min_filters": 128, "fc_max_filters": 128, "fc_dimensions": 2, "fc_upsample_filters": 128,
    "fc_gblock_depth": 2, "fc_gblock_min_nodes": 128, "fc_gblock_max_nodes": 128,
    "dec_max_filters": 256, "dec_min_filters": 16, "dec_res_blocks": 0,
}

# faceswap's phaze_a_defaults.py, option by option (the ones swapdeck keeps).
FACESWAP_DEFAULTS = {
    "output_size": 128, "shared_fc": "none", "enable_gblock": True, "split_fc": True,
    "split_gblock": False, "split_decoders": False, "enc_architecture": "fs_original",
    "enc_scaling": 7, "bottleneck_type": "dense", "bottleneck_norm": "none",
    "bottleneck_size": 1024, "bottleneck_in_encoder": True, "fc_depth": 1,
    "fc_min_filters": 1024, "fc_max_filters": 1024, "fc_dimensions": 4,
    "fc_filter_slope": -0.5, "fc_dropout": 0.0, "fc_upsampler": "upsample2d",
    "fc_upsamples": 1, "fc_upsample_filters": 512, "fc_gblock_depth": 3,
    "fc_gblock_min_nodes": 512, "fc_gblock_max_nodes": 512, "fc_gblock_filter_slope": -0.5,
    "fc_gblock_dropout": 0.0, "dec_upscale_method": "subpixel", "dec_upscales_in_fc": 0,
    "dec_norm": "none", "dec_min_filters": 64, "dec_max_filters": 512,
    "dec_slope_mode": "full", "dec_filter_slope": -0.45, "dec_res_blocks": 1,
    "dec_output_kernel": 5, "dec_gaussian": True, "dec_skip_last_residual": True,
    "fs_original_depth": 4, "fs_original_min_filters": 128, "fs_original_max_filters": 1024,
    "fs_original_use_alt": False, "mobilenet_width": 1.0,
}


pytestmark = pytest.mark.usefixtures("one_thread")


def small(**options: object) -> PhazeA:
    torch.manual_seed(0)
    model = build_model(make_config("phaze-a", {**SMALL, **options}))
    assert isinstance(model, PhazeA)
    return model


def faces(model: PhazeA) -> torch.Tensor:
    size = model.config.input_size
    return torch.rand(BATCH, 3, size, size)


def check_output(model: PhazeA, face: torch.Tensor, mask: torch.Tensor | None) -> None:
    size = model.config.output_size
    assert face.shape == (BATCH, 3, size, size)
    assert face.dtype == torch.float32
    assert 0 <= face.min() and face.max() <= 1
    if model.config.learn_mask:
        assert mask is not None and mask.shape == (BATCH, 1, size, size)
        assert 0 <= mask.min() and mask.max() <= 1
    else:
        assert mask is None


def count(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


# ---- options ---------------------------------------------------------------------------------

def test_defaults_are_faceswaps() -> None:
    options = {o.name: o.default for o in describe_options("phaze-a")}
    assert {name: options[name] for name in FACESWAP_DEFAULTS} == FACESWAP_DEFAULTS
    assert set(options) == {*FACESWAP_DEFAULTS, "input_size", "learn_mask", "icnr_init",
                            "conv_aware_init", "reflect_padding"}
    assert make_config("phaze-a", {}).input_size == 64


def test_every_number_has_bounds_and_every_word_choices() -> None:
    for option in describe_options("phaze-a"):
        if option.type in ("int", "float"):
            assert option.bounds is not None, option.name
        if option.type == "str":
            assert option.choices, option.name


@pytest.mark.parametrize("architecture, scaling, size", [
    ("fs_original", 7, 64), ("fs_original", 40, 400), ("fs_original", 0, 32),
    ("resnet50", 7, 32), ("resnet50", 50, 112), ("resnet50", 100, 224),
    ("mobilenet_v2", 200, 448), ("mobilenet_v2", 20, 32),
])
def test_input_size_follows_faceswaps_rule(architecture: str, scaling: int, size: int) -> None:
    config = make_config("phaze-a", {"enc_architecture": architecture, "enc_scaling": scaling})
    assert config.input_size == size
    assert make_config("phaze-a", {"enc_architecture": architecture, "enc_scaling": scaling,
                                   "input_size": size}) == config


@pytest.mark.parametrize("options", [
    {},
    {**SMALL, "learn_mask": True, "enc_architecture": "mobilenet_v2", "mobilenet_width": 0.5},
    {"shared_fc": "full", "split_decoders": True, "dec_norm": "rms", "fc_dropout": 0.25},
])
def test_config_round_trips_through_json(options: dict[str, object]) -> None:
    config = make_config("phaze-a", options)
    stored = json.loads(json.dumps(config_to_dict(config)))
    assert config_from_dict("phaze-a", stored) == config


@pytest.mark.parametrize("options, message", [
    ({"output_size": 72}, "output_size=72 must be a multiple of 16"),
    ({"output_size": 32}, r"output_size=32 is out of range for model phaze-a \(allowed: 64 to "
                          r"2048\)"),
    ({"enc_scaling": 201}, r"enc_scaling=201 is out of range .*\(allowed: 0 to 200\)"),
    ({"fc_dropout": 1.0}, r"fc_dropout=1.0 is out of range .*\(allowed: 0.0 to 0.99\)"),
    ({"mobilenet_width": 1}, "option mobilenet_width of model phaze-a must be float, got 1"),
    ({"enc_architecture": "vgg16"}, r"enc_architecture='vgg16' is not allowed for model "
                                    r"phaze-a \(allowed: fs_original, mobilenet_v2, resnet50\)"),
    ({"input_size": 48}, r"input_size=48 does not match enc_architecture=fs_original at "
                         r"enc_scaling=7 \(64 px\): leave input_size out"),
    ({**SMALL, "fs_original_use_alt": True, "fs_original_depth": 5},
     r"fs_original_use_alt with fs_original_depth=5 needs a larger input than 32 px"),
    ({**SMALL, "fc_depth": 0}, r"fc_depth=0 passes the bottleneck's 128 values straight to "
                               r"the 2x2x128 reshape, which needs 512"),
    ({**SMALL, "dec_upscales_in_fc": 5},
     "dec_upscales_in_fc=5 is more than the 4 upscales the decoder makes for output_size 64"),
    ({**SMALL, "dec_upscales_in_fc": 1, "learn_mask": True},
     "dec_upscales_in_fc with learn_mask needs enable_gblock off and shared_fc none"),
    ({**SMALL, "dec_norm": "group"},
     "dec_norm=group needs decoder widths that are multiples of 32, got 256, 112, 48, 16"),
    ({**SMALL, "reflect_padding": True, "enc_architecture": "resnet50", "enc_scaling": 0},
     "reflect_padding cannot mirror 1 px around the 1x1 map of the encoder's last stage"),
    ({**SMALL, "reflect_padding": True, "dec_upscale_method": "upscale_dny", "fc_upsamples": 0},
     "reflect_padding cannot mirror 2 px around the 2x2 map of the decoder's first upscale"),
    ({"output_size": 208, "fc_max_filters": 128},
     r"fc_max_filters=128 is too few to reshape the 8x8 fully connected output to 13x13 for "
     r"output_size 208 \(needs at least 169\)"),
])
def test_combinations_that_cannot_work_are_refused_in_one_line(options: dict[str, object],
                                                               message: str) -> None:
    with pytest.raises(ModelOptionError, match=message) as error:
        make_config("phaze-a", options)
    assert "\n" not in str(error.value)


# ---- sizes -----------------------------------------------------------------------------------

@pytest.mark.parametrize("start, end, points, slope, mode, expected", [
    (512, 64, 4, -0.45, "full", [512, 256, 128, 64]),        # faceswap's default decoder
    (512, 64, 6, 0.5, "cap_max", [512, 512, 512, 256, 128, 64]),   # its help text's examples
    (512, 64, 6, 0.5, "cap_min", [512, 256, 128, 64, 64, 64]),
    (512, 512, 3, -0.5, "full", [512, 512, 512]),
    (512, 64, 1, -0.45, "full", [512]),
    (512, 64, 0, -0.45, "cap_min", []),
])
def test_filter_curves(start: int, end: int, points: int, slope: float, mode: str,
                       expected: list[int]) -> None:
    assert filter_curve(start, end, points, slope, mode) == expected


@pytest.mark.parametrize("output, side, expected", [
    (128, 8, (8, 4)), (80, 8, (5, 4)), (208, 8, (13, 4)), (64, 16, (16, 2)), (64, 256, (64, 0)),
])
def test_decoder_start_halves_the_output_to_the_fc_side(output: int, side: int,
                                                        expected: tuple[int, int]) -> None:
    assert decoder_start(output, side) == expected


def test_default_plan() -> None:
    plan = make_plan(make_config("phaze-a", {}))
    assert plan.encoder_shape == (1024, 4, 4)
    assert plan.fc_nodes == (16384,)
    assert plan.inter_shape == (1024, 8, 8)
    assert plan.gblock_nodes == (512, 512, 512)
    assert plan.dec_filters == (512, 256, 128, 64)


def test_default_parameter_counts() -> None:
    with torch.device("meta"):
        model = build_model(make_config("phaze-a", {}))
    assert isinstance(model, PhazeA)
    parts = {name: count(model.part(name)) for name in
             ("fc_a", "fc_b", "fc_gblock", "g_block_both", "decoder_both")}
    assert count(model.encoder) == 33_992_960
    assert parts == {"fc_a": 16_793_600, "fc_b": 16_793_600, "fc_gblock": 1_050_112,
                     "g_block_both": 23_864_832, "decoder_both": 31_271_107}
    assert count(model) == 123_766_211 == count(model.encoder) + sum(parts.values())


# Keras' model.summary() of its applications without top: ResNet50 23,587,712 and
# MobileNetV2 (alpha 1.0) 2,257,984, counting batch-norm moving statistics, which PyTorch
# keeps as buffers.
@pytest.mark.parametrize("architecture, parameters, keras_total", [
    ("resnet50", 23_534_592, 23_587_712),
    ("mobilenet_v2", 2_223_872, 2_257_984),
    ("fs_original", 17_214_720, 17_214_720),
])
def test_encoder_parameter_counts(architecture: str, parameters: int, keras_total: int) -> None:
    config = make_config("phaze-a", {"enc_architecture": architecture})
    with torch.device("meta"):
        body = encoders.build_encoder_body(config.encoder_options())
    statistics = sum(b.numel() for name, b in body.named_buffers() if "running_" in name)
    assert count(body) == parameters
    assert count(body) + statistics == keras_total


@pytest.mark.parametrize("options", [
    {"enc_architecture": "resnet50", "enc_scaling": 16},
    {"enc_architecture": "mobilenet_v2", "enc_scaling": 16, "mobilenet_width": 1.4},
    {"enc_architecture": "mobilenet_v2", "enc_scaling": 0, "mobilenet_width": 0.35},
    {"fs_original_depth": 3, "enc_scaling": 5},
    {"fs_original_use_alt": True, "fs_original_depth": 3, "fs_original_max_filters": 256,
     "fs_original_min_filters": 16},
], ids=["resnet50", "mobilenet_v2-wide", "mobilenet_v2-narrow", "fs_original", "fs_alt"])
def test_encoder_shape_is_what_the_encoder_makes(options: dict[str, object]) -> None:
    config = make_config("phaze-a", {**SMALL, **options})
    body = encoders.build_encoder_body(config.encoder_options()).eval()
    with torch.no_grad():
        out = body(torch.rand(1, 3, config.input_size, config.input_size))
    assert tuple(out.shape[1:]) == make_plan(config).encoder_shape


# ---- forward passes --------------------------------------------------------------------------

COMBINATIONS = {
    "small": {},
    "shared-fc": {"split_fc": False},
    "shared_fc-full": {"shared_fc": "full"},
    "shared_fc-half": {"shared_fc": "half"},
    "shared_fc-half-unsplit": {"shared_fc": "half", "split_fc": False},
    "no-gblock": {"enable_gblock": False},
    "split-everything": {"split_gblock": True, "split_decoders": True},
    "resize_images": {"dec_upscale_method": "resize_images"},
    "upscale_fast": {"dec_upscale_method": "upscale_fast"},
    "upscale_hybrid": {"dec_upscale_method": "upscale_hybrid"},
    "upscale_dny": {"dec_upscale_method": "upscale_dny"},
    "fc-subpixel": {"fc_upsampler": "subpixel"},
    "fc-resize_images": {"fc_upsampler": "resize_images"},
    "fc-upscale_fast": {"fc_upsampler": "upscale_fast"},
    "fc-upscale_hybrid-x2": {"fc_upsampler": "upscale_hybrid", "fc_upsamples": 2},
    "fc-upsample2d-x2": {"fc_upsamples": 2},
    "fc-no-upsample": {"fc_upsamples": 0, "fc_dimensions": 4},
    "average_pooling": {"bottleneck_type": "average_pooling", "bottleneck_norm": "instance"},
    "max_pooling": {"bottleneck_type": "max_pooling", "bottleneck_norm": "layer"},
    "flatten-no-fc": {"bottleneck_type": "flatten", "fc_depth": 0, "bottleneck_norm": "rms",
                      "fs_original_depth": 4},
    "bottleneck-in-fc": {"bottleneck_in_encoder": False, "bottleneck_type": "average_pooling"},
    "deep-fc": {"fc_depth": 3, "fc_min_filters": 16, "fc_dropout": 0.2,
                "fc_gblock_dropout": 0.1},
    "upscales-in-fc": {"dec_upscales_in_fc": 1, "split_decoders": True},
    "all-upscales-in-fc": {"dec_upscales_in_fc": 4, "enable_gblock": False},
    "dny-in-fc": {"dec_upscales_in_fc": 2, "dec_upscale_method": "upscale_dny",
                  "enable_gblock": False},
    "group-norm": {"dec_norm": "group", "dec_slope_mode": "cap_min", "dec_filter_slope": 0.5,
                   "dec_min_filters": 64},
    "batch-norm": {"dec_norm": "batch", "dec_slope_mode": "cap_max"},
    "residual": {"dec_res_blocks": 1},
    "instance-norm": {"dec_norm": "instance", "dec_res_blocks": 2,
                      "dec_skip_last_residual": False},
    "layer-norm-no-noise": {"dec_norm": "layer", "dec_gaussian": False,
                            "dec_output_kernel": 3},
    "rms-norm-even-kernel": {"dec_norm": "rms", "dec_output_kernel": 4},
    "odd-output": {"output_size": 80},
    "fs_alt": {"fs_original_use_alt": True},
    "resnet50": {"enc_architecture": "resnet50", "enc_scaling": 0},
    "mobilenet_v2": {"enc_architecture": "mobilenet_v2", "enc_scaling": 0,
                     "mobilenet_width": 0.5},
    "reflect-icnr": {"reflect_padding": True, "icnr_init": True, "fc_upsampler": "subpixel",
                     "dec_upscale_method": "upscale_hybrid"},
    "reflect-mobilenet_v2": {"reflect_padding": True, "enc_architecture": "mobilenet_v2",
                             "enc_scaling": 22},
}


@pytest.mark.parametrize("options", COMBINATIONS.values(), ids=COMBINATIONS.keys())
def test_every_combination_makes_faces_and_masks_of_the_output_size(
        options: dict[str, object]) -> None:
    """With learn_mask, which runs every layer a model without it has, and the mask's."""
    if options.get("dec_upscales_in_fc") and "enable_gblock" not in options:
        options = {**options, "enable_gblock": False}
    model = small(learn_mask=True, **options)
    with torch.no_grad():
        for side in SIDES:
            check_output(model, *model(faces(model), side))


def test_without_a_mask_there_is_no_mask_branch() -> None:
    model = small()
    with torch.no_grad():
        check_output(model, *model(faces(model), "a"))
    assert not any("mask" in name for name, _ in model.named_parameters())


GRADIENT_COMBINATIONS = {
    "small": {},
    "split-everything": {"split_gblock": True, "split_decoders": True},
    "shared-everything": {"split_fc": False},
    "shared_fc-half": {"shared_fc": "half", "split_decoders": True},
    "mask-upscales-in-fc": {"learn_mask": True, "dec_upscales_in_fc": 2,
                            "enable_gblock": False},
    "bottleneck-in-fc": {"bottleneck_in_encoder": False, "shared_fc": "full",
                         "dec_res_blocks": 1},
    "mobilenet_v2": {"enc_architecture": "mobilenet_v2", "enc_scaling": 0},
}


@pytest.mark.parametrize("options", GRADIENT_COMBINATIONS.values(),
                         ids=GRADIENT_COMBINATIONS.keys())
def test_a_pass_reaches_the_input_layer_and_only_its_sides_parts(
        options: dict[str, object]) -> None:
    model = small(**options)
    for side in SIDES:
        model.zero_grad(set_to_none=True)
        face, mask = model(faces(model), side)
        (face.mean() + (0 if mask is None else mask.mean())).backward()

        used = {id(p) for name in route(model.config, side) if name is not None
                for p in model.part(name).parameters()}
        used |= {id(p) for p in model.encoder.parameters()}
        for name, parameter in model.named_parameters():
            if id(parameter) in used:
                assert parameter.grad is not None, f"{name} got no gradient"
                assert torch.isfinite(parameter.grad).all(), f"{name}: non-finite gradient"
            else:
                assert parameter.grad is None, f"{name} is not on side {side}'s path"
        assert next(model.encoder.parameters()).grad.any(), "the loss misses the input layer"
        other = "b" if side == "a" else "a"
        assert all(p.grad is None for p in model.side_parameters(other))
        assert all(p.grad is not None for p in model.side_parameters(side))


@pytest.mark.parametrize("options, own, shared", [
    ({}, {"a": ["fc_a"], "b": ["fc_b"]}, ["fc_gblock", "g_block_both", "decoder_both"]),
    ({"split_gblock": True, "split_decoders": True},
     {"a": ["fc_a", "g_block_a", "decoder_a"], "b": ["fc_b", "g_block_b", "decoder_b"]},
     ["fc_gblock"]),
    ({"shared_fc": "half", "enable_gblock": False}, {"a": [], "b": ["fc_b"]},
     ["fc_a", "decoder_both"]),
    ({"shared_fc": "full", "split_fc": False, "enable_gblock": False}, {"a": [], "b": []},
     ["fc_both", "fc_shared", "decoder_both"]),
])
def test_each_part_is_stored_once_where_its_users_are(options: dict[str, object],
                                                      own: dict[str, list[str]],
                                                      shared: list[str]) -> None:
    model = small(**options)
    assert {side: list(model.decoders[side]) for side in SIDES} == own
    assert list(model.shared) == shared
    pointers = [t.data_ptr() for t in model.state_dict().values() if t.numel()]
    assert len(pointers) == len(set(pointers))


def test_weights_save_as_safetensors_and_load_back(tmp_path) -> None:
    model = small(shared_fc="half", learn_mask=True)
    path = tmp_path / "model.safetensors"
    safetensors.torch.save_file(model.state_dict(), path)
    copy = small(shared_fc="half", learn_mask=True)
    copy.load_state_dict(safetensors.torch.load_file(path))
    x = faces(model)
    model.eval()
    copy.eval()
    with torch.no_grad():
        assert torch.equal(model(x, "b").face, copy(x, "b").face)


def test_noise_only_while_training() -> None:
    model = small()
    x = faces(model)
    with torch.no_grad():
        assert not torch.equal(model(x, "a").face, model(x, "a").face)
        model.eval()
        assert torch.equal(model(x, "a").face, model(x, "a").face)


def test_the_g_block_and_outputs_compute_in_float32_under_autocast() -> None:
    """bfloat16 convolutions are slow on CPU: the parts that force float32, on tiny maps."""
    torch.manual_seed(0)
    g_block, output = GBlock(16, 8), OutputConv(16, 3, 5)
    with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16):
        styled = g_block(torch.rand(2, 16, 4, 4), torch.rand(2, 8))
        face = output(styled)
    assert styled.dtype == face.dtype == torch.float32
    assert torch.isfinite(styled).all() and 0 <= face.min() and face.max() <= 1


def test_swap_and_wrong_inputs() -> None:
    model = small().eval()
    with torch.no_grad():
        check_output(model, *model.decode(model.encode(faces(model)), "b"))
    with pytest.raises(ValueError, match="model phaze-a takes 32x32 faces, got 64x64"):
        model.encode(torch.zeros(1, 3, 64, 64))
    with pytest.raises(ValueError, match="side must be 'a' or 'b', got 'c'"):
        model.decode(torch.zeros(1), "c")
    with pytest.raises(KeyError, match="no part 'g_block_a'"):
        model.part("g_block_a")


# ---- full size -------------------------------------------------------------------------------

@pytest.mark.slow
def test_default_model_trains_both_sides() -> None:
    torch.manual_seed(0)
    model = build_model(make_config("phaze-a", {"learn_mask": True}))
    optimizer = torch.optim.Adam(model.parameters(), lr=5e-5)
    x = torch.rand(BATCH, 3, 64, 64)
    for side in SIDES:
        optimizer.zero_grad(set_to_none=True)
        face, mask = model(x, side)
        assert face.shape == (BATCH, 3, 128, 128) and mask is not None
        loss = (face - x.repeat_interleave(2, 2).repeat_interleave(2, 3)).abs().mean()
        loss.backward()
        assert all(p.grad is None for p in model.side_parameters("b" if side == "a" else "a"))
        optimizer.step()


@pytest.mark.slow
def test_convolution_aware_start_with_every_encoder() -> None:
    for architecture in ("fs_original", "resnet50", "mobilenet_v2"):
        model = small(conv_aware_init=True, enc_architecture=architecture, enc_scaling=22,
                      dec_upscale_method="upscale_dny", fc_dimensions=4)
        face, mask = model(faces(model), "a")
        check_output(model, face, mask)
        face.mean().backward()
        assert next(model.encoder.parameters()).grad.any()


@pytest.mark.slow
def test_outputs_stay_float32_under_autocast() -> None:
    model = small(learn_mask=True, dec_res_blocks=1)
    with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16):
        face, mask = model(faces(model), "b")
    check_output(model, face, mask)


@pytest.mark.slow
@pytest.mark.parametrize("architecture", ["resnet50", "mobilenet_v2"])
def test_keras_encoders_at_their_native_size(architecture: str) -> None:
    model = build_model(make_config("phaze-a", {
        **SMALL, "enc_architecture": architecture, "enc_scaling": 100,
        "bottleneck_type": "average_pooling"}))
    assert model.config.input_size == 224
    face, _ = model(torch.rand(BATCH, 3, 224, 224), "a")
    face.mean().backward()
    assert next(model.encoder.parameters()).grad.any()
