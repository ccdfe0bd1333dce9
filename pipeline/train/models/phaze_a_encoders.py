"""Phaze-A's encoder architectures, written in PyTorch from their published layer lists.

fs_original is faceswap's own configurable encoder. resnet50 (He et al. 2015, Keras'
ResNet50 layout: stride on the first 1x1 convolution of a block) and mobilenet_v2 (Sandler
et al. 2018, Keras' MobileNetV2 layout and width rounding) are the convolutional bodies of
Keras Applications without their classifier tops, randomly initialised as Keras does
(Glorot-uniform kernels): swapdeck downloads no ImageNet weights. encoder_shape works out
what a body makes without building it, so a config can be checked cheaply.
"""
from __future__ import annotations

from typing import NamedTuple

from torch import Tensor, nn

from pipeline.train.models.blocks import RESIDUAL_SLOPE, ConvBlock
from pipeline.train.models.phaze_a_blocks import conv_block

Shape = tuple[int, int, int]   # channels, height, width


class EncoderInfo(NamedTuple):
    default_size: int          # the architecture's native input side, which enc_scaling scales
    min_size: int              # the smallest side it accepts
    signed_input: bool         # takes faces in [-1, 1] rather than [0, 1]


ENCODERS = {
    "fs_original": EncoderInfo(default_size=1024, min_size=32, signed_input=False),
    "mobilenet_v2": EncoderInfo(default_size=224, min_size=32, signed_input=True),
    "resnet50": EncoderInfo(default_size=224, min_size=32, signed_input=True),
}


class EncoderOptions(NamedTuple):
    architecture: str
    size: int                  # input side in pixels
    fs_depth: int
    fs_min_filters: int
    fs_max_filters: int
    fs_use_alt: bool
    mobilenet_width: float


