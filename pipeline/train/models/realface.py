"""Faceswap's RealFace model ("Pegasus"): 64 to 128 px in, 64 to 256 px out.

Structure and sizes follow faceswap's plugins/train/model/realface.py. The encoder is
four stride-2 ConvBlocks of complexity_encoder x (1, 2, 4, 8) filters, the first three
each followed by two ResidualBlocks. Each decoder holds its own Dense bottleneck
(dense_nodes), a Dense to a small map (4 to 9 px a side, chosen so that its upscales
reach the output size from the input size's 1/16 closest) and upscale steps with
ResidualBlocks. Decoder A is the lighter one: two thirds of the nodes, filters and
complexity, and no residual blocks after its first step, as faceswap makes it.
The mask branches (learn_mask) upscale from 384 filters. 238,241,676 parameters at
default options (64 px in, 128 px out).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

from torch import nn

from pipeline.train.models.blocks import (BranchDecoder, ConvBlock, ConvOutput, ResidualBlock,
                                          UpscaleBlock, dense_code, leaky, upscale_residual)
from pipeline.train.models.registry import ModelConfig, SwapModel, register_model, size_choices

DOWNSCALES = 4      # the encoder's stride-2 blocks: its map is 1/16 of the input's side
MASK_FILTERS = 384  # the mask branches' first upscale


@dataclass(frozen=True, kw_only=True)
class RealfaceConfig(ModelConfig):
    input_size: int = size_choices(64, 64, 128, 16, "input")
    output_size: int = size_choices(128, 64, 256, 32, "output")
    dense_nodes: int = field(default=1536, metadata={
        "help": "Width of decoder B's Dense bottleneck (A's is two thirds): fewer nodes "
                "predict fewer details.", "bounds": (768, 2048)})
    complexity_encoder: int = field(default=128, metadata={
        "help": "Filters of the encoder's first convolution (doubled at each of the next "
                "three).", "bounds": (96, 160)})
    complexity_decoder: int = field(default=512, metadata={
        "help": "Filters of decoder B's first upscale after the bottleneck (A's is two "
                "thirds).", "bounds": (512, 544)})


class Layout(NamedTuple):
    width: int      # side of the map the Dense bottleneck makes
    upscales: int   # upscale steps from that map to the output


def layout(input_size: int, output_size: int) -> Layout:
    """faceswap's choice: of the maps (output / 16 or / 32, under 10 px) the one whose
    side x 16 is closest to the input size (the first on a tie)."""
    options = [Layout(output_size // 2 ** n, n) for n in (4, 5) if output_size // 2 ** n < 10]
    return min(options, key=lambda o: abs(o.width * 2 ** DOWNSCALES - input_size))


def dense_filters(width: int) -> int:
    """faceswap's channels of the bottleneck's map: fewer for a wider map."""
    return (1024 - (width - 4) * 64) // 16 * 16


def encoder(complexity: int) -> nn.Sequential:
    layers: list[nn.Module] = []
    channels = 3
    for i in range(DOWNSCALES - 1):
        filters = complexity * 2 ** i
        layers += [ConvBlock(channels, filters, act=None), leaky(),
                   ResidualBlock(filters), ResidualBlock(filters)]
        channels = filters
    return nn.Sequential(*layers, ConvBlock(channels, complexity * 2 ** (DOWNSCALES - 1)))


def mask_branch(filters: int, upscales: int) -> nn.Sequential:
    """LeakyReLU(0.1) on the stem, upscales halving from MASK_FILTERS, the output."""
    widths = [MASK_FILTERS // 2 ** i for i in range(upscales - 2)]
    widths.append(widths[-1] // 2)
    layers: list[nn.Module] = [leaky(0.1)]
    for width in widths:
        layers.append(UpscaleBlock(filters, width))
        filters = width
    return nn.Sequential(*layers, ConvOutput(filters, 1))


def face_branch(filters: int, complexity: int, upscales: int, residual: bool) -> nn.Sequential:
    """LeakyReLU(0.2), a ResidualBlock without biases, upscales halving from `complexity`
    (with two ResidualBlocks each when `residual`), a last plain upscale, the output."""
    layers: list[nn.Module] = [leaky(), ResidualBlock(filters, bias=False)]
    for i in range(upscales - 2):
        width = complexity // 2 ** i
        layers += (upscale_residual(filters, width, (False, True)) if residual
                   else [UpscaleBlock(filters, width)])
        filters = width
    last = complexity // 2 ** (upscales - 2)
    return nn.Sequential(*layers, UpscaleBlock(filters, last), ConvOutput(last, 3))


def decoder(config: RealfaceConfig, divisor: float, residual: bool) -> BranchDecoder:
    """A decoder whose nodes, map channels and complexity are B's over `divisor`."""
    shape = layout(config.input_size, config.output_size)
    features = config.complexity_encoder * 2 ** (DOWNSCALES - 1) * (
        config.input_size // 2 ** DOWNSCALES) ** 2
    channels = int(dense_filters(shape.width) / divisor)
    stem = nn.Sequential(*dense_code(features, int(config.dense_nodes / divisor), channels,
                                     shape.width),
                         UpscaleBlock(channels, channels, act=None))
    face = face_branch(channels, int(config.complexity_decoder / divisor), shape.upscales,
                       residual)
    mask = mask_branch(channels, shape.upscales) if config.learn_mask else None
    return BranchDecoder(face, mask, stem)


@register_model("realface")
class Realface(SwapModel):
    config_type = RealfaceConfig

    def __init__(self, config: RealfaceConfig) -> None:
        super().__init__(config, encoder(config.complexity_encoder),
                         decoder(config, 1.5, residual=False),
                         decoder(config, 1.0, residual=True))
