"""Layers Phaze-A needs beyond blocks.py: faceswap's RMS normalisation, Gaussian noise,
convolutions of any kernel, the output convolution of any kernel and the G-block
(lib/model/nn_blocks.py, normalization.py and Phaze-A's GBlock), in PyTorch; plus the
choice of blocks.py's upscalers by faceswap's method name.
"""
from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from pipeline.train.models.blocks import (
    LEAKY_SLOPE, RESIDUAL_SLOPE, Dense, SameConv2d, UpscaleBlock, Upscale2xBlock,
    UpscaleDNYBlock, UpscaleResizeImagesBlock, glorot_uniform, he_uniform, normalization)

Features = tuple[Tensor, Tensor | None]   # face features and, once split off, mask features


def he_normal(weight: Tensor) -> None:
    """Keras' he_normal: normal cut at two deviations, widened so what is kept has std
    sqrt(2 / fan_in)."""
    std = math.sqrt(2 / weight[0].numel()) / 0.87962566103423978
    nn.init.trunc_normal_(weight, std=std, a=-2 * std, b=2 * std)


class Conv(nn.Conv2d):
    """faceswap's Conv2D at stride 1 for any kernel: He uniform, zero bias. Padding "same"
    pads one more after than before for even kernels, as Keras does."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int,
                 padding: int | str = "same") -> None:
        super().__init__(in_channels, out_channels, kernel_size, padding=padding)

    def reset_parameters(self) -> None:
        he_uniform(self.weight)
        nn.init.zeros_(self.bias)


def conv_block(in_channels: int, filters: int, kernel_size: int, slope: float,
               padding: int | str = "same") -> nn.Sequential:
    """faceswap's Conv2DBlock at stride 1 for any kernel: Conv and LeakyReLU(slope)."""
    return nn.Sequential(Conv(in_channels, filters, kernel_size, padding),
                         nn.LeakyReLU(slope, inplace=True))


class GaussianNoise(nn.Module):
    """Keras GaussianNoise: adds N(0, stddev) noise while training, nothing in eval mode."""

    def __init__(self, stddev: float = 1.0) -> None:
        super().__init__()
        self.stddev = stddev

    def forward(self, x: Tensor) -> Tensor:
        return x + torch.randn_like(x) * self.stddev if self.training else x


class ChannelRMSNorm(nn.Module):
    """faceswap's RMSNormalization (axis=-1, epsilon 1e-8, no offset): each pixel divided by
    the root mean square of its channels, times a learned scale per channel."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.scale = nn.Parameter(torch.ones(channels))

    def forward(self, x: Tensor) -> Tensor:
        mean_square = x.square().mean(1, keepdim=True)
        return x * torch.rsqrt(mean_square + 1e-8) * self.scale.view(1, -1, 1, 1)


def make_norm(kind: str, channels: int) -> nn.Module:
    """Phaze-A's normalisation option: "none", "rms" or one of blocks.normalization's."""
    if kind == "none":
        return nn.Identity()
    if kind == "rms":
        return ChannelRMSNorm(channels)
    return normalization(kind, channels)


def upscaled_width(method: str, filters: int) -> int:
    """The channels an upscaler of `filters` makes: the hybrid's two halves are each
    filters - filters // 2 wide, one more than asked for in all when filters is odd."""
    return 2 * (filters - filters // 2) if method == "upscale_hybrid" else filters


def make_upscaler(method: str, in_channels: int, filters: int) -> nn.Module:
    """One x2 upscale by faceswap's method name, with its LeakyReLU."""
    if method == "subpixel":
        return UpscaleBlock(in_channels, filters)
    if method in ("upscale_fast", "upscale_hybrid"):
        return Upscale2xBlock(in_channels, filters, fast=method == "upscale_fast")
    if method == "resize_images":
        return UpscaleResizeImagesBlock(in_channels, filters)
    if method == "upscale_dny":
        return UpscaleDNYBlock(in_channels, filters)
    raise ValueError(f"unknown upscale method {method!r}")


class OutputConv(nn.Module):
    """faceswap's Conv2DOutput with any kernel: "same" convolution, sigmoid in float32 (so
    the output the losses read stays float32 under autocast)."""

    def __init__(self, in_channels: int, channels: int, kernel_size: int) -> None:
        super().__init__()
        self.conv = Conv(in_channels, channels, kernel_size)

    def forward(self, x: Tensor) -> Tensor:
        return torch.sigmoid(self.conv(x).float())


# ---- G-block -----------------------------------------------------------------------------

def ada_instance_norm(x: Tensor, beta: Tensor, gamma: Tensor) -> Tensor:
    """faceswap's AdaInstanceNormalization, in float32 as faceswap forces: each channel of
    each sample normalised over its pixels, (x - mean) / (std + 1e-3), then styled."""
    x = x.float()
    mean = x.mean((2, 3), keepdim=True)
    std = x.std((2, 3), keepdim=True, correction=0)
    styled = (x - mean) / (std + 1e-3) * gamma.float()[..., None, None]
    return styled + beta.float()[..., None, None]


class StyledConv(nn.Module):
    """One recursion of faceswap's _g_block: noise through a 1x1 convolution, optionally a
    3x3 convolution, AdaIN with two Dense styles, the noise added, LeakyReLU(0.2). The
    convolutions are plain Keras ones (Glorot uniform)."""

    def __init__(self, channels: int, style_width: int, convolve: bool) -> None:
        super().__init__()
        self.beta = Dense(style_width, channels)
        self.gamma = Dense(style_width, channels)
        self.noise = nn.Sequential(GaussianNoise(1.0),
                                   SameConv2d(channels, channels, 1, init=glorot_uniform))
        self.conv = SameConv2d(channels, channels, 3, init=glorot_uniform) if convolve else None

    def forward(self, x: Tensor, style: Tensor) -> Tensor:
        noise = self.noise(x)
        if self.conv is not None:
            x = self.conv(x)
        x = ada_instance_norm(x, self.beta(style), self.gamma(style)) + noise
        return nn.functional.leaky_relu(x, RESIDUAL_SLOPE)


class GBlock(nn.Module):
    """faceswap's G-block, after StyleGAN's AdaIN block: three Dense layers (512 nodes,
    he_normal) make a style from the shared g-block fully connected output; a 3x3
    convolution and noise, then two styled recursions, keep the side's feature width."""

    STYLE_NODES = 512
    STYLE_DEPTH = 3
    RECURSIONS = 2

    def __init__(self, channels: int, style_in: int) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        width = style_in
        for index in range(self.STYLE_DEPTH):
            layers.append(Dense(width, self.STYLE_NODES, init=he_normal))
            if index < self.STYLE_DEPTH - 1:
                layers.append(nn.LeakyReLU(LEAKY_SLOPE))
            width = self.STYLE_NODES
        self.style = nn.Sequential(*layers)
        self.entry = nn.Sequential(SameConv2d(channels, channels, 3), GaussianNoise(1.0))
        self.recursions = nn.ModuleList(
            StyledConv(channels, self.STYLE_NODES, convolve=index == self.RECURSIONS - 1)
            for index in range(self.RECURSIONS))

    def forward(self, x: Tensor, style: Tensor) -> Tensor:
        style = self.style(style)
        x = self.entry(x)
        for recursion in self.recursions:
            x = recursion(x, style)
        return x
