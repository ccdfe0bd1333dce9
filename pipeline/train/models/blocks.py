"""Faceswap's network blocks (lib/model/nn_blocks.py), written for PyTorch.

Initialisation follows faceswap's defaults: convolution kernels He uniform (faceswap's
default kernel initializer, U(+-sqrt(6 / fan_in))), dense kernels Glorot uniform (Keras'
Dense default, which faceswap keeps), every bias zero. Models that ask for faceswap's
RandomNormal(0, 0.02) pass `init=random_normal`. Normalisation layers keep Keras'
epsilon (1e-3) and momentum (0.99, which is PyTorch's 0.01).

Activations are in place only on a tensor their own block just made: a branch's first
activation never overwrites what another branch also reads.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from pipeline.train.models.registry import ModelOutput, mark_subpixel

LEAKY_SLOPE = 0.1     # faceswap's relu_alpha in Conv2DBlock and UpscaleBlock
RESIDUAL_SLOPE = 0.2  # the LeakyReLU alpha around faceswap's (dfaker's) residual blocks
KERAS_EPS = 1e-3      # Keras' BatchNormalization / LayerNormalization epsilon, faceswap's too
GROUPS = 32           # faceswap's GroupNormalization groups
ACTIVATIONS = ("leakyrelu", "prelu", "swish")
NORMALIZATIONS = ("batch", "group", "instance", "layer")

Initializer = Callable[[Tensor], object]


def he_uniform(weight: Tensor) -> None:
    """faceswap's default convolution kernel: U(+-sqrt(6 / fan_in))."""
    nn.init.kaiming_uniform_(weight, nonlinearity="relu")


def glorot_uniform(weight: Tensor) -> None:
    """Keras' default kernel (Dense, SeparableConv2D): U(+-sqrt(6 / (fan_in + fan_out)))."""
    nn.init.xavier_uniform_(weight)


def random_normal(weight: Tensor) -> None:
    """faceswap's RandomNormal(0, 0.02), which dfaker-family models ask for."""
    nn.init.normal_(weight, 0.0, 0.02)


def residual_uniform(weight: Tensor) -> None:
    """VarianceScaling(0.2, fan_in, uniform): the residual block's second kernel, small so
    each block starts close to the identity."""
    fan_in = weight[0].numel()
    bound = (3 * 0.2 / fan_in) ** 0.5
    nn.init.uniform_(weight, -bound, bound)


class SameConv2d(nn.Conv2d):
    """nn.Conv2d with 'same' padding for odd kernels and (by default) He-uniform init.

    Output sizes are Keras' 'same' sizes, ceil(size / stride). Keras pads stride-2 5x5
    convolutions of even sizes asymmetrically (1 before, 2 after); we pad 2 on each side
    instead, which shifts the sampling grid by one pixel and leaves every shape unchanged:
    PyTorch has no asymmetric padding in the convolution itself, and the separate F.pad
    made the stride-2 convolutions 20-30% slower at batch 16 on CPU.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int,
                 stride: int = 1, *, groups: int = 1, bias: bool = True,
                 init: Initializer = he_uniform) -> None:
        if kernel_size % 2 == 0:
            raise ValueError(f"SameConv2d takes odd kernels, got {kernel_size}")
        self.init = init  # read by reset_parameters, which nn.Conv2d.__init__ calls
        super().__init__(in_channels, out_channels, kernel_size, stride,
                         padding=kernel_size // 2, groups=groups, bias=bias)

    def reset_parameters(self) -> None:
        self.init(self.weight)
        if self.bias is not None:
            nn.init.zeros_(self.bias)


class Dense(nn.Linear):
    """nn.Linear initialised like Keras' Dense: Glorot-uniform kernel (or `init`), zero bias."""

    def __init__(self, in_features: int, out_features: int, *,
                 init: Initializer = glorot_uniform) -> None:
        self.init = init  # read by reset_parameters, which nn.Linear.__init__ calls
        super().__init__(in_features, out_features)

    def reset_parameters(self) -> None:
        self.init(self.weight)
        nn.init.zeros_(self.bias)


class ChannelLayerNorm(nn.Module):
    """Keras' LayerNormalization(axis=-1) on N x C x H x W: each pixel over its channels."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.norm = nn.LayerNorm(channels, eps=KERAS_EPS)

    def forward(self, x: Tensor) -> Tensor:
        return self.norm(x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)


class InstanceNorm(nn.Module):
    """faceswap's InstanceNormalization as its blocks make it (axis=None): each sample
    over all its values, one learnt scale and offset, epsilon added to the deviation."""

    def __init__(self) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.ones(1))
        self.bias = nn.Parameter(torch.zeros(1))

    def forward(self, x: Tensor) -> Tensor:
        dims = tuple(range(1, x.dim()))
        mean = x.mean(dims, keepdim=True)
        deviation = x.std(dims, keepdim=True, correction=0)
        return (x - mean) / (deviation + KERAS_EPS) * self.weight + self.bias


def normalization(kind: str, channels: int) -> nn.Module:
    """faceswap's normalisation layer `kind` for `channels` feature maps."""
    if kind == "batch":
        return nn.BatchNorm2d(channels, eps=KERAS_EPS, momentum=0.01)
    if kind == "instance":
        return InstanceNorm()
    if kind == "layer":
        return ChannelLayerNorm(channels)
    if kind == "group":
        if channels % GROUPS:
            raise ValueError(f"group normalization needs a multiple of {GROUPS} channels, "
                             f"got {channels}")
        return nn.GroupNorm(GROUPS, channels, eps=1e-6)
    raise ValueError(f"normalization must be one of {', '.join(NORMALIZATIONS)}, got {kind!r}")


