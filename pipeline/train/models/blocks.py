"""Faceswap's network blocks (lib/model/nn_blocks.py), written for PyTorch.

Initialisation follows faceswap's defaults: convolution kernels He uniform (faceswap's
default kernel initializer, U(+-sqrt(6 / fan_in))), dense kernels Glorot uniform (Keras'
Dense default, which faceswap keeps), every bias zero.
"""
from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn

from pipeline.train.models.registry import ModelOutput

LEAKY_SLOPE = 0.1  # faceswap's relu_alpha in Conv2DBlock and UpscaleBlock


class SameConv2d(nn.Conv2d):
    """nn.Conv2d with 'same' padding for odd kernels and He-uniform init.

    Output sizes are Keras' 'same' sizes, ceil(size / stride). Keras pads stride-2 5x5
    convolutions of even sizes asymmetrically (1 before, 2 after); we pad 2 on each side
    instead, which shifts the sampling grid by one pixel and leaves every shape unchanged:
    PyTorch has no asymmetric padding in the convolution itself, and the separate F.pad
    made the stride-2 convolutions 20-30% slower at batch 16 on CPU.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int,
                 stride: int = 1) -> None:
        if kernel_size % 2 == 0:
            raise ValueError(f"SameConv2d takes odd kernels, got {kernel_size}")
        super().__init__(in_channels, out_channels, kernel_size, stride, padding=kernel_size // 2)

    def reset_parameters(self) -> None:
        nn.init.kaiming_uniform_(self.weight, nonlinearity="relu")
        nn.init.zeros_(self.bias)


class Dense(nn.Linear):
    """nn.Linear initialised like Keras' Dense: Glorot-uniform kernel, zero bias."""

    def reset_parameters(self) -> None:
        nn.init.xavier_uniform_(self.weight)
        nn.init.zeros_(self.bias)


class ConvBlock(nn.Sequential):
    """Faceswap's Conv2DBlock: 5x5 stride-2 'same' convolution and LeakyReLU(0.1)."""

    def __init__(self, in_channels: int, filters: int) -> None:
        super().__init__(SameConv2d(in_channels, filters, 5, stride=2),
                         nn.LeakyReLU(LEAKY_SLOPE, inplace=True))


class UpscaleBlock(nn.Sequential):
    """Faceswap's UpscaleBlock: 3x3 convolution to 4x the filters, LeakyReLU(0.1), pixel shuffle x2.

    nn.PixelShuffle orders sub-pixels channel-major, faceswap's PixelShuffler (channels
    last) sub-pixel-major: the same layer up to a permutation of the convolution's filters.
    """

    def __init__(self, in_channels: int, filters: int) -> None:
        super().__init__(SameConv2d(in_channels, filters * 4, 3),
                         nn.LeakyReLU(LEAKY_SLOPE, inplace=True),
                         nn.PixelShuffle(2))


class ConvOutput(nn.Module):
    """Faceswap's Conv2DOutput: 5x5 'same' convolution and a sigmoid computed in float32.

    Under autocast the convolution runs in low precision; the sigmoid output, which the
    losses compare with the target, stays float32 (as faceswap does for mixed precision).
    """

    def __init__(self, in_channels: int, channels: int) -> None:
        super().__init__()
        self.conv = SameConv2d(in_channels, channels, 5)

    def forward(self, x: Tensor) -> Tensor:
        return torch.sigmoid(self.conv(x).float())


def upscale_stack(in_channels: int, filters: Sequence[int], out_channels: int) -> nn.Sequential:
    """UpscaleBlocks with the given filters, then a ConvOutput with out_channels."""
    layers: list[nn.Module] = []
    for width in filters:
        layers.append(UpscaleBlock(in_channels, width))
        in_channels = width
    layers.append(ConvOutput(in_channels, out_channels))
    return nn.Sequential(*layers)


class Decoder(nn.Module):
    """A face branch (3 channels) and, when learn_mask, a mask branch (1 channel) of the
    same upscale stack, both reading the encoder's code: faceswap's decoder layout."""

    def __init__(self, in_channels: int, filters: Sequence[int], learn_mask: bool) -> None:
        super().__init__()
        self.face = upscale_stack(in_channels, filters, 3)
        self.mask = upscale_stack(in_channels, filters, 1) if learn_mask else None

    def forward(self, code: Tensor) -> ModelOutput:
        return ModelOutput(self.face(code), None if self.mask is None else self.mask(code))