def input_size(architecture: str, scaling: int) -> int:
    """faceswap's rule: the native size scaled by enc_scaling percent, rounded down to a
    multiple of 16, never below the architecture's minimum."""
    info = ENCODERS[architecture]
    return max(info.min_size, info.default_size * scaling // 1600 * 16)


def halve_up(size: int, times: int) -> int:
    """The side after `times` stride-2 'same' convolutions: ceil(size / 2) each time."""
    for _ in range(times):
        size = -(-size // 2)
    return size


def encoder_shape(options: EncoderOptions) -> Shape:
    """What the encoder body makes of one face, worked out without building it. The side is
    0 or less when the input is too small for the alternate fs_original encoder."""
    if options.architecture == "resnet50":
        return RESNET50_CHANNELS, halve_up(options.size, 5), halve_up(options.size, 5)
    if options.architecture == "mobilenet_v2":
        channels = mobilenet_v2_channels(options.mobilenet_width)
        return channels, halve_up(options.size, 5), halve_up(options.size, 5)
    channels = fs_original_filters(options.fs_depth, options.fs_min_filters,
                                   options.fs_max_filters)[-1]
    if options.fs_use_alt:
        channels = min(options.fs_max_filters, channels * 2)
        side = (options.size >> (options.fs_depth - 1)) - 3   # pools, then a 'valid' 4x4
    else:
        side = halve_up(options.size, options.fs_depth)
    return channels, side, side


def build_encoder_body(options: EncoderOptions) -> nn.Module:
    if options.architecture == "resnet50":
        return resnet50()
    if options.architecture == "mobilenet_v2":
        return mobilenet_v2(options.mobilenet_width)
    return fs_original(options.fs_depth, options.fs_min_filters, options.fs_max_filters,
                       options.fs_use_alt)


# ---- faceswap's encoder --------------------------------------------------------------------

def fs_original_filters(depth: int, min_filters: int, max_filters: int) -> list[int]:
    """Filters double from min_filters each layer, capped at max_filters."""
    filters, widths = min_filters, []
    for _ in range(depth):
        widths.append(filters)
        filters = min(max_filters, filters * 2)
    return widths


def fs_original(depth: int, min_filters: int, max_filters: int, use_alt: bool) -> nn.Module:
    """faceswap's configurable Original encoder.

    Plain: `depth` 5x5 stride-2 convolutions with LeakyReLU(0.1), as in the Original model.
    Alternate: a 1x1 convolution, then per level two 3x3 convolutions and a 2x2 max pool, the
    last level ending in a 'valid' 4x4 convolution instead; LeakyReLU(0.2) throughout.
    """
    widths = fs_original_filters(depth, min_filters, max_filters)
    if not use_alt:
        return nn.Sequential(*(ConvBlock(channels, filters)
                               for channels, filters in zip([3, *widths], widths)))
    slope = RESIDUAL_SLOPE   # the alternate encoder's LeakyReLU(0.2)
    layers: list[nn.Module] = [ConvBlock(3, min_filters, 1, 1, slope=slope)]
    channels = min_filters
    for level, filters in enumerate(widths):
        following = min(max_filters, filters * 2)
        layers.append(ConvBlock(channels, filters, 3, 1, slope=slope))
        if level == depth - 1:
            layers.append(conv_block(filters, following, 4, slope, padding=0))
        else:
            layers += [ConvBlock(filters, following, 3, 1, slope=slope), nn.MaxPool2d(2)]
        channels = following
    return nn.Sequential(*layers)


# ---- Keras Applications bodies ---------------------------------------------------------------

def glorot_init(module: nn.Module) -> None:
    """Keras' default initialisation for an application without weights: Glorot-uniform
    convolution kernels, zero biases (batch norms keep PyTorch's ones and zeros, as Keras)."""
    for layer in module.modules():
        if isinstance(layer, nn.Conv2d):
            nn.init.xavier_uniform_(layer.weight)
            if layer.bias is not None:
                nn.init.zeros_(layer.bias)


def resnet_norm(channels: int) -> nn.BatchNorm2d:
    return nn.BatchNorm2d(channels, eps=1.001e-5, momentum=0.01)   # Keras ResNet's settings


class ResNetBlock(nn.Module):
    """Keras ResNet50's bottleneck block: 1x1 (carrying the stride), 3x3, 1x1 to 4x filters,
    each with batch norm; a projection shortcut on a stage's first block."""

    def __init__(self, in_channels: int, filters: int, stride: int, project: bool) -> None:
        super().__init__()
        out = 4 * filters
        self.body = nn.Sequential(
            nn.Conv2d(in_channels, filters, 1, stride=stride), resnet_norm(filters),
            nn.ReLU(inplace=True),
            nn.Conv2d(filters, filters, 3, padding=1), resnet_norm(filters), nn.ReLU(inplace=True),
            nn.Conv2d(filters, out, 1), resnet_norm(out))
        self.shortcut = (nn.Sequential(nn.Conv2d(in_channels, out, 1, stride=stride),
                                       resnet_norm(out)) if project else nn.Identity())
        self.activation = nn.ReLU(inplace=True)

    def forward(self, x: Tensor) -> Tensor:
        return self.activation(self.body(x) + self.shortcut(x))


RESNET50_STAGES = ((64, 3, 1), (128, 4, 2), (256, 6, 2), (512, 3, 2))  # filters, blocks, stride
RESNET50_CHANNELS = 4 * RESNET50_STAGES[-1][0]


def resnet50() -> nn.Module:
    """ResNet50 without its top: 7x7/2 stem and 3x3/2 max pool, then 3-4-6-3 bottleneck
    blocks; 2048 channels at 1/32 of the input side. 23.5 M parameters."""
    layers: list[nn.Module] = [nn.Conv2d(3, 64, 7, stride=2, padding=3), resnet_norm(64),
                               nn.ReLU(inplace=True), nn.MaxPool2d(3, stride=2, padding=1)]
    channels = 64
    for filters, blocks, stride in RESNET50_STAGES:
        for index in range(blocks):
            layers.append(ResNetBlock(channels, filters, stride if index == 0 else 1,
                                      project=index == 0))
            channels = 4 * filters
    body = nn.Sequential(*layers)
    glorot_init(body)
    return body


def make_divisible(value: float, divisor: int = 8) -> int:
    """MobileNet's width rounding: to the nearest multiple of 8, never down by more than 10%."""
    rounded = max(divisor, int(value + divisor / 2) // divisor * divisor)
    return rounded + divisor if rounded < 0.9 * value else rounded


def mobilenet_norm(channels: int) -> nn.BatchNorm2d:
    return nn.BatchNorm2d(channels, eps=1e-3, momentum=0.001)   # Keras MobileNetV2's settings


def mobilenet_conv(in_channels: int, out_channels: int, kernel_size: int, stride: int = 1,
                   groups: int = 1, activate: bool = True) -> list[nn.Module]:
    """Convolution without bias, batch norm, and ReLU6 unless it is a linear projection."""
    layers: list[nn.Module] = [
        nn.Conv2d(in_channels, out_channels, kernel_size, stride=stride,
                  padding=kernel_size // 2, groups=groups, bias=False),
        mobilenet_norm(out_channels)]
    if activate:
        layers.append(nn.ReLU6(inplace=True))
    return layers


class InvertedResidual(nn.Module):
    """MobileNetV2's block: 1x1 expansion (not in the first block), 3x3 depthwise, linear 1x1
    projection; the input is added back when the shape is unchanged."""

    def __init__(self, in_channels: int, out_channels: int, stride: int, expansion: int) -> None:
        super().__init__()
        hidden = in_channels * expansion
        layers = mobilenet_conv(in_channels, hidden, 1) if expansion != 1 else []
        layers += mobilenet_conv(hidden, hidden, 3, stride, groups=hidden)
        layers += mobilenet_conv(hidden, out_channels, 1, activate=False)
        self.body = nn.Sequential(*layers)
        self.residual = stride == 1 and in_channels == out_channels

    def forward(self, x: Tensor) -> Tensor:
        return x + self.body(x) if self.residual else self.body(x)


# filters, repeats, first stride, expansion (Sandler et al. 2018, table 2)
MOBILENET_V2_STAGES = ((16, 1, 1, 1), (24, 2, 2, 6), (32, 3, 2, 6), (64, 4, 2, 6),
                       (96, 3, 1, 6), (160, 3, 2, 6), (320, 1, 1, 6))


def mobilenet_v2_channels(width: float) -> int:
    """The width of MobileNetV2's last convolution: 1280, widened with the multiplier above 1."""
    return make_divisible(1280 * width) if width > 1.0 else 1280


def mobilenet_v2(width: float) -> nn.Module:
    """MobileNetV2 without its top at width multiplier `width`: 3x3/2 stem, 17 inverted
    residual blocks, a 1x1 convolution to 1280 channels (more when width > 1); 1/32 of the
    input side. 2.2 M parameters at width 1."""
    channels = make_divisible(32 * width)
    layers = mobilenet_conv(3, channels, 3, stride=2)
    for filters, repeats, stride, expansion in MOBILENET_V2_STAGES:
        out = make_divisible(int(filters * width))
        for index in range(repeats):
            layers.append(InvertedResidual(channels, out, stride if index == 0 else 1,
                                           expansion))
            channels = out
    layers += mobilenet_conv(channels, mobilenet_v2_channels(width), 1)
    body = nn.Sequential(*layers)
    glorot_init(body)
    return body
