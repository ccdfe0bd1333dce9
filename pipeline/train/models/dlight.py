"""Faceswap's DLight model: a light, high-resolution dfaker variant, 128 px in, to 384 out.

AnDenix's model; structure and sizes follow faceswap's plugins/train/model/dlight.py.
Each of the encoder's five steps concatenates a ConvBlock with the average-pooled input
(so nothing the step saw is lost), then a Dense bottleneck (640, 1152 or 1664 nodes for
features lowmem, fair, best), dropout and a Dense to the 4x4x1024 code. Decoder A (the
old face) resizes the code bilinearly and upscales it with light hybrid Upscale2xBlocks;
decoder B (the new face) starts with a learnt upscale and, for details "good", has
residual and batch-normalised steps ("fast": plain fast Upscale2xBlocks). The upscale to
the output size (x2, x4 or x6, before four x2 steps) comes first, so a larger output
costs more in every layer. 143,612,726 parameters at default options (best, good,
256 px); 115,298,102 at 128 px and 190,803,766 at 384 px.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import Tensor, nn

from pipeline.train.models.blocks import (BranchDecoder, ConvBlock, ConvOutput, ResidualBlock,
                                          Upscale2xBlock, UpscaleBlock, dense_code, leaky,
                                          normalization)
from pipeline.train.models.registry import ModelConfig, SwapModel, fixed_size, register_model

FEATURES = {"lowmem": (48, 640), "fair": (64, 1152), "best": (64, 1664)}  # filters, nodes
CODE_CHANNELS = 1024
MASK_FILTERS = 128


@dataclass(frozen=True, kw_only=True)
class DlightConfig(ModelConfig):
    input_size: int = fixed_size(128, "input")
    output_size: int = field(default=256, metadata={
        "help": "Side of the output face in pixels (128, 256 or 384).",
        "choices": (128, 256, 384)})
    features: str = field(default="best", metadata={
        "help": "How many features (tattoos, piercings, wrinkles) the encoder can learn; "
                "strongly affects memory.", "choices": tuple(FEATURES)})
    details: str = field(default="good", metadata={
        "help": "Decoder B's detail: good is finer, fast can look rugged but trains faster.",
        "choices": ("fast", "good")})


class PoolConcat(nn.Module):
    """A ConvBlock beside the average-pooled, LeakyReLU(0.1) input, concatenated."""

    def __init__(self, in_channels: int, filters: int) -> None:
        super().__init__()
        self.conv = ConvBlock(in_channels, filters)
        self.pool = nn.Sequential(nn.AvgPool2d(2), leaky(0.1))

    def forward(self, x: Tensor) -> Tensor:
        return torch.cat([self.conv(x), self.pool(x)], 1)


def encoder(features: str) -> nn.Sequential:
    filters, nodes = FEATURES[features]
    layers: list[nn.Module] = []
    channels, side = 3, 128
    for k in (1, 2, 4, 8, 16):
        layers.append(PoolConcat(channels, filters * k // 2))
        channels, side = channels + filters * k // 2, side // 2
    flatten, first, second, unflatten = dense_code(channels * side * side, nodes,
                                                   CODE_CHANNELS, side)
    return nn.Sequential(*layers, flatten, first, nn.Dropout(0.05), second, nn.Dropout(0.05),
                         unflatten)


def hybrid_stack(in_channels: int, filters: int, fast: bool = False) -> list[nn.Module]:
    """Four Upscale2xBlocks halving from `filters`."""
    layers: list[nn.Module] = []
    for width in (filters, filters // 2, filters // 4, filters // 8):
        layers.append(Upscale2xBlock(in_channels, width, fast=fast))
        in_channels = width
    return layers


def mask_branch(in_channels: int, first: list[nn.Module]) -> nn.Sequential:
    return nn.Sequential(*first, *hybrid_stack(in_channels, MASK_FILTERS),
                         ConvOutput(MASK_FILTERS // 8, 1))


def decoder_a(config: DlightConfig, ratio: int) -> BranchDecoder:
    face = nn.Sequential(*hybrid_stack(CODE_CHANNELS, 256), ConvOutput(32, 3))
    mask = mask_branch(CODE_CHANNELS, []) if config.learn_mask else None
    return BranchDecoder(face, mask, nn.Upsample(scale_factor=ratio, mode="bilinear"))


def decoder_b_fast(config: DlightConfig, ratio: int) -> BranchDecoder:
    face = nn.Sequential(*hybrid_stack(512, 512, fast=True), ConvOutput(64, 3))
    mask = mask_branch(512, []) if config.learn_mask else None
    return BranchDecoder(face, mask, UpscaleBlock(CODE_CHANNELS, 512, scale=ratio))


def decoder_b(config: DlightConfig, ratio: int) -> BranchDecoder:
    def step(channels: int, filters: int, biases: tuple[bool, ...]) -> list[nn.Module]:
        return [Upscale2xBlock(channels, filters, act=None, fast=False), leaky(),
                *(ResidualBlock(filters, bias=bias) for bias in biases)]

    face = nn.Sequential(leaky(), *(ResidualBlock(512, bias=bias)
                                    for bias in (True, False, False)),
                         *step(512, 512, (True, False)), normalization("batch", 512),
                         *step(512, 256, (True,)), *step(256, 128, (False,)),
                         normalization("batch", 128),
                         Upscale2xBlock(128, 64, fast=False), ConvOutput(64, 3))
    mask = mask_branch(512, [leaky(0.1)]) if config.learn_mask else None
    stem = Upscale2xBlock(CODE_CHANNELS, 512, ratio, act=None, fast=False)
    return BranchDecoder(face, mask, stem)


@register_model("dlight")
class Dlight(SwapModel):
    config_type = DlightConfig

    def __init__(self, config: DlightConfig) -> None:
        ratio = config.output_size // 64
        make_b = decoder_b if config.details == "good" else decoder_b_fast
        super().__init__(config, encoder(config.features), decoder_a(config, ratio),
                         make_b(config, ratio))
