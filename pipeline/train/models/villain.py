"""Faceswap's Villain model (VillainGuy's Original variant): 128 px in and out.

Structure and sizes follow faceswap's plugins/train/model/villain.py. The encoder starts
with a 128-filter ConvBlock and a chain of 16 ResidualBlocks (8 with lowmem) added back to
its LeakyReLU(0.1) output, then ConvBlocks and pixel shuffles, separable convolutions
down to 4x4x1024 (8x8x512 with lowmem), a Dense bottleneck of 1024 (512 with lowmem), a
Dense to 8x8x1024 and an UpscaleBlock to the 16x16x512 code. Each decoder upscales
through 512, 256 and 128 filters, each step with a ResidualBlock. Every kernel it picks
starts RandomNormal(0, 0.02). 155,115,014 parameters at default options, 118,660,614
with lowmem.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from torch import Tensor, nn

from pipeline.train.models.blocks import (BranchDecoder, ConvBlock, ConvOutput, ResidualBlock,
                                          SeparableConvBlock, UpscaleBlock, dense_code, leaky,
                                          random_normal, upscale_residual, upscale_stack)
from pipeline.train.models.registry import (ModelConfig, SwapModel, fixed_size, mark_subpixel,
                                            register_model)

DENSE_CHANNELS = 1024  # channels of the map the bottleneck expands to
DECODER_FILTERS = (512, 256, 128)


@dataclass(frozen=True, kw_only=True)
class VillainConfig(ModelConfig):
    input_size: int = fixed_size(128, "input")
    output_size: int = fixed_size(128, "output")
    lowmem: bool = field(default=False, metadata={
        "help": "Lower memory: 8 residual blocks instead of 16, no 1024-filter separable "
                "convolution and a 512-wide bottleneck."})


class ResidualChain(nn.Module):
    """The encoder's head: a ConvBlock without activation, ResidualBlocks on its
    LeakyReLU(0.2), plus its LeakyReLU(0.1): faceswap's long skip connection."""

    def __init__(self, filters: int, blocks: int) -> None:
        super().__init__()
        self.conv = ConvBlock(3, filters, act=None, init=random_normal)
        self.residuals = nn.Sequential(leaky(), *(ResidualBlock(filters, init=random_normal)
                                                  for _ in range(blocks)))
        self.skip = leaky(0.1)

    def forward(self, x: Tensor) -> Tensor:
        x = self.conv(x)
        return self.residuals(x) + self.skip(x)


def shuffled_conv(in_channels: int) -> list[nn.Module]:
    """A 128-filter ConvBlock whose output is pixel shuffled to a quarter of the channels."""
    block = ConvBlock(in_channels, 128, init=random_normal)
    mark_subpixel(block[0], 2)
    return [block, nn.PixelShuffle(2)]


def encoder(config: VillainConfig) -> nn.Sequential:
    convs = [*shuffled_conv(128), *shuffled_conv(32), ConvBlock(32, 128, init=random_normal),
             SeparableConvBlock(128, 256), ConvBlock(256, 512, init=random_normal)]
    if not config.lowmem:
        convs.append(SeparableConvBlock(512, 1024))
    size = config.input_size
    channels, side = (512, size // 16) if config.lowmem else (1024, size // 32)
    return nn.Sequential(ResidualChain(128, 8 if config.lowmem else 16), *convs,
                         *dense_code(channels * side * side, 512 if config.lowmem else 1024,
                                     DENSE_CHANNELS, size // 16, init=random_normal),
                         UpscaleBlock(DENSE_CHANNELS, 512, init=random_normal))


def face_branch() -> nn.Sequential:
    layers: list[nn.Module] = []
    channels = 512
    for width in DECODER_FILTERS:
        layers += upscale_residual(channels, width, upscale_init=random_normal,
                                   residual_init=random_normal)
        channels = width
    return nn.Sequential(*layers, ConvOutput(channels, 3))


@register_model("villain")
class Villain(SwapModel):
    config_type = VillainConfig

    def __init__(self, config: VillainConfig) -> None:
        decoders = [BranchDecoder(face_branch(),
                                  upscale_stack(512, DECODER_FILTERS, 1) if config.learn_mask
                                  else None)
                    for _ in range(2)]
        super().__init__(config, encoder(config), *decoders)
