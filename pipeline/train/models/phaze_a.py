"""faceswap's Phaze-A (by torzDF): a model built from options rather than fixed layers.

Structure and option names, ranges and defaults follow faceswap's
plugins/train/model/phaze_a.py and phaze_a_defaults.py:

    encoder (fs_original, resnet50 or mobilenet_v2; + bottleneck when bottleneck_in_encoder)
      -> fully connected (per side when split_fc, else shared; + a shared fc when shared_fc)
      -> G-block (optional; StyleGAN-like, styled by its own shared fc; per side when split)
      -> decoder (upscales to output_size; per side when split_decoders, else shared)

`encoder` is the shared encoder; `decoders[side]` holds exactly the parts only that side
uses (so SwapModel.side_parameters is right as it is) and `shared` every part both sides
use, each under faceswap's sub-model name (fc_a, fc_both, g_block_both, decoder_b, ...), so
each tensor is stored once.

At default options (fs_original at 64 px in, 128 px out, split fc, shared G-block and
decoder) it has 123,766,211 parameters: encoder 33,992,960, fc_a and fc_b 16,793,600 each,
fc_gblock 1,050,112, g_block_both 23,864,832, decoder_both 31,271,107.

input_size is not chosen but follows from enc_architecture and enc_scaling (faceswap's
rule). swapdeck's global options act on every convolution, the resnet50 / mobilenet_v2
encoders' too (faceswap leaves Keras Applications alone); reflect_padding is refused where
a map is too small to mirror.

Left out, as they need downloaded weights or another encoder: enc_load_weights,
freeze_layers and load_layers (swapdeck's load/freeze weights act on `transferable`), the
Keras Applications other than resnet50 and mobilenet_v2, CLIP encoders, and the MobileNet
v1/v3 options. Three faceswap quirks are not copied: the fully connected output is scaled
to its true side (fc_dimensions x 2^fc_upsamples; faceswap uses x (fc_upsamples + 1)); the
last fully connected Dense always has the reshape's width (faceswap crashes otherwise); and
dec_skip_last_residual skips only the very last upscale, not also the last one in the fc.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, NamedTuple

import torch
from torch import Tensor, nn

from pipeline.train.models import phaze_a_encoders as encoders
from pipeline.train.models.blocks import (
    GROUPS, LEAKY_SLOPE, RESIDUAL_SLOPE, ConvBlock, Dense, ResidualBlock)
from pipeline.train.models.phaze_a_blocks import (
    Features, GaussianNoise, GBlock, OutputConv, conv_block, make_norm, make_upscaler,
    upscaled_width)
from pipeline.train.models.registry import (
    SIDES, ModelConfig, ModelOptionError, ModelOutput, SwapModel, register_model)

Shape = encoders.Shape
NORMS = ("none", "batch", "group", "instance", "layer", "rms")
SLOPE = (-0.99, 0.99)
DROPOUT = (0.0, 0.99)
DEFAULT_INPUT = 64   # fs_original at enc_scaling 7


def option(default: Any, help: str, *, choices: tuple | None = None,
           bounds: tuple[float, float] | None = None, default_text: str | None = None) -> Any:
    """A config field with its help line and, where they apply, choices or bounds."""
    metadata: dict[str, Any] = {"help": help}
    if choices is not None:
        metadata["choices"] = choices
    if bounds is not None:
        metadata["bounds"] = bounds
    if default_text is not None:
        metadata["default_text"] = default_text
    return field(default=default, metadata=metadata)


@dataclass(frozen=True, kw_only=True)
class PhazeAConfig(ModelConfig):
    input_size: int = option(
        DEFAULT_INPUT, "Side of the face the encoder takes: set by enc_architecture and "
        "enc_scaling (leave it out; a stored value must match).", bounds=(32, 2048),
        default_text="from enc_architecture and enc_scaling")
    output_size: int = option(128, "Side of the face the model makes, in pixels (a multiple "
                              "of 16); memory grows fast with it.", bounds=(64, 2048))
    shared_fc: str = option("none", "Add a fully connected layer for both sides' common "
                            "patterns: none, full (its own, IAE style) or half (reuse fc_a, "
                            "DFL style).", choices=("none", "full", "half"))
    enable_gblock: bool = option(True, "Feed the decoder through a G-block styled by its own "
                                 "shared fully connected layer.")
    split_fc: bool = option(True, "One fully connected layer per side (IAE style) instead of "
                            "one for both.")
    split_gblock: bool = option(False, "One G-block per side instead of one for both (its "
                                "fully connected layer stays shared).")
    split_decoders: bool = option(False, "One decoder per side (Original style) instead of "
                                  "one for both.")

    enc_architecture: str = option(
        "fs_original", "Encoder: fs_original (faceswap's, configurable), resnet50 or "
        "mobilenet_v2 (randomly initialised).", choices=tuple(sorted(encoders.ENCODERS)))
    enc_scaling: int = option(7, "Encoder input as a percent of the architecture's native "
                              "size (1024 px fs_original, 224 px others), down to a multiple "
                              "of 16, at least 32 px.", bounds=(0, 200))

    bottleneck_type: str = option(
        "dense", "Bottleneck: dense (bottleneck_size nodes), average_pooling or max_pooling "
        "(global, one value per channel) or flatten (none).",
        choices=("average_pooling", "dense", "max_pooling", "flatten"))
    bottleneck_norm: str = option("none", "Normalisation of the encoder output before the "
                                  "bottleneck.", choices=("none", "instance", "layer", "rms"))
    bottleneck_size: int = option(1024, "Nodes of a dense bottleneck.", bounds=(128, 4096))
    bottleneck_in_encoder: bool = option(True, "Put the bottleneck in the shared encoder "
                                         "rather than one in each fully connected layer.")

    fc_depth: int = option(1, "Dense layers in each fully connected layer (0: the bottleneck "
                           "feeds the reshape directly).", bounds=(0, 16))
    fc_min_filters: int = option(1024, "Filters of the first fully connected Dense (nodes = "
                                 "filters x fc_dimensions squared).", bounds=(16, 5120))
    fc_max_filters: int = option(1024, "Filters of the last fully connected Dense, which is "
                                 "reshaped to fc_dimensions square.", bounds=(128, 5120))
    fc_dimensions: int = option(4, "Side of the map the fully connected output is reshaped "
                                "to.", bounds=(1, 16))
    fc_filter_slope: float = option(-0.5, "How the Dense widths move from min to max: "
                                    "negative changes fast at first, 0 linearly, positive "
                                    "fast at the end.", bounds=SLOPE)
    fc_dropout: float = option(0.0, "Dropout before each fully connected Dense (0 for none).",
                               bounds=DROPOUT)
    fc_upsampler: str = option(
        "upsample2d", "Upscaler at the end of the fully connected layers; upsample2d "
        "learns nothing.", choices=("resize_images", "subpixel", "upscale_fast",
                                    "upscale_hybrid", "upsample2d"))
    fc_upsamples: int = option(1, "Upscales at the end of the fully connected layers.",
                               bounds=(0, 4))
    fc_upsample_filters: int = option(512, "Filters of the fully connected upscalers (not "
                                      "upsample2d); also the G-block's width then.",
                                      bounds=(128, 5120))

    fc_gblock_depth: int = option(3, "Dense layers in the G-block's fully connected layer.",
                                  bounds=(1, 16))
    fc_gblock_min_nodes: int = option(512, "Nodes of the G-block's first Dense.",
                                      bounds=(128, 5120))
    fc_gblock_max_nodes: int = option(512, "Nodes of the G-block's last Dense.",
                                      bounds=(128, 5120))
    fc_gblock_filter_slope: float = option(-0.5, "How the G-block Dense widths move from min "
                                           "to max (as fc_filter_slope).", bounds=SLOPE)
    fc_gblock_dropout: float = option(0.0, "Dropout before each G-block Dense (0 for none).",
                                      bounds=DROPOUT)

    dec_upscale_method: str = option(
        "subpixel", "Decoder upscaler: subpixel, resize_images, upscale_fast, upscale_hybrid "
        "or upscale_dny.", choices=("subpixel", "resize_images", "upscale_fast",
                                    "upscale_hybrid", "upscale_dny"))
    dec_upscales_in_fc: int = option(0, "Run the decoder's first upscales at the end of the "
                                     "fully connected layers instead.", bounds=(0, 6))
    dec_norm: str = option("none", "Normalisation after each decoder upscale (group needs "
                           "widths that are multiples of 32).", choices=NORMS)
    dec_min_filters: int = option(64, "Filters of the last decoder upscale.", bounds=(16, 512))
    dec_max_filters: int = option(512, "Filters of the first decoder upscale.",
                                  bounds=(256, 5120))
    dec_slope_mode: str = option(
        "full", "Filter curve: full (max to min along the slope), cap_max or cap_min (fall "
        "by the slope's fraction each upscale, padded at max or min).",
        choices=("full", "cap_max", "cap_min"))
    dec_filter_slope: float = option(-0.45, "How decoder filters fall per upscale (full: as "
                                     "fc_filter_slope; cap modes: the fraction dropped).",
                                     bounds=SLOPE)
    dec_res_blocks: int = option(1, "Residual blocks after each decoder upscale (0 for none).",
                                 bounds=(0, 8))
    dec_output_kernel: int = option(5, "Kernel size of the decoder's output convolution.",
                                    bounds=(1, 9))
    dec_gaussian: bool = option(True, "Add Gaussian noise after each decoder upscale while "
                                "training.")
    dec_skip_last_residual: bool = option(True, "No residual blocks after the last upscale.")

    fs_original_depth: int = option(4, "fs_original only: stride-2 convolutions (levels of "
                                    "the alternate encoder).", bounds=(2, 10))
    fs_original_min_filters: int = option(128, "fs_original only: filters of the first "
                                          "convolution, doubling each level.",
                                          bounds=(16, 2048))
    fs_original_max_filters: int = option(1024, "fs_original only: the most filters a "
                                          "convolution gets.", bounds=(256, 8192))
    fs_original_use_alt: bool = option(False, "fs_original only: the alternate encoder (3x3 "
                                       "convolutions and max pooling).")
    mobilenet_width: float = option(1.0, "mobilenet_v2 only: width multiplier of every "
                                    "layer.", bounds=(0.1, 2.0))

    def __post_init__(self) -> None:
        super().__post_init__()
        self._settle_input_size()
        make_plan(self)

    def _settle_input_size(self) -> None:
        """input_size follows from the encoder; the field only records it (so the trainer
        reads it like any model's). Left at its default, it is set; given, it must match."""
        size = encoders.input_size(self.enc_architecture, self.enc_scaling)
        if self.input_size == size:
            return
        if self.input_size != DEFAULT_INPUT:
            raise ModelOptionError(
                f"input_size={self.input_size} does not match enc_architecture="
                f"{self.enc_architecture} at enc_scaling={self.enc_scaling} ({size} px): "
                f"leave input_size out")
        object.__setattr__(self, "input_size", size)

    def encoder_options(self) -> encoders.EncoderOptions:
        return encoders.EncoderOptions(
            self.enc_architecture, self.input_size, self.fs_original_depth,
            self.fs_original_min_filters, self.fs_original_max_filters,
            self.fs_original_use_alt, self.mobilenet_width)


# ---- sizes ---------------------------------------------------------------------------------

def filter_curve(start: int, end: int, points: int, slope: float, mode: str = "full") -> list[int]:
    """faceswap's _get_curve: `points` widths from start to end, rounded down to 8.

    full: along a curve bent by slope (negative: fast change first). cap_max / cap_min: fall
    by the fraction |slope| each step until end, padded with start before (cap_max) or end
    after (cap_min).
    """
    if points == 0:
        return []
    slope = min(0.99, max(-0.99, slope))
    if mode == "full":
        values = []
        for x in _linspace(points):
            y = (x - x * slope) / (slope - abs(x) * 2 * slope + 1)
            values.append(int((y * (end - start) + start) // 8 * 8))
        return values
    keep = 1.0 - abs(slope)
    values = [start]
    while len(values) < points and values[-1] != end:
        values.append(max(end, int(values[-1] * keep // 8 * 8)))
    pad = [start if mode == "cap_max" else end] * (points - len(values))
    return pad + values if mode == "cap_max" else values + pad


def _linspace(points: int) -> list[float]:
    """numpy.linspace(0, 1, points), value for value: [0.0] for one point."""
    if points == 1:
        return [0.0]
    step = 1.0 / (points - 1)
    return [index * step for index in range(points - 1)] + [1.0]


def decoder_start(output_size: int, side: int) -> tuple[int, int]:
    """faceswap's _scale_dim: halve output_size while it is above `side` and even. Returns
    the side the decoder starts from and how many x2 upscales reach output_size."""
    start, upscales = output_size, 0
    while start > side and start % 2 == 0:
        start //= 2
        upscales += 1
    return start, upscales


@dataclass(frozen=True)
class Plan:
    """Every size Phaze-A's layers need, worked out (and checked) from a config."""
    encoder_shape: Shape
    code_width: int                # values per face after the bottleneck
    fc_nodes: tuple[int, ...]      # Dense widths of a side's fully connected layer
    fc_shape: Shape                # the last Dense, reshaped
    fc_upsample_filters: int       # filters of each learned fc upscaler
    fc_upsampled: Shape            # after the fully connected upscales
    gblock_nodes: tuple[int, ...]
    start_side: int                # the side the decoder upscales from
    dec_filters: tuple[int, ...]   # every decoder upscale, the first dec_upscales_in_fc in the fc
    inter_shape: Shape             # what a G-block and a decoder take


def make_plan(config: PhazeAConfig) -> Plan:
    """The sizes of every layer; raises ModelOptionError for a combination that cannot work."""
    if config.output_size % 16:
        raise ModelOptionError(f"output_size={config.output_size} must be a multiple of 16")
    shape = _encoder_shape(config)
    code_width = _bottleneck_width(config.bottleneck_type, config.bottleneck_size, shape)
    fc_side = config.fc_dimensions << config.fc_upsamples
    start, upscales = decoder_start(config.output_size, fc_side)
    fc_channels = _scaled_filters(config, "fc_max_filters", fc_side, start)
    fc_nodes = _fc_nodes(config, code_width, fc_side, start, fc_channels)
    upsample_filters, upsampled = _fc_upsampling(config, fc_side, start, fc_channels)
    dec_filters = filter_curve(config.dec_max_filters, config.dec_min_filters, upscales,
                               config.dec_filter_slope, config.dec_slope_mode)
    _check_decoder(config, dec_filters)
    inter_shape = _inter_shape(config, upsampled, fc_side, start, dec_filters)
    if config.reflect_padding:
        _check_reflect_padding(config, inter_shape[1], start, upscales)
    return Plan(
        encoder_shape=shape, code_width=code_width, fc_nodes=fc_nodes,
        fc_shape=(fc_channels, config.fc_dimensions, config.fc_dimensions),
        fc_upsample_filters=upsample_filters, fc_upsampled=(upsampled, fc_side, fc_side),
        gblock_nodes=tuple(filter_curve(config.fc_gblock_min_nodes, config.fc_gblock_max_nodes,
                                        config.fc_gblock_depth,
                                        config.fc_gblock_filter_slope)),
        start_side=start, dec_filters=tuple(dec_filters), inter_shape=inter_shape)


def _encoder_shape(config: PhazeAConfig) -> Shape:
    shape = encoders.encoder_shape(config.encoder_options())
    if shape[1] < 1:
        raise ModelOptionError(
            f"fs_original_use_alt with fs_original_depth={config.fs_original_depth} needs a "
            f"larger input than {config.input_size} px: raise enc_scaling or lower the depth")
    return shape


def _bottleneck_width(kind: str, size: int, shape: Shape) -> int:
    channels, height, width = shape
    if kind == "dense":
        return size
    return channels if kind.endswith("pooling") else channels * height * width


def _scaled_filters(config: PhazeAConfig, name: str, fc_side: int, start: int) -> int:
    """faceswap's _scale_filters: when the fc map must be reshaped to another side for the
    output size, its filters are cut to a multiple of that side squared so it divides."""
    filters: int = getattr(config, name)
    if start == fc_side:
        return filters
    scaled = filters // (start * start) * start * start
    if scaled == 0:
        raise ModelOptionError(
            f"{name}={filters} is too few to reshape the {fc_side}x{fc_side} fully connected "
            f"output to {start}x{start} for output_size {config.output_size} (needs at least "
            f"{start * start})")
    return scaled


def _fc_nodes(config: PhazeAConfig, code_width: int, fc_side: int, start: int,
              channels: int) -> tuple[int, ...]:
    """The Dense widths along fc_filter_slope; the last feeds the reshape, so it has its width."""
    area = config.fc_dimensions ** 2
    reshaped = channels * area
    if config.fc_depth == 0:
        if code_width != reshaped:
            raise ModelOptionError(
                f"fc_depth=0 passes the bottleneck's {code_width} values straight to the "
                f"{config.fc_dimensions}x{config.fc_dimensions}x{channels} reshape, which "
                f"needs {reshaped}")
        return ()
    first = channels if config.fc_depth == 1 else _scaled_filters(
        config, "fc_min_filters", fc_side, start)
    nodes = filter_curve(first * area, reshaped, config.fc_depth, config.fc_filter_slope)
    return (*nodes[:-1], reshaped)


def _fc_upsampling(config: PhazeAConfig, fc_side: int, start: int,
                   channels: int) -> tuple[int, int]:
    """The filters of each learned fc upscaler and the channels after them (upsample2d
    learns nothing and keeps the channels)."""
    if config.fc_upsamples == 0 or config.fc_upsampler == "upsample2d":
        return 0, channels
    filters = _scaled_filters(config, "fc_upsample_filters", fc_side, start)
    return filters, upscaled_width(config.fc_upsampler, filters)


def _check_decoder(config: PhazeAConfig, filters: list[int]) -> None:
    if config.dec_upscales_in_fc > len(filters):
        raise ModelOptionError(
            f"dec_upscales_in_fc={config.dec_upscales_in_fc} is more than the {len(filters)} "
            f"upscales the decoder makes for output_size {config.output_size}")
    if (config.learn_mask and config.dec_upscales_in_fc
            and (config.enable_gblock or config.shared_fc != "none")):
        raise ModelOptionError(
            "dec_upscales_in_fc with learn_mask needs enable_gblock off and shared_fc none "
            "(the mask leaves the fully connected layer as a second output)")
    widths = [upscaled_width(config.dec_upscale_method, width) for width in filters]
    if config.dec_norm == "group" and any(width % GROUPS for width in widths):
        raise ModelOptionError(
            f"dec_norm=group needs decoder widths that are multiples of {GROUPS}, got "
            f"{', '.join(map(str, widths))}: change dec_min_filters or dec_max_filters")


def _inter_shape(config: PhazeAConfig, upsampled: int, fc_side: int, start: int,
                 filters: list[int]) -> Shape:
    """What the fully connected layers hand on: reshaped and partly upscaled when
    dec_upscales_in_fc, doubled in channels by a shared fc."""
    upscales = config.dec_upscales_in_fc
    if upscales:   # each fc reshapes its own features, then upscales them
        _check_reshape(upsampled, fc_side, start, config.output_size)
        channels = upscaled_width(config.dec_upscale_method, filters[upscales - 1])
        side = start << upscales
    else:
        channels, side = upsampled, fc_side
    if config.shared_fc != "none":
        channels *= 2
    if not upscales:   # the decoder reshapes what it is given
        _check_reshape(channels, side, start, config.output_size)
    return channels, side, side


def _check_reflect_padding(config: PhazeAConfig, inter_side: int, start: int,
                           upscales: int) -> None:
    """Mirroring an edge needs a map wider than the padding: the smallest map each part's
    first padded convolution reads, with the padding it needs."""
    size, depth = config.input_size, config.fs_original_depth
    maps = []
    if config.enc_architecture != "fs_original":
        maps.append(("the encoder's last stage", encoders.halve_up(size, 5), 1))
    elif not config.fs_original_use_alt:
        maps.append(("the encoder's last convolution", encoders.halve_up(size, depth - 1), 2))
    if config.fc_upsamples and config.fc_upsampler != "upsample2d":
        maps.append(("the first fc upscale",
                     *_upscaler_reads(config.fc_upsampler, config.fc_dimensions)))
    if config.enable_gblock:
        maps.append(("the G-block", inter_side, 1))
    if upscales or config.dec_upscale_method == "upscale_dny":
        maps.append(("the decoder's first upscale",
                     *_upscaler_reads(config.dec_upscale_method, start)))
    for what, side, padding in maps:
        if side <= padding:
            raise ModelOptionError(
                f"reflect_padding cannot mirror {padding} px around the {side}x{side} map of "
                f"{what}: raise enc_scaling or the fc size, or leave reflect_padding off")


def _upscaler_reads(method: str, side: int) -> tuple[int, int]:
    """The side and padding of an upscaler's first padded convolution on a side x side map:
    resize_images convolves after resizing; DNY starts with a 4x4 'same' convolution,
    which pads 2 after."""
    if method == "resize_images":
        return 2 * side, 1
    return side, 2 if method == "upscale_dny" else 1


def _check_reshape(channels: int, side: int, start: int, output_size: int) -> None:
    if channels * side * side % (start * start):
        raise ModelOptionError(
            f"the {side}x{side}x{channels} features cannot be reshaped to {start}x{start} for "
            f"output_size {output_size}: change the fc filters or output_size")


# ---- modules -------------------------------------------------------------------------------

class Bottleneck(nn.Module):
    """faceswap's _bottleneck: optional normalisation of the encoder map, then a Dense, a
    global pooling, or a plain flatten; always flat out."""

    def __init__(self, config: PhazeAConfig, shape: Shape) -> None:
        super().__init__()
        channels, height, width = shape
        self.norm = make_norm(config.bottleneck_norm, channels)
        self.kind = config.bottleneck_type
        self.dense = (Dense(channels * height * width, config.bottleneck_size)
                      if self.kind == "dense" else None)

    def forward(self, x: Tensor) -> Tensor:
        x = self.norm(x)
        if self.kind == "average_pooling":
            return x.mean((2, 3))
        if self.kind == "max_pooling":
            return x.amax((2, 3))
        x = x.flatten(1)
        return x if self.dense is None else self.dense(x)


class Encoder(nn.Module):
    """The architecture's body (fed [-1, 1] faces when it expects them) and, when
    bottleneck_in_encoder, the bottleneck."""

    def __init__(self, config: PhazeAConfig, plan: Plan) -> None:
        super().__init__()
        self.signed = encoders.ENCODERS[config.enc_architecture].signed_input
        self.body = encoders.build_encoder_body(config.encoder_options())
        self.bottleneck = (Bottleneck(config, plan.encoder_shape)
                           if config.bottleneck_in_encoder else None)

    def forward(self, faces: Tensor) -> Tensor:
        x = self.body(faces * 2 - 1 if self.signed else faces)
        return x if self.bottleneck is None else self.bottleneck(x)


def dense_stack(width: int, nodes: tuple[int, ...], dropout: float) -> nn.Sequential:
    """faceswap's fully connected body: Dropout then Dense per layer, no activations."""
    layers: list[nn.Module] = []
    for count in nodes:
        layers += [nn.Dropout(dropout), Dense(width, count)]
        width = count
    return nn.Sequential(*layers)


class ReshapeSide(nn.Module):
    """faceswap's Reshape to another side for the output size, in Keras' channels-last order."""

    def __init__(self, side: int) -> None:
        super().__init__()
        self.side = side

    def forward(self, x: Tensor) -> Tensor:
        flat = x.movedim(1, -1).reshape(x.shape[0], self.side, self.side, -1)
        return flat.movedim(-1, 1)


def upscale_stage(config: PhazeAConfig, in_channels: int, filters: int, mask: bool,
                  residual: bool) -> tuple[nn.Sequential, int]:
    """faceswap's UpscaleBlocks._upscale_block: upscale, noise, normalisation, then residual
    blocks after LeakyReLU(0.2) or a LeakyReLU(0.1) (none for DNY). Masks get neither
    noise nor residual blocks."""
    width = upscaled_width(config.dec_upscale_method, filters)
    layers = [make_upscaler(config.dec_upscale_method, in_channels, filters)]
    if config.dec_gaussian and not mask:
        layers.append(GaussianNoise(1.0))
    layers.append(make_norm(config.dec_norm, width))
    if residual and config.dec_res_blocks and not mask:
        layers.append(nn.LeakyReLU(RESIDUAL_SLOPE))
        layers += [ResidualBlock(width) for _ in range(config.dec_res_blocks)]
    elif config.dec_upscale_method != "upscale_dny":
        layers.append(nn.LeakyReLU(LEAKY_SLOPE))
    return nn.Sequential(*layers), width


class UpscaleChain(nn.Module):
    """Decoder upscales [first, last) of plan.dec_filters, for the face and, with
    learn_mask, the mask. The chain that starts at 0 reshapes for the output size, splits
    the mask off the face features, and (upscale_dny) adds DNY's entry convolutions."""

    def __init__(self, config: PhazeAConfig, plan: Plan, in_channels: int, in_side: int,
                 first: int, last: int) -> None:
        super().__init__()
        self.reshape = (ReshapeSide(plan.start_side)
                        if first == 0 and in_side != plan.start_side else None)
        channels = (in_channels * in_side ** 2 // plan.start_side ** 2
                    if self.reshape is not None else in_channels)
        self.face, self.out_channels = self._branch(config, plan, channels, first, last, False)
        self.mask = (self._branch(config, plan, channels, first, last, True)[0]
                     if config.learn_mask else None)

    @staticmethod
    def _branch(config: PhazeAConfig, plan: Plan, channels: int, first: int, last: int,
                mask: bool) -> tuple[nn.Sequential, int]:
        layers: list[nn.Module] = []
        if first == 0 and config.dec_upscale_method == "upscale_dny":
            entry = config.dec_max_filters
            layers += [conv_block(channels, entry, 4, RESIDUAL_SLOPE),
                       ConvBlock(entry, entry, 3, 1, slope=RESIDUAL_SLOPE)]
            channels = entry
        final = len(plan.dec_filters) - 1
        for index in range(first, last):
            residual = not (config.dec_skip_last_residual and index == final)
            stage, channels = upscale_stage(config, channels, plan.dec_filters[index], mask,
                                            residual)
            layers.append(stage)
        return nn.Sequential(*layers), channels

    def forward(self, features: Features) -> Features:
        face, mask = features
        if self.reshape is not None:
            face = self.reshape(face)
        if self.mask is not None:
            mask = self.mask(face if mask is None else mask)
        return self.face(face), mask


class FullyConnected(nn.Module):
    """A side's (or the shared) fully connected layer: bottleneck (unless in the encoder),
    Dense layers, reshape to fc_dimensions square, fc upscales, and the decoder's first
    dec_upscales_in_fc upscales."""

    def __init__(self, config: PhazeAConfig, plan: Plan) -> None:
        super().__init__()
        self.bottleneck = (None if config.bottleneck_in_encoder
                           else Bottleneck(config, plan.encoder_shape))
        self.dense = dense_stack(plan.code_width, plan.fc_nodes, config.fc_dropout)
        self.unflatten = nn.Unflatten(1, plan.fc_shape)
        self.upsample = self._upsampler(config, plan)
        self.chain = (UpscaleChain(config, plan, plan.fc_upsampled[0], plan.fc_upsampled[1], 0,
                                   config.dec_upscales_in_fc)
                      if config.dec_upscales_in_fc else None)

    @staticmethod
    def _upsampler(config: PhazeAConfig, plan: Plan) -> nn.Module:
        """upsample2d: one nearest x2, or one bilinear x2^n for several, then LeakyReLU(0.1);
        the others: fc_upsamples learned upscalers."""
        if config.fc_upsampler == "upsample2d":
            return nn.Sequential(fc_upsample(config.fc_upsamples), nn.LeakyReLU(LEAKY_SLOPE))
        channels = [plan.fc_shape[0]] + [plan.fc_upsampled[0]] * (config.fc_upsamples - 1)
        return nn.Sequential(*(make_upscaler(config.fc_upsampler, width, plan.fc_upsample_filters)
                               for width in channels))

    def forward(self, code: Tensor) -> Features:
        x = code if self.bottleneck is None else self.bottleneck(code)
        x = self.upsample(self.unflatten(self.dense(x)))
        return (x, None) if self.chain is None else self.chain((x, None))


def fc_upsample(upsamples: int) -> nn.Module:
    """Keras UpSampling2D as faceswap's fc uses it: x2 nearest once, or x2^n bilinear."""
    if upsamples == 0:
        return nn.Identity()
    return nn.Upsample(scale_factor=2 ** upsamples,
                       mode="nearest" if upsamples == 1 else "bilinear")


class Decoder(nn.Module):
    """The rest of the upscales, then faceswap's output convolutions: 3 face channels and,
    with learn_mask, 1 mask channel, each through a sigmoid."""

    def __init__(self, config: PhazeAConfig, plan: Plan) -> None:
        super().__init__()
        channels, side, _ = plan.inter_shape
        self.chain = UpscaleChain(config, plan, channels, side, config.dec_upscales_in_fc,
                                  len(plan.dec_filters))
        width = self.chain.out_channels
        self.face = OutputConv(width, 3, config.dec_output_kernel)
        self.mask = OutputConv(width, 1, config.dec_output_kernel) if config.learn_mask else None

    def forward(self, features: Features) -> ModelOutput:
        face, mask = self.chain(features)
        return ModelOutput(self.face(face), None if self.mask is None else self.mask(mask))


class Route(NamedTuple):
    """The parts one side's pass runs through, by faceswap's sub-model names."""
    fc: str
    shared_fc: str | None
    fc_gblock: str | None
    g_block: str | None
    decoder: str


def route(config: PhazeAConfig, side: str) -> Route:
    """faceswap's wiring: split parts are per side; a half shared fc reuses fc_a (or fc_both)."""
    fc = f"fc_{side}" if config.split_fc else "fc_both"
    shared = {"none": None, "full": "fc_shared",
              "half": "fc_a" if config.split_fc else "fc_both"}[config.shared_fc]
    fc_gblock = g_block = None
    if config.enable_gblock:
        fc_gblock = "fc_gblock"
        g_block = f"g_block_{side}" if config.split_gblock else "g_block_both"
    return Route(fc, shared, fc_gblock, g_block,
                 f"decoder_{side}" if config.split_decoders else "decoder_both")


def build_part(name: str, config: PhazeAConfig, plan: Plan) -> nn.Module:
    """The sub-model faceswap calls `name`."""
    if name == "fc_gblock":
        bottleneck = [] if config.bottleneck_in_encoder else [Bottleneck(config,
                                                                         plan.encoder_shape)]
        return nn.Sequential(*bottleneck, dense_stack(plan.code_width, plan.gblock_nodes,
                                                      config.fc_gblock_dropout))
    if name.startswith("fc_"):
        return FullyConnected(config, plan)
    if name.startswith("g_block_"):
        return GBlock(plan.inter_shape[0], plan.gblock_nodes[-1])
    return Decoder(config, plan)


@register_model("phaze-a")
class PhazeA(SwapModel):
    """Each part is built once and kept by who uses it: decoders[side] if only that side,
    shared if both; _decode runs a side's route through them."""
    config_type = PhazeAConfig

    def __init__(self, config: PhazeAConfig) -> None:
        plan = make_plan(config)
        routes = {side: route(config, side) for side in SIDES}
        users: dict[str, set[str]] = {}
        for side, parts in routes.items():
            for name in parts:
                if name is not None:
                    users.setdefault(name, set()).add(side)
        built = {name: build_part(name, config, plan) for name in users}
        own = [nn.ModuleDict({name: built[name] for name in built if users[name] == {side}})
               for side in SIDES]
        super().__init__(config, Encoder(config, plan), *own)
        self.shared = nn.ModuleDict({name: built[name] for name in built
                                     if len(users[name]) == len(SIDES)})
        self.routes = routes

    def part(self, name: str) -> nn.Module:
        """A sub-model by faceswap's name (fc_a, fc_both, g_block_both, decoder_b, ...)."""
        for holder in (*self.decoders.values(), self.shared):
            if name in holder:
                return holder[name]
        raise KeyError(f"model phaze-a has no part {name!r} with these options")

    def _decode(self, code: Tensor, side: str) -> ModelOutput:
        parts = self.routes[side]
        face, mask = self.part(parts.fc)(code)
        if parts.shared_fc is not None:
            face = torch.cat([face, self.part(parts.shared_fc)(code)[0]], 1)
        if parts.g_block is not None and parts.fc_gblock is not None:
            face = self.part(parts.g_block)(face, self.part(parts.fc_gblock)(code))
        return self.part(parts.decoder)((face, mask))