def activation(kind: str, channels: int, slope: float = LEAKY_SLOPE) -> nn.Module:
    """faceswap's block activation `kind`, in place (it follows the block's own layer).

    PReLU learns one slope per channel, starting at 0 as Keras' does (Keras' default
    learns one per position, which would tie a block to one input size).
    """
    if kind == "leakyrelu":
        return nn.LeakyReLU(slope, inplace=True)
    if kind == "swish":
        return nn.SiLU(inplace=True)
    if kind == "prelu":
        return nn.PReLU(channels, init=0.0)
    raise ValueError(f"activation must be one of {', '.join(ACTIVATIONS)}, got {kind!r}")


def _post_layers(channels: int, norm: str | None, act: str | None,
                 slope: float) -> list[nn.Module]:
    """The normalisation and activation that follow a block's convolution."""
    layers = [] if norm is None else [normalization(norm, channels)]
    return layers if act is None else [*layers, activation(act, channels, slope)]


class ConvBlock(nn.Sequential):
    """Faceswap's Conv2DBlock: a 'same' convolution (5x5 stride 2 unless told), optional
    normalisation and an activation (LeakyReLU(0.1) unless told)."""

    def __init__(self, in_channels: int, filters: int, kernel_size: int = 5, stride: int = 2,
                 *, norm: str | None = None, act: str | None = "leakyrelu",
                 slope: float = LEAKY_SLOPE, bias: bool = True,
                 init: Initializer = he_uniform) -> None:
        super().__init__(SameConv2d(in_channels, filters, kernel_size, stride, bias=bias,
                                    init=init),
                         *_post_layers(filters, norm, act, slope))


class SeparableConvBlock(nn.Sequential):
    """Faceswap's SeparableConv2DBlock: depthwise 'same' convolution (5x5 stride 2), 1x1
    pointwise convolution with a bias, ReLU. Both kernels Glorot uniform: Keras'
    SeparableConv2D ignores the kernel_initializer faceswap hands it."""

    def __init__(self, in_channels: int, filters: int, kernel_size: int = 5,
                 stride: int = 2) -> None:
        super().__init__(SameConv2d(in_channels, in_channels, kernel_size, stride,
                                    groups=in_channels, bias=False, init=glorot_uniform),
                         SameConv2d(in_channels, filters, 1, init=glorot_uniform),
                         nn.ReLU(inplace=True))


class UpscaleBlock(nn.Sequential):
    """Faceswap's UpscaleBlock: 'same' convolution (3x3 unless told) to scale**2 times the
    filters, optional normalisation and activation (LeakyReLU(0.1) unless told), pixel
    shuffle by `scale`.

    nn.PixelShuffle orders sub-pixels channel-major, faceswap's PixelShuffler (channels
    last) sub-pixel-major: the same layer up to a permutation of the convolution's filters.
    """

    def __init__(self, in_channels: int, filters: int, kernel_size: int = 3, scale: int = 2,
                 *, norm: str | None = None, act: str | None = "leakyrelu",
                 slope: float = LEAKY_SLOPE, init: Initializer = he_uniform) -> None:
        conv = SameConv2d(in_channels, filters * scale ** 2, kernel_size, init=init)
        super().__init__(mark_subpixel(conv, scale),
                         *_post_layers(filters * scale ** 2, norm, act, slope),
                         nn.PixelShuffle(scale))


class Upscale2xBlock(nn.Module):
    """Faceswap's hybrid Upscale2xBlock: sub-pixel detail plus interpolated lighting.

    Not fast: an UpscaleBlock and a 3x3 convolution upsampled bilinearly each make half
    the filters (rounded up), concatenated. Fast: each makes all the filters; they are
    added.
    """

    def __init__(self, in_channels: int, filters: int, scale: int = 2, *, fast: bool,
                 act: str | None = "leakyrelu") -> None:
        super().__init__()
        self.fast = fast
        width = filters if fast else filters - filters // 2
        self.shuffle = UpscaleBlock(in_channels, width, scale=scale, act=act)
        self.conv = SameConv2d(in_channels, width, 3)
        self.scale = scale

    def forward(self, x: Tensor) -> Tensor:
        shuffled = self.shuffle(x)
        resized = F.interpolate(self.conv(x), scale_factor=self.scale, mode="bilinear")
        return shuffled + resized if self.fast else torch.cat([shuffled, resized], 1)


