"""Faceswap's Unbalanced model: 64 to 512 px in and out, decoder B stronger than A.

Structure and sizes follow faceswap's plugins/train/model/unbalanced.py. The encoder is
five stride-2 ConvBlocks of complexity_encoder x (1, 2, 4, 6, 8) filters (the first two
instance-normalised), a Dense bottleneck of `nodes` and a Dense to a map of 1/16 the
input's side and 512 channels. Decoder A is four 5x5 UpscaleBlocks with spatial dropout;
decoder B adds a ResidualBlock after each of its first three upscales. lowmem fixes the
sizes smaller (encoder 128, nodes 512, 384-channel map, decoders 320 and 384, no residual
blocks). Kernels the model picks start RandomNormal(0, 0.02). faceswap reads
complexity_decoder_b as decoder B's input depth, which breaks every value but 512; here it
is decoder B's complexity, as its help says (512 builds faceswap's model).
207,046,186 parameters at default options (128 px), 107,962,506 with lowmem.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from torch import nn

from pipeline.train.models.blocks import (BranchDecoder, ConvBlock, ConvOutput, UpscaleBlock,
                                          dense_code, random_normal, upscale_residual,
                                          upscale_stack)
from pipeline.train.models.registry import (ModelConfig, ModelOptionError, SwapModel,
                                            register_model, size_choices)

KERNEL = 5  # the decoders' upscale kernels


def complexity(default: int, what: str) -> Any:
    return field(default=default, metadata={
        "help": f"{what} (lowmem overrides it).", "bounds": (64, 1024)})


@dataclass(frozen=True, kw_only=True)
class UnbalancedConfig(ModelConfig):
    input_size: int = size_choices(128, 64, 512, 64, "input")
    output_size: int = size_choices(128, 64, 512, 64, "output", " (equal to input_size)")
    lowmem: bool = field(default=False, metadata={
        "help": "Lower memory: fixed smaller sizes, overriding nodes and the complexities."})
    nodes: int = field(default=1024, metadata={
        "help": "Width of the encoder's Dense bottleneck (lowmem overrides it).",
        "bounds": (512, 4096)})
    complexity_encoder: int = complexity(128, "Filters of the encoder's first convolution")
    complexity_decoder_a: int = complexity(384, "Filters of decoder A's first upscales")
    complexity_decoder_b: int = complexity(512, "Filters of decoder B's first upscales")

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.output_size != self.input_size:
            raise ModelOptionError(
                f"model unbalanced makes faces the side it takes: input_size="
                f"{self.input_size} needs output_size={self.input_size}")


def encoder(config: UnbalancedConfig, dense_dim: int) -> nn.Sequential:
    base = 128 if config.lowmem else config.complexity_encoder
    filters = [base * k for k in (1, 2, 4, 6, 8)]
    channels = [3, *filters]
    convs = [ConvBlock(channels[i], filters[i], norm="instance" if i < 2 else None,
                       init=random_normal) for i in range(5)]
    side = config.input_size // 32
    return nn.Sequential(*convs, *dense_code(filters[-1] * side * side,
                                             512 if config.lowmem else config.nodes,
                                             dense_dim, config.input_size // 16,
                                             init=random_normal))


def decoder_a(config: UnbalancedConfig, dense_dim: int) -> BranchDecoder:
    width = 320 if config.lowmem else config.complexity_decoder_a
    widths = (width, width, width // 2, width // 4)

    def upscale(channels: int, filters: int) -> UpscaleBlock:
        return UpscaleBlock(channels, filters, KERNEL, init=random_normal)

    face = nn.Sequential(upscale(dense_dim, width), nn.Dropout2d(0.25),
                         upscale(width, width), nn.Dropout2d(0.15 if config.lowmem else 0.25),
                         upscale(width, width // 2), upscale(width // 2, width // 4),
                         ConvOutput(width // 4, 3))
    mask = upscale_stack(dense_dim, widths, 1) if config.learn_mask else None
    return BranchDecoder(face, mask)


def decoder_b(config: UnbalancedConfig, dense_dim: int) -> BranchDecoder:
    if config.lowmem:
        widths = (384, 192, 96, 48)
        layers: list[nn.Module] = []
        for channels, width in zip((dense_dim, *widths), widths):
            layers.append(UpscaleBlock(channels, width, KERNEL, init=random_normal))
    else:
        width = config.complexity_decoder_b
        widths = (width, width, width // 2, width // 4)
        layers = []
        for channels, filters in zip((dense_dim, *widths[:2]), widths[:3]):
            layers += upscale_residual(channels, filters, kernel_size=KERNEL,
                                       upscale_init=random_normal, residual_init=random_normal)
        layers.append(UpscaleBlock(widths[2], widths[3], KERNEL, init=random_normal))
    face = nn.Sequential(*layers, ConvOutput(widths[3], 3))
    mask = upscale_stack(dense_dim, widths, 1) if config.learn_mask else None
    return BranchDecoder(face, mask)


@register_model("unbalanced")
class Unbalanced(SwapModel):
    config_type = UnbalancedConfig

    def __init__(self, config: UnbalancedConfig) -> None:
        dense_dim = 384 if config.lowmem else 512
        super().__init__(config, encoder(config, dense_dim), decoder_a(config, dense_dim),
                         decoder_b(config, dense_dim))