class UpscaleResizeImagesBlock(nn.Module):
    """Faceswap's UpscaleResizeImagesBlock: a bilinear 2x resize then a 'same' convolution,
    added to a 3x3 stride-2 transposed convolution, then LeakyReLU(0.2) (or `act`)."""

    def __init__(self, in_channels: int, filters: int, kernel_size: int = 3, *,
                 act: str | None = "leakyrelu") -> None:
        super().__init__()
        self.conv = SameConv2d(in_channels, filters, kernel_size)
        self.transposed = nn.ConvTranspose2d(in_channels, filters, 3, stride=2, padding=1,
                                             output_padding=1)
        glorot_uniform(self.transposed.weight)  # Keras' Conv2DTranspose default
        nn.init.zeros_(self.transposed.bias)
        self.act = None if act is None else activation(act, filters, RESIDUAL_SLOPE)

    def forward(self, x: Tensor) -> Tensor:
        resized = self.conv(F.interpolate(x, scale_factor=2, mode="bilinear"))
        out = resized + self.transposed(x)
        return out if self.act is None else self.act(out)


class UpscaleDNYBlock(nn.Sequential):
    """Faceswap's UpscaleDNYBlock (after Disney Research's face swapping): bilinear
    upsampling, then two stride-1 ConvBlocks with LeakyReLU(0.2)."""

    def __init__(self, in_channels: int, filters: int, kernel_size: int = 3, scale: int = 2,
                 *, act: str | None = "leakyrelu") -> None:
        super().__init__(nn.Upsample(scale_factor=scale, mode="bilinear"),
                         ConvBlock(in_channels, filters, kernel_size, 1, act=act,
                                   slope=RESIDUAL_SLOPE),
                         ConvBlock(filters, filters, kernel_size, 1, act=act,
                                   slope=RESIDUAL_SLOPE))


class ResidualBlock(nn.Module):
    """Faceswap's (dfaker's) ResidualBlock: conv, LeakyReLU(0.2), conv started small,
    plus the input, LeakyReLU(0.2). `init` is the first kernel's initialiser."""

    def __init__(self, filters: int, kernel_size: int = 3, *, bias: bool = True,
                 init: Initializer = he_uniform) -> None:
        super().__init__()
        self.conv1 = SameConv2d(filters, filters, kernel_size, bias=bias, init=init)
        self.conv2 = SameConv2d(filters, filters, kernel_size, bias=bias, init=residual_uniform)

    def forward(self, x: Tensor) -> Tensor:
        out = F.leaky_relu(self.conv1(x), RESIDUAL_SLOPE, inplace=True)
        return F.leaky_relu(self.conv2(out) + x, RESIDUAL_SLOPE, inplace=True)


def leaky(slope: float = RESIDUAL_SLOPE) -> nn.LeakyReLU:
    """A LeakyReLU that starts a branch or follows a block without activation: not in
    place, since what it reads may be read again."""
    return nn.LeakyReLU(slope)


def upscale_residual(in_channels: int, filters: int, biases: Sequence[bool] = (True,), *,
                     kernel_size: int = 3, upscale_init: Initializer = he_uniform,
                     residual_init: Initializer = he_uniform) -> list[nn.Module]:
    """dfaker's decoder step: UpscaleBlock without activation, LeakyReLU(0.2), then one
    ResidualBlock per entry of `biases` (whether its convolutions have biases)."""
    return [UpscaleBlock(in_channels, filters, kernel_size, act=None, init=upscale_init),
            leaky(), *(ResidualBlock(filters, bias=bias, init=residual_init) for bias in biases)]


def conv_stack(in_channels: int, filters: Sequence[int], *,
               init: Initializer = he_uniform) -> list[ConvBlock]:
    """ConvBlocks (5x5 stride 2, LeakyReLU(0.1)) with the given filters, in order."""
    channels = [in_channels, *filters]
    return [ConvBlock(channels[i], channels[i + 1], init=init) for i in range(len(filters))]


def dense_code(in_features: int, width: int, channels: int, side: int, *,
               init: Initializer = glorot_uniform) -> list[nn.Module]:
    """The original-family bottleneck: Flatten, Dense to `width`, Dense to a side x side
    map of `channels`, reshaped."""
    return [nn.Flatten(), Dense(in_features, width, init=init),
            Dense(width, channels * side * side, init=init),
            nn.Unflatten(1, (channels, side, side))]


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


class BranchDecoder(nn.Module):
    """A face branch and an optional mask branch reading the same input, after an
    optional shared stem: the layout of every faceswap decoder."""

    def __init__(self, face: nn.Module, mask: nn.Module | None,
                 stem: nn.Module | None = None) -> None:
        super().__init__()
        self.stem = stem
        self.face = face
        self.mask = mask

    def forward(self, code: Tensor) -> ModelOutput:
        x = code if self.stem is None else self.stem(code)
        return ModelOutput(self.face(x), None if self.mask is None else self.mask(x))


class Decoder(BranchDecoder):
    """A face branch (3 channels) and, when learn_mask, a mask branch (1 channel) of the
    same upscale stack, both reading the encoder's code: faceswap's decoder layout."""

    def __init__(self, in_channels: int, filters: Sequence[int], learn_mask: bool) -> None:
        super().__init__(upscale_stack(in_channels, filters, 3),
                         upscale_stack(in_channels, filters, 1) if learn_mask else None)
